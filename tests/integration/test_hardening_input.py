"""Hostile input is a 400 or a 422, never a 500, and nothing of it is stored.

JSON nested a thousand deep; NUL (PostgreSQL text cannot hold it), other control characters
and the invisible marks that reorder text (bidi overrides, isolates, LRM/RLM) in names,
receipt numbers, items and Twilio's fields; the same checks at the cashier's forms.
"""
from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Sale
from pos_loyalty.security import app_hasher

# One of each kind the rule names: NUL, another C0 control, DEL, a C1 control, LRM, RLM,
# a bidi override (RLO) and an isolate (RLI).
HOSTILE = ["Ca\x00mille", "Ca\tmille", "Ca\x7fmille", "Ca\x85mille", "Ca\u200emille",
           "Ca\u200fmille", "Ca\u202emille", "Ca\u2067mille"]
# What people do type: accents, apostrophes, hyphens, other scripts (stored as typed).
HARMLESS = ["Anne-Marie O'Neil", "Zoë", "Łukasz", "محمد", "王芳"]
TWILIO_TOKEN = "secret-token"
PUBLIC = "https://loyalty.example.com"


def nested(depth: int) -> str:
    return '{"card_number": "2900000000018", "total_minor": 100, "x": ' \
        + "[" * depth + "]" * depth + "}"


def sale_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Sale))


def assert_refused(reply: Any, field: str) -> None:
    assert reply.status_code == 422, reply.get_data(as_text=True)
    error = reply.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["field"] == field


# --- JSON nesting -------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [33, 990, 5000])
def test_deeply_nested_json_is_a_400(till, mobile, depth: int):  # noqa: F811
    for reply in (till.post("/quote", data=nested(depth), content_type="application/json"),
                  mobile.post("/auth/login", data=nested(depth),
                              content_type="application/json")):
        assert reply.status_code == 400, reply.get_data(as_text=True)
        assert reply.get_json()["error"]["code"] == "malformed_request"


def test_json_nested_within_the_limit_is_read(till):
    card = till.customer()
    reply = till.post("/quote", data=nested(31).replace("2900000000018", card),
                      content_type="application/json")
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["points_earned"] == 1


# --- text fields of the POS API -----------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE)
def test_a_receipt_number_with_control_or_direction_characters_is_refused(till, value: str):
    card = till.customer()
    assert_refused(till.sell(card, 2000, receipt=value), "receipt_number")
    assert_refused(till.post("/holds", {"card_number": card, "receipt_number": value,
                                        "points": 1}), "receipt_number")
    assert sale_count() == 0


@pytest.mark.parametrize("value", HOSTILE)
def test_an_item_or_category_with_control_characters_is_refused(till, value: str):
    card = till.customer()
    line = {"sku": "BREAD", "category": "bakery", "quantity": 1, "unit_price_minor": 250}
    assert_refused(till.sell(card, lines=[{**line, "sku": value}]), "lines[0].sku")
    assert_refused(till.sell(card, lines=[{**line, "category": value}]), "lines[0].category")
    assert sale_count() == 0


@pytest.mark.parametrize("value", HARMLESS)
def test_names_and_receipts_people_really_type_are_kept(till, value: str):
    card = till.customer()
    reply = till.sell(card, 2000, receipt=value)
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["receipt_number"] == value


# --- the phone app's first name -----------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE)
def test_the_app_refuses_a_first_name_with_control_characters(mobile, value: str):  # noqa: F811
    customer = mobile.register()
    reply = mobile.call("PATCH", "/me", {"first_name": value}, token=customer.access_token)
    assert_refused(reply, "first_name")
    assert mobile.get("/me", customer.access_token).get_json()["first_name"] == ""


@pytest.mark.parametrize("value", HARMLESS)
def test_the_app_keeps_a_first_name_people_really_type(mobile, value: str):  # noqa: F811
    customer = mobile.register()
    reply = mobile.call("PATCH", "/me", {"first_name": value}, token=customer.access_token)
    assert reply.status_code == 200, reply.get_json()
    assert mobile.get("/me", customer.access_token).get_json()["first_name"] == value


# --- Twilio's webhooks --------------------------------------------------------------------

def signed_post(client: Any, path: str, form: dict[str, str]) -> Any:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def twilio(app):
    app.config["LOYALTY"]["sms"].update(twilio_auth_token=TWILIO_TOKEN, public_base_url=PUBLIC)


@pytest.mark.parametrize("value", ["+3361234\x00", "+33612\u202e34"])
def test_a_signed_twilio_text_from_a_number_with_control_characters_is_refused(
        client, twilio, value: str):
    reply = signed_post(client, "/webhooks/twilio/inbound", {"From": value, "Body": "SOLDE"})
    assert_refused(reply, "From")
    status = signed_post(client, "/webhooks/twilio/status?outbox_id=1",
                         {"MessageSid": "SM1" + value, "MessageStatus": "delivered"})
    assert_refused(status, "MessageSid")


# --- the cashier's forms ------------------------------------------------------------------

def form_token(page: Any) -> str:
    return html.unescape(re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1))


class Cashier:
    def __init__(self, till: Any) -> None:
        run_in_transaction(lambda: programs.create_staff(
            till.program(), "camille", "manager", "till-password", till.store_id, app_hasher()))
        self.client = till.app.test_client()
        self.token = form_token(self.client.get("/cashier/login"))
        self.post("/cashier/language", lang="en", next="/cashier/login")
        self.post("/cashier/login", username="camille", password="till-password")
        self.token = form_token(self.client.get("/cashier/"))   # a new session, a new token

    def post(self, path: str, **form: str) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **form})


@pytest.mark.parametrize("value", ["Ca\x00mille", "Ca\u202emille"])
def test_the_cashier_forms_refuse_control_and_direction_characters(till, value: str):
    cashier = Cashier(till)
    enrol = cashier.post("/cashier/enrol", phone="+33612000001", pin="1234", pin_confirm="1234",
                         first_name=value)
    assert enrol.status_code == 422
    assert "First name cannot contain control or text-direction characters." in enrol.text
    found = cashier.post("/cashier/returns/find", receipt_number=value)
    assert found.status_code == 422 and "Receipt number cannot contain" in found.text
    cashier.post("/cashier/identify/card", card_number=till.customer(points=100))
    blocked = cashier.post("/cashier/manage/status", status="blocked", reason=value)
    assert blocked.status_code == 422 and "Reason cannot contain" in blocked.text
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Account)
                             .where(Account.status == "blocked")) == 0
    assert db.session.scalar(select(func.count()).select_from(Account)
                             .where(Account.phone_e164 == "+33612000001")) == 0


def test_a_login_name_with_a_nul_is_refused_not_a_500(till):
    client = till.app.test_client()
    token = form_token(client.get("/cashier/login"))
    page = client.post("/cashier/login", data={"csrf_token": token, "username": "cam\x00ille",
                                               "password": "till-password"})
    assert page.status_code == 422
