"""The logged-in customer: profile, card and its images, linking a card, balance, history, data."""
from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from mobile_app import MobileApp, mobile, new_phone, till_customer  # noqa: F401
from pos_loyalty import accounts, rules
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, AuditEvent, Card, LedgerEntry, OutboxMessage


# --- profile ---------------------------------------------------------------------------------

def test_me_shows_the_profile(mobile: MobileApp):
    customer = mobile.register()
    body = mobile.get("/me", customer.access_token).get_json()
    assert body == {"id": customer.account_id, "program": "demo", "phone": customer.phone,
                    "first_name": "", "birthday": None, "email": None, "language": None,
                    "sms_notifications": True, "status": "active",
                    "created_at": body["created_at"]}
    assert body["created_at"].endswith("Z")


def test_patch_me_changes_the_fields_sent(mobile: MobileApp):
    customer = mobile.register()
    changes = {"first_name": " Chloé ", "birthday": "1990-04-01", "email": "chloe@example.fr",
               "language": "en", "sms_notifications": False}
    reply = mobile.call("PATCH", "/me", changes, token=customer.access_token)
    assert reply.status_code == 200
    body = reply.get_json()
    assert (body["first_name"], body["birthday"], body["email"], body["language"],
            body["sms_notifications"]) == ("Chloé", "1990-04-01", "chloe@example.fr", "en", False)
    account = db.session.get(Account, customer.account_id)
    assert account.sms_opt_out is True and account.locale == "en"
    reply = mobile.call("PATCH", "/me", {"email": None, "birthday": None},
                        token=customer.access_token)
    assert reply.get_json()["email"] is None and reply.get_json()["first_name"] == "Chloé"
    assert reply.get_json()["birthday"] is None


@pytest.mark.parametrize("changes, field", [
    ({"birthday": "2999-01-01"}, "birthday"), ({"birthday": "01/04/1990"}, "birthday"),
    ({"birthday": "1850-01-01"}, "birthday"), ({"birthday": 19900401}, "birthday"),
    ({"email": "not-an-email"}, "email"), ({"email": "a@b.c" + "x" * 260}, "email"),
    ({"language": "french"}, "language"), ({"sms_notifications": "no"}, "sms_notifications"),
    ({"first_name": "x" * 101}, "first_name"), ({"first_name": 12}, "first_name"),
    ({"phone": "+33600000000"}, "phone"), ({"available_points": 10**6}, "available_points"),
])
def test_patch_me_refuses_bad_values_and_unknown_fields(mobile: MobileApp, changes, field):
    customer = mobile.register()
    reply = mobile.call("PATCH", "/me", changes, token=customer.access_token)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == field
    assert mobile.get("/me", customer.access_token).get_json()["phone"] == customer.phone


# --- card ------------------------------------------------------------------------------------

def test_my_card_gives_the_number_and_image_urls(mobile: MobileApp):
    customer = mobile.register()
    body = mobile.get("/me/card", customer.access_token).get_json()
    assert body["card_number"] == customer.card_number
    assert body["symbology"] == "ean13" and body["status"] == "active"
    assert body["barcode_png_url"] == "http://localhost/api/mobile/v1/me/card/barcode.png"
    assert body["qr_svg_url"] == "http://localhost/api/mobile/v1/me/card/qr.svg"


@pytest.mark.parametrize("url_field, fmt", [("barcode_png_url", zxingcpp.BarcodeFormat.EAN13),
                                            ("qr_png_url", zxingcpp.BarcodeFormat.QRCode)])
def test_card_pngs_decode_to_the_card_number(mobile: MobileApp, url_field, fmt):
    customer = mobile.register()
    url = mobile.get("/me/card", customer.access_token).get_json()[url_field]
    reply = mobile.get(url.removeprefix("http://localhost/api/mobile/v1"), customer.access_token)
    assert reply.status_code == 200 and reply.mimetype == "image/png"
    found = zxingcpp.read_barcodes(Image.open(BytesIO(reply.data)))
    assert [(r.format, r.text) for r in found] == [(fmt, customer.card_number)]


@pytest.mark.parametrize("path", ["/me/card/barcode.svg", "/me/card/qr.svg"])
def test_card_svgs_are_svg_documents(mobile: MobileApp, path):
    customer = mobile.register()
    reply = mobile.get(path, customer.access_token)
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"
    assert b"<svg" in reply.data


def test_a_code128_program_card_decodes_too(mobile: MobileApp):
    def use_code128():
        program = mobile.program()
        program.rules = {"card_symbology": "code128", "card_prefix": "BK"}
    run_in_transaction(use_code128)
    customer = mobile.register()
    assert mobile.get("/me/card", customer.access_token).get_json()["symbology"] == "code128"
    reply = mobile.get("/me/card/barcode.png", customer.access_token)
    found = zxingcpp.read_barcodes(Image.open(BytesIO(reply.data)))
    assert [(r.format, r.text) for r in found] == [(zxingcpp.BarcodeFormat.Code128,
                                                    customer.card_number)]


def test_the_card_shown_is_the_newest_linked(mobile: MobileApp):
    customer = mobile.register()
    blank = run_in_transaction(lambda: accounts.issue_cards(mobile.program(), 1, utcnow()))[0]
    reply = mobile.post("/me/cards", {"card_number": blank}, token=customer.access_token)
    assert reply.status_code == 201
    assert reply.get_json() == {"card_number": blank, "symbology": "ean13", "status": "active",
                                "kind": "plastic"}
    assert mobile.get("/me/card", customer.access_token).get_json()["card_number"] == blank
    again = mobile.post("/me/cards", {"card_number": blank}, token=customer.access_token)
    assert again.status_code == 200


def test_linking_a_card_of_another_customer_looks_like_an_unknown_number(mobile: MobileApp):
    first = mobile.register()
    second = mobile.register()
    reply = mobile.post("/me/cards", {"card_number": first.card_number},
                        token=second.access_token)
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "card_not_found"
    owner = db.session.scalar(select(Card.account_id).where(Card.number == first.card_number))
    assert owner == first.account_id


def test_linking_an_unknown_or_invalid_card(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/me/cards", {"card_number": "2999999999991"},
                        token=customer.access_token)
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "card_not_found"
    for number in ("2900000000000", "", 12, None):
        reply = mobile.post("/me/cards", {"card_number": number}, token=customer.access_token)
        assert reply.status_code == 422, number
        assert reply.get_json()["error"]["code"] == "invalid_card_number"


# --- balance and history ---------------------------------------------------------------------

def test_balance_shows_points_value_and_next_expiry(mobile: MobileApp, till):
    customer = mobile.register()
    till.adjust(customer.card_number, 250)
    body = mobile.get("/me/balance", customer.access_token).get_json()
    expiry = rules.expiry_for(accounts.rules_for(mobile.program()), utcnow())
    assert body == {"available_points": 250, "pending_points": 0, "value_minor": 2500,
                    "currency": "EUR", "lifetime_earned": 0,
                    "next_expiry": {"date": body["next_expiry"]["date"], "points": 250}}
    assert abs(dt.date.fromisoformat(body["next_expiry"]["date"]) - expiry.date()) \
        <= dt.timedelta(days=1)


def test_balance_without_points(mobile: MobileApp):
    customer = mobile.register()
    body = mobile.get("/me/balance", customer.access_token).get_json()
    assert body["available_points"] == 0 and body["value_minor"] == 0
    assert body["next_expiry"] is None


def test_balance_counts_pending_points(mobile: MobileApp, till):
    def pending_days():
        mobile.program().rules = {"pending_days": 14}
    run_in_transaction(pending_days)
    customer = mobile.register()
    till.sell(customer.card_number, total_minor=2000)
    body = mobile.get("/me/balance", customer.access_token).get_json()
    assert (body["available_points"], body["pending_points"]) == (0, 20)


def test_history_pages_newest_first_with_store_names(mobile: MobileApp, till):
    customer = mobile.register()
    till.adjust(customer.card_number, 100)
    for _ in range(4):
        assert till.sell(customer.card_number, total_minor=1000).status_code == 201
    first = mobile.get("/me/history?limit=2", customer.access_token).get_json()
    assert [e["kind"] for e in first["entries"]] == ["earn", "earn"]
    assert first["entries"][0]["store_name"] == "Boulangerie Lyon"
    assert first["entries"][0]["points"] == 10
    assert first["entries"][0]["balance_after"] == 140
    assert first["entries"][0]["id"] > first["entries"][1]["id"]
    # New entries do not shift the next page.
    till.sell(customer.card_number, total_minor=1000)
    second = mobile.get(f"/me/history?limit=2&cursor={first['next_cursor']}",
                        customer.access_token).get_json()
    third = mobile.get(f"/me/history?limit=2&cursor={second['next_cursor']}",
                       customer.access_token).get_json()
    assert [e["balance_after"] for e in second["entries"]] == [120, 110]
    assert [(e["kind"], e["balance_after"], e["store_name"]) for e in third["entries"]] == [
        ("adjust", 100, None)]
    assert third["next_cursor"] is None


def test_history_default_page_and_an_empty_history(mobile: MobileApp):
    customer = mobile.register()
    assert mobile.get("/me/history", customer.access_token).get_json() == {
        "entries": [], "next_cursor": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=-1",
                                   "cursor=abc", "cursor=0", "cursor=-5", "limit=1.5"])
def test_history_refuses_bad_paging(mobile: MobileApp, query):
    customer = mobile.register()
    reply = mobile.get(f"/me/history?{query}", customer.access_token)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == query.split("=")[0]


# --- export and erasure ----------------------------------------------------------------------

def test_export_holds_all_personal_data(mobile: MobileApp, till):
    customer = mobile.register()
    mobile.call("PATCH", "/me", {"email": "a@example.com", "birthday": "1980-02-03"},
                token=customer.access_token)
    till.sell(customer.card_number, total_minor=1500)
    body = mobile.get("/me/export", customer.access_token).get_json()
    assert body["profile"]["email"] == "a@example.com"
    assert body["profile"]["birthday"] == "1980-02-03"
    assert [c["card_number"] for c in body["cards"]] == [customer.card_number]
    assert [e["kind"] for e in body["history"]] == ["earn"]
    assert body["balance"]["available_points"] == 15
    assert len(body["sessions"]) == 1


def test_delete_me_erases_the_person_and_keeps_the_books(mobile: MobileApp, till):
    customer = mobile.register()
    mobile.call("PATCH", "/me", {"first_name": "Inès", "email": "ines@example.fr"},
                token=customer.access_token)
    till.sell(customer.card_number, total_minor=1500)
    account_id = customer.account_id
    assert mobile.call("DELETE", "/me", token=customer.access_token).status_code == 204
    account = db.session.get(Account, account_id)
    assert (account.phone_e164, account.first_name, account.pin_hash, account.status) == (
        None, "", None, "closed")
    assert db.session.scalar(select(Card.status).where(Card.account_id == account_id)) == "closed"
    assert db.session.scalars(select(LedgerEntry.kind)
                              .where(LedgerEntry.account_id == account_id)).all() == ["earn"]
    assert db.session.scalars(select(OutboxMessage.to_phone)
                              .where(OutboxMessage.to_phone == customer.phone)).all() == []
    assert db.session.scalar(select(AuditEvent.action)
                             .where(AuditEvent.target == f"account:{account_id}")) \
        == "account_erased"
    assert mobile.get("/me", customer.access_token).status_code == 401
    assert mobile.post("/auth/refresh",
                       {"refresh_token": customer.refresh_token}).status_code == 401
    assert mobile.post("/auth/login", {"phone": customer.phone,
                                       "pin": customer.pin}).status_code == 401
    assert till.get(f"/cards/{customer.card_number}").get_json()["status"] == "closed"


def test_an_erased_phone_can_register_again_as_a_new_customer(mobile: MobileApp):
    customer = mobile.register()
    first_account_id = customer.account_id
    mobile.call("DELETE", "/me", token=customer.access_token)
    again = mobile.register(customer.phone)
    assert again.account_id != first_account_id
    assert again.card_number != customer.card_number


def test_me_of_a_till_customer_who_registers(mobile: MobileApp):
    phone = new_phone()
    till_customer(mobile.program(), phone)
    customer = mobile.register(phone)
    assert mobile.get("/me", customer.access_token).get_json()["first_name"] == "Léa"
