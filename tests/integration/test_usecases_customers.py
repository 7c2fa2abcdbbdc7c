"""Customers and cards through the use cases (no HTTP), both engines: what a till sees of a
card, finding a customer by phone and PIN, enrolment, blocking, replacing a lost card."""
import datetime as dt

import pytest
from sqlalchemy import select

from pos_loyalty import cards, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import (
    AccountBlocked, CardBlocked, CardNotFound, InvalidCardNumber, InvalidPin, TooManyTries,
)
from pos_loyalty.models import Card
from pos_loyalty.usecases import customers


def test_a_scanned_card_shows_the_account_and_what_its_points_are_worth(shop):
    card = shop.customer(points=250, first_name="Léa")
    seen = shop.look_up(card)
    assert (seen["card_number"], seen["status"]) == (card, "active")
    account = seen["account"]
    assert account["first_name"] == "Léa" and account["status"] == "active"
    assert (account["available_points"], account["pending_points"]) == (250, 0)
    assert account["available_value_minor"] == 2500
    assert account["can_redeem"] is True
    phone = shop.till.last_phone
    assert account["phone_masked"] == phone[:3] + "*" * 7 + phone[-2:]


def test_an_unknown_card_and_a_wrong_check_digit_are_told_apart(shop):
    unknown = cards.make_card_number("29", 999_999)
    with pytest.raises(CardNotFound):
        shop.look_up(unknown)
    with pytest.raises(InvalidCardNumber):
        shop.look_up(unknown[:-1] + str((int(unknown[-1]) + 1) % 10))


def test_a_blank_card_has_no_account(shop):
    [number] = customers.issue_cards(shop.program, 1, shop.now)
    assert shop.look_up(number) == {"card_number": number, "status": "blank", "account": None}


def wrong_pins(shop, phone, tries):
    """Wrong PINs in a row, each refused with the tries it leaves."""
    for left in tries:
        with pytest.raises(InvalidPin) as refused:
            customers.identify(shop.program, shop.terminal, "0000", shop.now, phone=phone)
        assert refused.value.details == {"attempts_left": left}


def test_a_right_pin_resets_the_wrong_pin_count(shop):
    card = shop.customer(pin="4321")
    phone = shop.till.last_phone
    wrong_pins(shop, phone, (4, 3, 2, 1))
    assert customers.identify(shop.program, shop.terminal, "4321", shop.now,
                              phone=phone)["card_number"] == card
    wrong_pins(shop, phone, (4, 3, 2, 1))
    assert customers.identify(shop.program, shop.terminal, "4321", shop.now,
                              phone=phone)["card_number"] == card


def test_five_wrong_pins_make_that_till_wait_fifteen_minutes_for_that_account(shop):
    card = shop.customer(pin="4321")
    phone = shop.till.last_phone
    wrong_pins(shop, phone, (4, 3, 2, 1, 0))
    with pytest.raises(TooManyTries) as waiting:
        customers.identify(shop.program, shop.terminal, "4321", shop.now, phone=phone)
    assert 0 < waiting.value.details["retry_after_seconds"] <= 15 * 60
    another_till, _ = run_in_transaction(lambda: programs.create_terminal(
        shop.program, shop.till.store_id, "Caisse 2"))   # not locked out everywhere
    assert customers.identify(shop.program, another_till, "4321", shop.now,
                              phone=phone)["card_number"] == card


def test_enrolment_links_a_blank_card_that_works_at_once(shop):
    [blank] = customers.issue_cards(shop.program, 1, shop.now)
    seen = customers.enrol(shop.program, "0612345699", "2468", shop.now, channel="till",
                           first_name="Inès", card_number=blank, actor="staff:camille")
    assert (seen["card_number"], seen["status"]) == (blank, "active")
    assert seen["account"]["first_name"] == "Inès"
    assert db.session.scalar(select(Card.status).where(Card.number == blank)) == "active"
    assert shop.sell(blank, 1000)["points_earned"] == 10


def test_a_blocked_account_keeps_its_points_but_spends_none_until_unblocked(shop):
    card = shop.customer(points=500)
    customers.set_account_status(shop.program, card, "blocked", "manager", "fraud", shop.now)
    with pytest.raises(AccountBlocked):
        shop.sell(card, 2000, redeem_points=10)
    account = shop.look_up(card)["account"]
    assert (account["status"], account["available_points"], account["can_redeem"]) == (
        "blocked", 500, False)
    customers.set_account_status(shop.program, card, "active", "manager", "", shop.now)
    assert shop.look_up(card)["account"]["can_redeem"] is True
    assert shop.sell(card, 2000, redeem_points=10)["balance"]["available"] == 500 - 10 + 19


def test_a_lost_card_is_replaced_and_the_points_follow(shop):
    card = shop.customer(points=120)
    new_number = customers.replace_card(shop.program, card, "manager", "lost", shop.now)
    new = db.session.scalar(select(Card).where(Card.number == new_number))
    assert (new.kind, new.status) == ("virtual", "active")
    assert shop.balance(new_number)["available"] == 120
    assert shop.look_up(card)["status"] == "replaced"
    with pytest.raises(CardBlocked):
        shop.sell(card, 500)
