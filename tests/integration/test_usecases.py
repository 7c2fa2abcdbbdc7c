"""The use cases called directly, as every face calls them: no HTTP, both engines.

Here: keys, void windows, reads that write nothing, counted refusals. The rules of each action
have their own files: test_usecases_checkout.py (quote, sell, holds), test_usecases_returns.py
(returns, previews, voids), test_usecases_customers.py, test_usecases_ledger.py (balances over
time) and test_usecases_store.py (staff, receipts, reports).
"""
import datetime as dt

import pytest
from sqlalchemy import func, select

from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import (
    IdempotencyConflict, IdempotencyKeyMissing, InvalidLogin, InvalidPin, TooManyTries,
    VoidWindowClosed,
)
from pos_loyalty.models import LedgerEntry, Sale
from pos_loyalty.rules import BasketLine
from pos_loyalty.sales import SaleRequest
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import checkout, customers, staff

MONDAY = dt.datetime(2026, 3, 9, 10, 0)   # 11:00 in Paris


def basket(total_minor):
    return [BasketLine("TOTAL", "", 1, total_minor)]


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_same_sale_sent_twice_with_one_key_is_recorded_once(till, shop):
    program, terminal = shop.program, shop.terminal
    card = till.customer(points=500)
    request = SaleRequest(card, "R-1", basket(2000), redeem_points=100, card_entry="scanned")
    first = checkout.sell(program, terminal, request, MONDAY, "key-1")
    again = checkout.sell(program, terminal, request, MONDAY + dt.timedelta(seconds=3), "key-1")
    assert again == first
    assert count(Sale) == 1
    assert shop.balance(card) == {"available": 410, "pending": 0}


def test_a_key_reused_for_another_sale_is_refused(till, shop):
    program, terminal = shop.program, shop.terminal
    card = till.customer()
    checkout.sell(program, terminal, SaleRequest(card, "R-1", basket(2000)), MONDAY, "key-1")
    with pytest.raises(IdempotencyConflict):
        checkout.sell(program, terminal, SaleRequest(card, "R-2", basket(2000)), MONDAY, "key-1")
    assert count(Sale) == 1


def test_a_sale_needs_a_key_but_a_void_may_go_without(till, shop):
    program, terminal = shop.program, shop.terminal
    card = till.customer()
    with pytest.raises(IdempotencyKeyMissing):
        checkout.sell(program, terminal, SaleRequest(card, "R-1", basket(2000)), MONDAY, None)
    sale = checkout.sell(program, terminal, SaleRequest(card, "R-1", basket(2000)), MONDAY, "k")
    voided = checkout.void_sale(program, terminal, sale["sale_id"], MONDAY)
    assert voided["points_reversed"] == 20


def test_a_sale_cannot_be_voided_the_next_local_day(till, shop):
    program, terminal = shop.program, shop.terminal
    sale = checkout.sell(program, terminal, SaleRequest(till.customer(), "R-1", basket(2000)),
                         MONDAY, "k")
    # 23:30 UTC on Monday is already Tuesday in Paris.
    with pytest.raises(VoidWindowClosed):
        checkout.void_sale(program, terminal, sale["sale_id"], dt.datetime(2026, 3, 9, 23, 30))
    assert db.session.get(Sale, sale["sale_id"]).status == "completed"


def test_a_program_may_allow_voids_for_a_number_of_hours(till, shop):
    till.set_rules(void_window_hours=72)
    program, terminal = shop.program, shop.terminal
    program = till.program()
    sale = checkout.sell(program, terminal, SaleRequest(till.customer(), "R-1", basket(2000)),
                         MONDAY, "k")
    voided = checkout.void_sale(program, terminal, sale["sale_id"],
                                MONDAY + dt.timedelta(hours=71))
    assert voided["status"] == "voided"


def test_looking_up_a_card_writes_nothing(till, shop):
    till.set_rules(pending_days=1)
    program, terminal = shop.program, shop.terminal
    program = till.program()
    card = till.customer()
    checkout.sell(program, terminal, SaleRequest(card, "R-1", basket(2000)), MONDAY, "k")
    entries = count(LedgerEntry)
    seen = customers.look_up_card(program, card, MONDAY + dt.timedelta(days=2))
    assert (seen["account"]["available_points"], seen["account"]["pending_points"]) == (20, 0)
    assert count(LedgerEntry) == entries


def test_wrong_pins_are_counted_then_that_till_waits(till, shop):
    program, terminal = shop.program, shop.terminal
    till.customer(pin="2468")
    phone = till.last_phone
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(InvalidPin) as refused:
            customers.identify(program, terminal, "0000", MONDAY, phone=phone)
        assert refused.value.details == {"attempts_left": left}
    with pytest.raises(TooManyTries):
        customers.identify(program, terminal, "2468", MONDAY, phone=phone)
    other_till, _ = run_in_transaction(lambda: programs.create_terminal(
        program, till.store_id, "Caisse 2"))
    assert customers.identify(program, other_till, "2468", MONDAY, phone=phone)["card_number"]


def test_the_right_pin_finds_the_card_with_its_balance(till, shop):
    program = shop.program
    card = till.customer(points=120, pin="2468")
    found = customers.identify(program, shop.terminal, "2468", MONDAY, phone=till.last_phone)
    assert found["card_number"] == card
    assert found["account"]["available_points"] == 120


def test_wrong_staff_passwords_make_that_address_wait_not_the_login(till, shop):
    program = shop.program
    run_in_transaction(lambda: programs.create_staff(program, "lou", "cashier", "right-pass",
                                                     till.store_id, app_hasher()))
    for _ in range(5):
        with pytest.raises(InvalidLogin):
            staff.open_web_till("lou", "wrong", None, MONDAY, "203.0.113.9")
    with pytest.raises(TooManyTries):
        staff.open_web_till("lou", "right-pass", None, MONDAY, "203.0.113.9")
    elsewhere = staff.open_web_till("lou", "right-pass", None, MONDAY, "198.51.100.7")
    assert elsewhere.terminal_id is not None
