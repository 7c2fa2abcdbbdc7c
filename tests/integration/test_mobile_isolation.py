"""No endpoint lets a customer reach another customer's or another program's data."""
from __future__ import annotations

import datetime as dt
import re
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image

from pos_loyalty.brand import create_promotion
from mobile_app import MobileApp, mobile, other_brand  # noqa: F401
from pos_loyalty import accounts, programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Program

CUSTOMER_ENDPOINTS = [
    ("GET", "/me", None), ("PATCH", "/me", {"first_name": "Mallory"}), ("DELETE", "/me", None),
    ("GET", "/me/export", None), ("PUT", "/me/pin", {"old_pin": "1234", "new_pin": "6666"}),
    ("GET", "/me/card", None), ("GET", "/me/card/barcode.svg", None),
    ("GET", "/me/card/barcode.png", None), ("GET", "/me/card/qr.svg", None),
    ("GET", "/me/card/qr.png", None), ("POST", "/me/cards", {"card_number": "2900000000001"}),
    ("GET", "/me/balance", None), ("GET", "/me/history", None), ("POST", "/auth/logout", None),
]


@pytest.fixture
def people(mobile: MobileApp, other_brand: MobileApp, till):
    """Alice and Bob in the default program, Carol in the other one, each with history."""
    alice, bob = mobile.register(), mobile.register(pin="5678")
    carol = other_brand.register(alice.phone, pin="9012")
    till.adjust(alice.card_number, 100)
    till.adjust(bob.card_number, 700)
    till.sell(bob.card_number, total_minor=3000)
    return alice, bob, carol


@pytest.mark.parametrize("method, path, body", CUSTOMER_ENDPOINTS)
def test_a_token_is_refused_with_another_programs_app_key(mobile, other_brand, people,
                                                          method, path, body):
    alice, _bob, carol = people
    reply = other_brand.call(method, path, body, token=alice.access_token)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"
    reply = mobile.call(method, path, body, token=carol.access_token)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("method, path, body", CUSTOMER_ENDPOINTS)
def test_customer_endpoints_need_a_token(mobile, method, path, body):
    reply = mobile.call(method, path, body)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


def test_me_me_export_show_only_ones_own_data(mobile, people):
    alice, bob, _carol = people
    me = mobile.get("/me", alice.access_token).get_json()
    assert (me["id"], me["phone"]) == (alice.account_id, alice.phone)
    export = mobile.get("/me/export", alice.access_token).get_json()
    assert [c["card_number"] for c in export["cards"]] == [alice.card_number]
    assert [e["balance_after"] for e in export["history"]] == [100]
    assert bob.phone not in str(export) and bob.card_number not in str(export)


def test_balance_and_history_are_ones_own(mobile, other_brand, people):
    alice, bob, carol = people
    assert mobile.get("/me/balance", alice.access_token).get_json()["available_points"] == 100
    assert mobile.get("/me/balance", bob.access_token).get_json()["available_points"] == 730
    assert other_brand.get("/me/balance",
                           carol.access_token).get_json()["available_points"] == 0
    history = mobile.get("/me/history", alice.access_token).get_json()["entries"]
    assert [(e["kind"], e["points"]) for e in history] == [("adjust", 100)]
    assert other_brand.get("/me/history", carol.access_token).get_json()["entries"] == []
    # A cursor from someone else's history reveals nothing either.
    bob_first = mobile.get("/me/history", bob.access_token).get_json()["entries"][0]["id"]
    page = mobile.get(f"/me/history?cursor={bob_first + 1}", alice.access_token).get_json()
    assert [e["points"] for e in page["entries"]] == [100]


@pytest.mark.parametrize("path", ["/me/card/barcode.png", "/me/card/qr.png"])
def test_card_images_show_ones_own_card(mobile, other_brand, people, path):
    alice, _bob, carol = people
    for app, person in ((mobile, alice), (other_brand, carol)):
        png = app.get(path, person.access_token).data
        [text] = [r.text for r in zxingcpp.read_barcodes(Image.open(BytesIO(png)))]
        assert re.fullmatch(rf"{person.card_number}-[0-9]{{6}}", text)
    assert mobile.get("/me/card", alice.access_token).get_json()["card_number"] \
        == alice.card_number


def test_same_phone_in_two_programs_is_two_separate_accounts(mobile, other_brand, people):
    alice, _bob, carol = people
    assert alice.phone == carol.phone
    alice_id = alice.account_id
    carol_id = db.session.execute(
        db.select(Account.id).where(Account.program_id == other_brand.program_id)).scalar()
    assert alice_id != carol_id
    # Each program's PIN opens only its own account.
    assert mobile.post("/auth/login", {"phone": alice.phone, "pin": "9012"}).status_code == 401
    assert other_brand.post("/auth/login", {"phone": alice.phone,
                                            "pin": "1234"}).status_code == 401
    assert other_brand.post("/auth/login", {"phone": alice.phone,
                                            "pin": "9012"}).status_code == 200


def test_linking_cards_of_others_fails(mobile, other_brand, people):
    alice, bob, carol = people
    reply = mobile.post("/me/cards", {"card_number": bob.card_number}, token=alice.access_token)
    assert reply.status_code == 404  # as for a number nobody has: the app learns nothing
    reply = mobile.post("/me/cards", {"card_number": carol.card_number},
                        token=alice.access_token)
    assert reply.status_code == 404
    blank = run_in_transaction(lambda: accounts.issue_cards(
        db.session.get(Program, other_brand.program_id), 1, utcnow()))[0]
    reply = mobile.post("/me/cards", {"card_number": blank}, token=alice.access_token)
    assert reply.status_code == 404


def test_changes_touch_only_the_caller(mobile, people):
    alice, bob, _carol = people
    mobile.call("PATCH", "/me", {"first_name": "Alice"}, token=alice.access_token)
    mobile.call("PUT", "/me/pin", {"old_pin": "1234", "new_pin": "4444"},
                token=alice.access_token)
    mobile.post("/auth/logout", token=alice.access_token)
    assert mobile.get("/me", bob.access_token).get_json()["first_name"] == ""
    assert mobile.post("/auth/login", {"phone": bob.phone, "pin": "5678"}).status_code == 200
    alice_again = mobile.login(type(alice)(alice.phone, "4444", "", "", ""))
    mobile.call("DELETE", "/me", token=alice_again["access_token"])
    assert mobile.get("/me", bob.access_token).status_code == 200
    assert mobile.get("/me/balance", bob.access_token).get_json()["available_points"] == 730


def test_refresh_tokens_and_codes_stay_in_their_program(mobile, other_brand, people):
    alice, _bob, _carol = people
    reply = other_brand.post("/auth/refresh", {"refresh_token": alice.refresh_token})
    assert reply.status_code == 401
    assert mobile.post("/auth/refresh",
                       {"refresh_token": alice.refresh_token}).status_code == 200
    mobile.post("/auth/register", {"phone": alice.phone})
    code = mobile.last_code(alice.phone)
    reply = other_brand.post("/auth/verify", {"phone": alice.phone, "code": code, "pin": "1111"})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "code_expired"


def test_branding_promotions_and_stores_are_the_app_keys_program(mobile, other_brand):
    now = utcnow()

    def fill() -> None:
        default = programs.default_program()
        other = db.session.get(Program, other_brand.program_id)
        programs.create_store(default, "Default store")
        programs.create_store(other, "Other store")
        create_promotion(default, "Default promo", now - dt.timedelta(hours=1),
                         now + dt.timedelta(hours=1))
        create_promotion(other, "Other promo", now - dt.timedelta(hours=1),
                         now + dt.timedelta(hours=1))
    run_in_transaction(fill)
    assert other_brand.get("/branding").get_json()["program"]["slug"] == "other"
    assert [s["name"] for s in other_brand.get("/stores").get_json()["stores"]] == ["Other store"]
    assert [p["title"] for p in other_brand.get("/promotions").get_json()["promotions"]] == [
        "Other promo"]
    assert [s["name"] for s in mobile.get("/stores").get_json()["stores"]] == ["Default store"]
    assert [p["title"] for p in mobile.get("/promotions").get_json()["promotions"]] == [
        "Default promo"]
