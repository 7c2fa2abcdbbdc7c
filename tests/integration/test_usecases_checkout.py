"""At the till, through the use cases (no HTTP), both engines: what a basket earns and may
spend, what a sale records, and holds. The POS API and the cashier UI call these same
functions; their own tests (test_pos_api.py, test_cashier_ui.py) check parsing and rendering.
"""
import datetime as dt

import pytest
from sqlalchemy import func, select

from pos_loyalty.db import db
from pos_loyalty.errors import (
    CardNotFound, DuplicateReceipt, HoldClosed, HoldNotFound, InsufficientPoints,
    RedeemLimitExceeded, SaleNotFound,
)
from pos_loyalty.models import Hold, Sale
from pos_loyalty.rules import BasketLine
from pos_loyalty.usecases import checkout, customers


def sale_count():
    return db.session.scalar(select(func.count()).select_from(Sale))


# --- quotes --------------------------------------------------------------------------------

def test_a_quote_for_a_total_lets_points_pay_all_but_the_cash_floor(shop):
    quote = shop.quote(shop.customer(points=1000), 2000)
    assert (quote.total_minor, quote.eligible_earn_minor) == (2000, 2000)
    assert (quote.max_redeem_points, quote.max_redeem_minor) == (190, 1900)
    assert quote.min_cash_minor == 100 and quote.points_if_no_redeem == 20


def test_excluded_categories_earn_nothing(shop):
    card = shop.customer(points=1000)
    quote = shop.quote(card, lines=[BasketLine("CIG", "tobacco", 1, 1100),
                                    BasketLine("BREAD", "bakery", 3, 120)])
    assert (quote.total_minor, quote.eligible_earn_minor) == (1460, 360)
    assert quote.points_if_no_redeem == 3
    # The cashier's basket: two loaves at 1.50 and cigarettes at 11.00.
    quote = shop.quote(card, lines=[BasketLine("BREAD", "bakery", 2, 150),
                                    BasketLine("CIGARETTES", "tobacco", 1, 1100)])
    assert quote.points_if_no_redeem == 3


def test_a_quote_with_points_shows_what_is_left_to_pay_and_to_earn(shop):
    card = shop.customer(points=500)
    quote = shop.quote(card, 2000, redeem_points=55)
    assert (quote.points_redeemed, quote.redeemed_minor, quote.cash_minor,
            quote.points_earned) == (55, 550, 1450, 14)
    with pytest.raises(RedeemLimitExceeded) as refused:
        shop.quote(card, 2000, redeem_points=191)
    assert refused.value.details["max_redeem_points"] == 190


# --- sales ---------------------------------------------------------------------------------

def test_a_sale_spends_part_of_the_bill_in_points_and_earns_on_the_rest(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000, redeem_points=100, receipt="R1")
    assert sale["receipt_number"] == "R1" and sale["sale_id"] > 0
    assert (sale["total_minor"], sale["points_redeemed"], sale["redeemed_minor"],
            sale["cash_due_minor"], sale["points_earned"], sale["points_capped"]) == (
        2000, 100, 1000, 1000, 10, 0)
    assert sale["balance"] == {"available": 410, "pending": 0}
    assert shop.balance(card) == {"available": 410, "pending": 0}


def test_a_receipt_number_counts_once_on_a_terminal(shop):
    card = shop.customer()
    shop.sell(card, 500, receipt="A1", key="k-1")
    with pytest.raises(DuplicateReceipt):
        shop.sell(card, 500, receipt="A1", key="k-2")
    assert sale_count() == 1


def test_more_points_than_the_bill_allows_are_refused_and_nothing_is_saved(shop):
    card = shop.customer(points=500)
    with pytest.raises(RedeemLimitExceeded):
        shop.sell(card, 2000, redeem_points=191)
    assert shop.balance(card) == {"available": 500, "pending": 0}
    assert sale_count() == 0


# --- holds ---------------------------------------------------------------------------------

def test_a_hold_sets_points_aside_and_a_smaller_capture_gives_the_rest_back(shop):
    card = shop.customer(points=500)
    hold = shop.hold(card, 200, ttl_seconds=60)
    assert hold["points"] == 200
    assert hold["expires_at"] == "2026-03-09T10:01:00Z"
    assert hold["balance"] == {"available": 300, "pending": 0}
    assert shop.balance(card)["available"] == 300
    captured = shop.capture(hold["hold_id"], 150)
    assert (captured["status"], captured["captured_points"], captured["released_points"]) == (
        "captured", 150, 50)
    assert captured["balance"] == {"available": 350, "pending": 0}
    with pytest.raises(HoldClosed):
        shop.release(hold["hold_id"])


def test_releasing_a_hold_gives_the_points_back(shop):
    card = shop.customer(points=500)
    hold = shop.hold(card, 200)
    released = shop.release(hold["hold_id"])
    assert (released["status"], released["released_points"]) == ("voided", 200)
    assert shop.balance(card) == {"available": 500, "pending": 0}


def test_a_hold_for_more_than_the_balance_is_refused(shop):
    card = shop.customer(points=50)
    with pytest.raises(InsufficientPoints):
        shop.hold(card, 51)
    assert shop.balance(card)["available"] == 50
    assert db.session.scalar(select(func.count()).select_from(Hold)) == 0


def test_an_expired_hold_gives_its_points_back_by_itself(shop):
    card = shop.customer(points=500)
    hold = shop.hold(card, 200, ttl_seconds=5)
    shop.now += dt.timedelta(seconds=10)
    assert shop.balance(card)["available"] == 500
    with pytest.raises(HoldClosed) as closed:
        shop.capture(hold["hold_id"])
    assert closed.value.message == "This hold is expired."


def test_a_sale_spends_the_points_held_for_its_receipt(shop):
    card = shop.customer(points=500)
    hold = shop.hold(card, 100, receipt="H1")
    sale = shop.sell(card, 2000, redeem_points=80, receipt="H1", hold_id=hold["hold_id"])
    assert (sale["points_redeemed"], sale["points_earned"]) == (80, 12)
    assert shop.balance(card)["available"] == 432
    assert db.session.get(Hold, hold["hold_id"]).sale_id == sale["sale_id"]
    assert shop.void(sale["sale_id"])["balance"]["available"] == 500


# --- programs apart ------------------------------------------------------------------------

def test_a_terminal_of_another_program_sees_nothing_of_this_one(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000)
    hold = shop.hold(card, 10, receipt="H")
    program, terminal, _key = shop.till.other_brand()
    now = shop.now
    with pytest.raises(CardNotFound):
        customers.look_up_card(program, card, now)
    with pytest.raises(CardNotFound):
        checkout.quote(program, card, [BasketLine("TOTAL", "", 1, 100)], now)
    with pytest.raises(CardNotFound):
        checkout.hold_points(program, terminal, card, "X", 1, None, now)
    with pytest.raises(SaleNotFound):
        checkout.void_sale(program, terminal, sale["sale_id"], now)
    with pytest.raises(HoldNotFound):
        checkout.release_hold(program, terminal, hold["hold_id"], now)
    with pytest.raises(SaleNotFound):
        checkout.return_sale(program, terminal, sale["sale_id"], now, "x", amount_minor=1)
    assert shop.balance(card)["available"] == 500 + 20 - 10
