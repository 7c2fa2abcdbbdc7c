"""Returns, their previews and voids, through the use cases (no HTTP), both engines: a return
takes back what the returned part earned and gives back what it spent; a void undoes the rest.
"""
import pytest
from sqlalchemy import func, select

from pos_loyalty import accounts, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ReturnExceedsSale, SaleNotFound, SaleVoided
from pos_loyalty.models import LedgerEntry, SaleReturn
from pos_loyalty.rules import BasketLine
from pos_loyalty.sales import ReturnedLine


def rows(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_partial_return_takes_back_earned_and_gives_back_spent_points(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000, redeem_points=100)
    back = shop.return_sale(sale["sale_id"], 1000)
    assert (back["sale_id"], back["amount_minor"]) == (sale["sale_id"], 1000)
    assert back["points_reversed"] == 5 and back["points_restored"] == 50
    assert back["refund_cash_minor"] == 500
    assert back["balance"] == {"available": 455, "pending": 0}


def test_returns_after_returns_never_reverse_more_than_the_sale_earned(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000, redeem_points=100)
    got = [shop.return_sale(sale["sale_id"], amount) for amount in (700, 700, 600)]
    assert sum(r["points_reversed"] for r in got) == 10
    assert sum(r["points_restored"] for r in got) == 100
    with pytest.raises(ReturnExceedsSale) as over:
        shop.return_sale(sale["sale_id"], 1)
    assert over.value.details == {"returnable_minor": 0}
    assert shop.balance(card) == {"available": 500, "pending": 0}


def test_a_return_of_lines_reverses_only_the_points_those_lines_earned(shop):
    card = shop.customer()
    sale = shop.sell(card, lines=[BasketLine("CIG", "tobacco", 1, 1000),
                                  BasketLine("CAKE", "pastry", 2, 1000)])
    assert sale["points_earned"] == 20
    tobacco = shop.return_sale(sale["sale_id"], lines=[ReturnedLine("CIG", 1)])
    assert (tobacco["amount_minor"], tobacco["points_reversed"]) == (1000, 0)
    cake = shop.return_sale(sale["sale_id"], lines=[ReturnedLine("CAKE", 1)])
    assert (cake["amount_minor"], cake["points_reversed"]) == (1000, 10)
    with pytest.raises(ReturnExceedsSale) as too_many:
        shop.return_sale(sale["sale_id"], lines=[ReturnedLine("CAKE", 2)])
    assert too_many.value.details == {"sku": "CAKE"}


def test_a_return_after_the_points_are_spent_may_go_negative_and_is_flagged(shop):
    card = shop.customer()
    sale = shop.sell(card, 10_000)
    shop.sell(card, 2000, redeem_points=100)
    back = shop.return_sale(sale["sale_id"], 10_000)
    assert back["points_reversed"] == 100
    assert shop.balance(card)["available"] == 10 - 100
    account = accounts.account_of_card(accounts.find_card(shop.program, card))
    assert account.negative_flagged is True


def test_a_preview_shows_the_return_and_writes_nothing(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000, redeem_points=100)
    entries = rows(LedgerEntry)
    preview = shop.preview_return(sale["sale_id"], 500)
    assert (preview["points_reversed"], preview["points_restored"],
            preview["refund_cash_minor"]) == (2, 25, 250)
    assert shop.balance(card) == {"available": 410, "pending": 0}
    assert (rows(LedgerEntry), rows(SaleReturn)) == (entries, 0)
    done = shop.return_sale(sale["sale_id"], 500)
    assert {k: done[k] for k in ("points_reversed", "points_restored", "refund_cash_minor")} \
        == {k: preview[k] for k in ("points_reversed", "points_restored", "refund_cash_minor")}
    assert shop.balance(card) == {"available": 433, "pending": 0}


def test_a_preview_of_lines_shows_the_amount_and_points_of_those_lines(shop):
    card = shop.customer()
    sale = shop.sell(card, lines=[BasketLine("TART", "pastry", 2, 900),
                                  BasketLine("CIGARETTES", "tobacco", 1, 1100)])
    preview = shop.preview_return(sale["sale_id"], lines=[ReturnedLine("TART", 1)])
    assert (preview["amount_minor"], preview["points_reversed"]) == (900, 9)
    shop.return_sale(sale["sale_id"], lines=[ReturnedLine("TART", 1)])
    assert shop.balance(card)["available"] == 9


def test_a_return_of_more_than_was_sold_is_refused_with_what_is_left(shop):
    sale = shop.sell(shop.customer(), 800)
    with pytest.raises(ReturnExceedsSale) as refused:
        shop.preview_return(sale["sale_id"], 900)
    assert refused.value.details == {"returnable_minor": 800}


def test_a_return_inside_the_pending_window_takes_the_points_from_pending(shop):
    shop.till.set_rules(pending_days=14)
    card = shop.customer(points=100)
    sale = shop.sell(card, 5000)
    assert shop.return_sale(sale["sale_id"], 5000)["balance"] == {"available": 100,
                                                                   "pending": 0}


# --- voids ---------------------------------------------------------------------------------

def test_a_void_undoes_the_sale_once_and_only_on_its_terminal(shop):
    card = shop.customer(points=500)
    sale = shop.sell(card, 2000, redeem_points=100)
    other, _key = run_in_transaction(
        lambda: programs.create_terminal(shop.program, shop.till.store_id, "Caisse 2"))
    with pytest.raises(SaleNotFound):
        shop.void(sale["sale_id"], terminal=other)
    voided = shop.void(sale["sale_id"])
    assert (voided["status"], voided["points_reversed"], voided["points_restored"]) == (
        "voided", 10, 100)
    assert voided["balance"] == {"available": 500, "pending": 0}
    with pytest.raises(SaleVoided):
        shop.void(sale["sale_id"])
    with pytest.raises(SaleVoided):
        shop.return_sale(sale["sale_id"], 1)
