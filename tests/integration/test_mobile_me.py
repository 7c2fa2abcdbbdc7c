"""The logged-in customer: profile, card and its images, linking a card, balance, history, data.

Through the Flask test client, on both engines: parsing, status codes, answer shapes, one happy
path per endpoint. What the balance, history, profile, export and erasure hold is tested on the
use cases themselves: test_usecases_phone_app.py.
"""
from __future__ import annotations

import datetime as dt
import re
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty import accounts
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Card
from pos_loyalty.usecases import phone_app

# The moment the tests that compare an answer with its use case freeze the app's clock at.
MONDAY = dt.datetime(2026, 3, 9, 10, 0)


# --- profile ---------------------------------------------------------------------------------

PROFILE_FIELDS = {"id", "program", "phone", "first_name", "birthday", "email", "language",
                  "sms_notifications", "notify_channel", "push_devices", "status",
                  "created_at"}


def test_me_shows_the_profile(mobile: MobileApp):
    customer = mobile.register()
    body = mobile.get("/me", customer.access_token).get_json()
    assert body == {"id": customer.account_id, "program": "demo", "phone": customer.phone,
                    "first_name": "", "birthday": None, "email": None, "language": None,
                    "sms_notifications": True, "notify_channel": "auto", "push_devices": 0,
                    "status": "active", "created_at": body["created_at"]}
    assert body["created_at"].endswith("Z")


def test_patch_me_answers_the_profile_the_use_case_updated(mobile: MobileApp):
    mobile.freeze(MONDAY)
    customer = mobile.register()
    changes = {"first_name": "Chloé", "birthday": "1990-04-01", "sms_notifications": False}
    reply = mobile.call("PATCH", "/me", changes, token=customer.access_token)
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == PROFILE_FIELDS
    assert (body["first_name"], body["birthday"], body["sms_notifications"]) == (
        "Chloé", "1990-04-01", False)
    assert body == phone_app.profile(mobile.program(), mobile.caller(customer, MONDAY))


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

@pytest.fixture
def frozen(app):
    """The app's clock stopped 10 seconds into a 30-second step of the live code."""
    app.extensions["pos_loyalty.clock"] = lambda: dt.datetime(2026, 11, 30, 10, 0, 10)


def test_my_card_gives_the_number_its_live_code_and_image_urls(mobile: MobileApp, frozen):
    customer = mobile.register()
    body = mobile.get("/me/card", customer.access_token).get_json()
    assert body["card_number"] == customer.card_number
    assert body["symbology"] == "ean13" and body["status"] == "active"
    assert re.fullmatch(r"[0-9]{6}", body["live_code"])
    assert body["scan_value"] == f"{customer.card_number}-{body['live_code']}"
    assert (body["live_code_expires_at"], body["refresh_in_seconds"]) \
        == ("2026-11-30T10:00:30Z", 20)
    assert body["barcode_png_url"] == "http://localhost/api/mobile/v1/me/card/barcode.png"
    assert body["qr_svg_url"] == "http://localhost/api/mobile/v1/me/card/qr.svg"


@pytest.mark.parametrize("url_field, fmt", [("barcode_png_url", zxingcpp.BarcodeFormat.Code128),
                                            ("qr_png_url", zxingcpp.BarcodeFormat.QRCode)])
def test_card_pngs_decode_to_the_card_number_and_its_live_code(mobile: MobileApp, url_field,
                                                               fmt, frozen):
    customer = mobile.register()
    card = mobile.get("/me/card", customer.access_token).get_json()
    url = card[url_field]
    reply = mobile.get(url.removeprefix("http://localhost/api/mobile/v1"), customer.access_token)
    assert reply.status_code == 200 and reply.mimetype == "image/png"
    found = zxingcpp.read_barcodes(Image.open(BytesIO(reply.data)))
    assert [(r.format, r.text) for r in found] == [(fmt, card["scan_value"])]


@pytest.mark.parametrize("path", ["/me/card/barcode.svg", "/me/card/qr.svg"])
def test_card_svgs_are_svg_documents(mobile: MobileApp, path):
    customer = mobile.register()
    reply = mobile.get(path, customer.access_token)
    assert reply.status_code == 200 and reply.mimetype == "image/svg+xml"
    assert b"<svg" in reply.data


def test_a_code128_program_card_decodes_too(mobile: MobileApp, frozen):
    def use_code128():
        program = mobile.program()
        program.rules = {"card_symbology": "code128", "card_prefix": "BK"}
    run_in_transaction(use_code128)
    customer = mobile.register()
    card = mobile.get("/me/card", customer.access_token).get_json()
    assert card["symbology"] == "code128" and card["scan_value"].startswith("BK")
    reply = mobile.get("/me/card/barcode.png", customer.access_token)
    found = zxingcpp.read_barcodes(Image.open(BytesIO(reply.data)))
    assert [(r.format, r.text) for r in found] == [(zxingcpp.BarcodeFormat.Code128,
                                                    card["scan_value"])]


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

BALANCE_FIELDS = {"available_points", "pending_points", "value_minor", "currency",
                  "lifetime_earned", "next_expiry"}
HISTORY_ENTRY_FIELDS = {"id", "created_at", "kind", "label", "points", "pending_points",
                        "balance_after", "pending_after", "store_name"}


def test_balance_answers_what_the_use_case_sees(mobile: MobileApp, till):
    mobile.freeze(MONDAY)
    customer = mobile.register()
    till.adjust(customer.card_number, 250, at=MONDAY)
    reply = mobile.get("/me/balance", customer.access_token)
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == BALANCE_FIELDS and set(body["next_expiry"]) == {"date", "points"}
    assert body["available_points"] == 250
    assert body == phone_app.balance(mobile.program(), mobile.caller(customer, MONDAY), MONDAY)


def test_history_reads_the_limit_and_the_cursor(mobile: MobileApp, till):
    mobile.freeze(MONDAY)
    customer = mobile.register()
    till.adjust(customer.card_number, 100, at=MONDAY)
    for _ in range(2):
        assert till.sell(customer.card_number, total_minor=1000).status_code == 201
    reply = mobile.get("/me/history?limit=2", customer.access_token)
    assert reply.status_code == 200
    first = reply.get_json()
    assert set(first) == {"entries", "next_cursor"}
    assert [set(e) for e in first["entries"]] == [HISTORY_ENTRY_FIELDS] * 2
    caller = mobile.caller(customer, MONDAY)
    assert first == phone_app.history(caller, 2, None)
    second = mobile.get(f"/me/history?limit=2&cursor={first['next_cursor']}",
                        customer.access_token).get_json()
    assert second == phone_app.history(caller, 2, int(first["next_cursor"]))
    assert len(second["entries"]) == 1 and second["next_cursor"] is None


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

def test_export_answers_what_the_use_case_gathers(mobile: MobileApp, till):
    mobile.freeze(MONDAY)
    customer = mobile.register()
    till.sell(customer.card_number, total_minor=1500)
    reply = mobile.get("/me/export", customer.access_token)
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == {"exported_at", "profile", "balance", "cards", "history", "sessions",
                         "sms", "pushes", "devices", "wallet_passes"}
    assert [c["card_number"] for c in body["cards"]] == [customer.card_number]
    assert body == phone_app.export(mobile.program(), mobile.caller(customer, MONDAY), MONDAY)


def test_delete_me_answers_204_and_the_token_is_then_refused(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.call("DELETE", "/me", token=customer.access_token)
    assert (reply.status_code, reply.data) == (204, b"")
    assert db.session.get(Account, customer.account_id).status == "closed"
    reply = mobile.get("/me", customer.access_token)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"
    assert mobile.post("/auth/refresh",
                       {"refresh_token": customer.refresh_token}).status_code == 401
    assert mobile.post("/auth/login", {"phone": customer.phone,
                                       "pin": customer.pin}).status_code == 401
