"""The phone app's use cases called directly (no HTTP), both engines: the balance and next
expiry, history pages, the profile, the data export and erasure (signing in:
test_usecases_phone_auth.py). The mobile API calls these same functions; its own tests
(test_mobile_me.py, test_mobile_auth.py) check parsing, status codes and shapes.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from mobile_app import AppCustomer, caller, register
from pos_loyalty.db import db
from pos_loyalty.errors import InvalidPin, InvalidToken
from pos_loyalty.models import (
    Account, AuditEvent, Card, CustomerProfile, LedgerEntry, OneTimeCode, OutboxMessage,
)
from pos_loyalty.usecases import phone_app


def card_of(shop, customer: AppCustomer) -> str:
    return phone_app.my_card(caller(shop, customer), shop.now).card.number


# --- balance ---------------------------------------------------------------------------------

def test_the_balance_says_what_the_points_are_worth_and_when_the_first_expire(shop):
    customer = register(shop)
    shop.adjust(card_of(shop, customer), 250)
    assert phone_app.balance(shop.program, caller(shop, customer), shop.now) == {
        "available_points": 250, "pending_points": 0, "value_minor": 2500, "currency": "EUR",
        "lifetime_earned": 0, "next_expiry": {"date": "2027-03-09", "points": 250}}


def test_a_new_customer_has_nothing_to_spend_or_expire(shop):
    customer = register(shop)
    assert phone_app.balance(shop.program, caller(shop, customer), shop.now) == {
        "available_points": 0, "pending_points": 0, "value_minor": 0, "currency": "EUR",
        "lifetime_earned": 0, "next_expiry": None}


def test_points_in_the_return_window_are_pending_and_not_yet_worth_anything(shop):
    shop.till.set_rules(pending_days=14)
    start = shop.now
    customer = register(shop)
    shop.sell(card_of(shop, customer), 2000)
    seen = phone_app.balance(shop.program, caller(shop, customer), shop.now)
    assert (seen["available_points"], seen["pending_points"]) == (0, 20)
    assert (seen["value_minor"], seen["next_expiry"]) == (0, None)
    shop.now = start + dt.timedelta(days=14, seconds=1)
    customer.tokens = phone_app.log_in(shop.program, customer.phone, customer.pin, shop.now,
                                       "192.0.2.10")
    seen = phone_app.balance(shop.program, caller(shop, customer), shop.now)
    assert (seen["available_points"], seen["pending_points"], seen["value_minor"]) == (
        20, 0, 200)


# --- history ---------------------------------------------------------------------------------

def test_history_pages_newest_first_and_new_entries_do_not_shift_the_next_page(shop):
    customer = register(shop)
    card = card_of(shop, customer)
    shop.adjust(card, 100)
    for _ in range(4):
        shop.sell(card, 1000)
    me = caller(shop, customer)
    first = phone_app.history(me, 2, None)
    assert [(e["kind"], e["points"], e["balance_after"], e["store_name"])
            for e in first["entries"]] == [("earn", 10, 140, "Boulangerie Lyon"),
                                           ("earn", 10, 130, "Boulangerie Lyon")]
    assert first["entries"][0]["id"] > first["entries"][1]["id"]
    assert first["next_cursor"] == str(first["entries"][1]["id"])
    shop.sell(card, 1000)
    second = phone_app.history(me, 2, int(first["next_cursor"]))
    third = phone_app.history(me, 2, int(second["next_cursor"]))
    assert [e["balance_after"] for e in second["entries"]] == [120, 110]
    assert [(e["kind"], e["points"], e["balance_after"], e["store_name"])
            for e in third["entries"]] == [("adjust", 100, 100, None)]
    assert third["next_cursor"] is None


def test_each_history_entry_shows_the_balance_after_it(shop):
    customer = register(shop)
    shown = phone_app.my_card(caller(shop, customer), shop.now)
    shop.adjust(shown.card.number, 100)
    shop.sell(shown.scan_value, 2000, redeem_points=50)   # the phone's card, scanned
    entries = phone_app.history(caller(shop, customer), 10, None)["entries"]
    assert [(e["kind"], e["points"], e["balance_after"]) for e in entries] == [
        ("earn", 15, 65), ("redeem", -50, 50), ("adjust", 100, 100)]
    assert [e["created_at"] for e in entries] == ["2026-03-09T10:00:00Z"] * 3


def test_an_empty_history_has_no_next_page(shop):
    customer = register(shop)
    assert phone_app.history(caller(shop, customer), 20, None) == {
        "entries": [], "next_cursor": None}


# --- profile ---------------------------------------------------------------------------------

def test_a_profile_update_changes_only_the_fields_sent(shop):
    customer = register(shop)
    me = caller(shop, customer)
    changes = {"first_name": " Chloé ", "birthday": "1990-04-01", "email": "chloe@example.fr",
               "language": "en", "sms_notifications": False, "notify_channel": "push"}
    seen = phone_app.update_profile(shop.program, me, changes, shop.now)
    assert seen == {"id": me.account.id, "program": "demo", "phone": customer.phone,
                    "first_name": "Chloé", "birthday": "1990-04-01",
                    "email": "chloe@example.fr", "language": "en", "sms_notifications": False,
                    "notify_channel": "push", "push_devices": 0,
                    "status": "active", "created_at": "2026-03-09T10:00:00Z"}
    account = db.session.get(Account, me.account.id)
    assert (account.sms_opt_out, account.locale) == (True, "en")
    cleared = phone_app.update_profile(shop.program, caller(shop, customer),
                                       {"email": None, "birthday": None}, shop.now)
    assert (cleared["email"], cleared["birthday"], cleared["first_name"],
            cleared["language"]) == (None, None, "Chloé", "en")
    assert phone_app.profile(shop.program, caller(shop, customer)) == cleared


def test_a_customer_a_till_enrolled_keeps_their_profile_on_registering(shop):
    card = shop.customer(first_name="Léa", pin="4321")
    phone = shop.till.last_phone
    customer = register(shop, phone, pin="8642")
    seen = phone_app.profile(shop.program, caller(shop, customer))
    assert (seen["first_name"], seen["phone"], seen["status"]) == ("Léa", phone, "active")
    assert card_of(shop, customer) == card


# --- export and erasure ----------------------------------------------------------------------

def test_the_export_holds_everything_kept_about_the_customer(shop):
    customer = register(shop)
    card = card_of(shop, customer)
    phone_app.update_profile(shop.program, caller(shop, customer),
                             {"email": "a@example.com", "birthday": "1980-02-03"}, shop.now)
    shop.sell(card, 1500)
    me = caller(shop, customer)
    export = phone_app.export(shop.program, me, shop.now)
    assert export["exported_at"] == "2026-03-09T10:00:00Z"
    assert export["profile"] == phone_app.profile(shop.program, me)
    assert (export["profile"]["email"], export["profile"]["birthday"]) == (
        "a@example.com", "1980-02-03")
    assert export["balance"] == phone_app.balance(shop.program, me, shop.now)
    assert export["balance"]["available_points"] == 15
    assert export["cards"] == [{"card_number": card, "kind": "virtual", "status": "active",
                                "linked_at": "2026-03-09T10:00:00Z"}]
    assert [(e["kind"], e["points"], e["balance_after"], e["store_name"])
            for e in export["history"]] == [("earn", 15, 15, "Boulangerie Lyon")]
    assert export["sessions"] == [{"created_at": "2026-03-09T10:00:00Z", "revoked_at": None}]
    assert export["sms"] == [{
        "kind": "balance", "to_phone": customer.phone,
        "body": "Merci ! +15 points chez Boulangerie Lyon. Solde : 15 points (1,50 €).",
        "status": "queued", "created_at": "2026-03-09T10:00:00Z"}]


def test_erasure_forgets_the_person_and_keeps_the_books(shop):
    customer = register(shop)
    card = card_of(shop, customer)
    me = caller(shop, customer)
    phone_app.update_profile(shop.program, me, {"first_name": "Inès", "email": "ines@example.fr",
                                                "language": "fr"}, shop.now)
    shop.sell(card, 1500)
    account_id = me.account.id
    phone_app.erase(shop.program, caller(shop, customer), shop.now)
    account = db.session.get(Account, account_id)
    assert (account.phone_e164, account.first_name, account.locale, account.pin_hash,
            account.status) == (None, "", None, None, "closed")
    assert db.session.get(CustomerProfile, account_id) is None
    assert db.session.scalars(select(Card.status).where(Card.account_id == account_id)).all() \
        == ["closed"]
    assert db.session.scalars(select(LedgerEntry.kind)
                              .where(LedgerEntry.account_id == account_id)).all() == ["earn"]
    assert db.session.scalars(select(OutboxMessage.id)
                              .where(OutboxMessage.to_phone == customer.phone)).all() == []
    # The code SMS and the unsent balance SMS lose number and text and will not go out.
    assert db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.to_phone, OutboxMessage.body,
               OutboxMessage.payload, OutboxMessage.status)
        .order_by(OutboxMessage.id)).all() == [("otp", "", "", None, "cancelled"),
                                               ("balance", "", "", None, "cancelled")]
    assert db.session.scalars(select(OneTimeCode.id)
                              .where(OneTimeCode.phone_e164 == customer.phone)).all() == []
    assert db.session.scalars(select(AuditEvent.action)
                              .where(AuditEvent.target == f"account:{account_id}")).all() \
        == ["account_erased"]
    assert shop.look_up(card)["status"] == "closed"


def test_an_erased_customer_can_no_longer_use_the_app(shop):
    customer = register(shop)
    phone_app.erase(shop.program, caller(shop, customer), shop.now)
    with pytest.raises(InvalidToken):
        caller(shop, customer)
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    with pytest.raises(InvalidPin):
        phone_app.log_in(shop.program, customer.phone, customer.pin, shop.now, "192.0.2.10")


def test_an_erased_phone_registers_again_as_a_new_customer(shop):
    first = register(shop)
    first_account_id, first_card = caller(shop, first).account.id, card_of(shop, first)
    phone_app.erase(shop.program, caller(shop, first), shop.now)
    again = register(shop, first.phone)
    me = caller(shop, again)
    assert me.account.id != first_account_id
    assert card_of(shop, again) != first_card
    assert phone_app.balance(shop.program, me, shop.now)["available_points"] == 0
    assert phone_app.history(me, 20, None)["entries"] == []
