"""SMS pumping: code SMS are capped per program and per hour whatever the phones and addresses
asking, and go only to the countries the program texts ([sms] allowed_countries)."""
from __future__ import annotations

import pytest
from flask import session
from sqlalchemy import func, select

from cashier_ui.messages import error_sentence
from mobile_api.openapi import mobile_document
from mobile_app import PREFIX, MobileApp, mobile, new_phone, other_brand  # noqa: F401
from openapi_check import CheckedClient, error_code
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.errors import PhoneCountryNotAllowed
from pos_loyalty.models import Account, OutboxMessage, Program
from pos_loyalty.usecases import customers

UK_MOBILE = "+447400123456"
BELGIAN_MOBILE = "+32470123456"


def codes_queued() -> int:
    count = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.kind == "otp"))
    db.session.rollback()
    return count


def ask_code(app: MobileApp, phone: str) -> tuple[int, str | None]:
    reply = app.post("/auth/register", {"phone": phone})
    body = reply.get_json()
    return reply.status_code, body["error"]["code"] if "error" in body else None


def cap_codes(mobile: MobileApp, per_hour: int) -> None:
    mobile.app.config["LOYALTY"]["mobile"]["otp_max_per_program_per_hour"] = per_hour


# --- the program's hourly cap -------------------------------------------------------------

def test_the_program_sends_no_more_codes_than_its_hourly_cap(mobile: MobileApp):
    cap_codes(mobile, 3)
    assert [ask_code(mobile, new_phone()) for _ in range(3)] == [(202, None)] * 3
    assert ask_code(mobile, new_phone()) == (429, "too_many_codes")
    assert codes_queued() == 3


def test_pin_reset_codes_count_against_the_same_cap(mobile: MobileApp):
    customer = mobile.register()
    cap_codes(mobile, 2)
    reset = mobile.post("/auth/pin/reset", {"phone": customer.phone})
    assert reset.status_code == 202
    assert ask_code(mobile, new_phone()) == (202, None)
    refused = mobile.post("/auth/pin/reset", {"phone": customer.phone})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (429, "too_many_codes")


def test_each_program_has_its_own_cap(mobile: MobileApp, other_brand: MobileApp):
    cap_codes(mobile, 1)
    assert ask_code(mobile, new_phone()) == (202, None)
    assert ask_code(mobile, new_phone()) == (429, "too_many_codes")
    assert ask_code(other_brand, new_phone()) == (202, None)


def test_a_cap_of_zero_is_no_cap(mobile: MobileApp):
    cap_codes(mobile, 0)
    assert {ask_code(mobile, new_phone()) for _ in range(5)} == {(202, None)}


# --- the countries a program texts --------------------------------------------------------

def test_a_phone_of_another_country_gets_no_code(mobile: MobileApp):
    reply = mobile.post("/auth/register", {"phone": UK_MOBILE})
    assert reply.status_code == 422
    assert reply.get_json()["error"] == {
        "code": "phone_country_not_allowed", "message": PhoneCountryNotAllowed.message,
        "details": {"country": "GB", "field": "phone"}}
    assert codes_queued() == 0


def test_the_refusals_are_the_documented_answers(mobile: MobileApp):
    cap_codes(mobile, 1)
    checked = CheckedClient(mobile.client, PREFIX, mobile_document(),
                            {"X-App-Key": mobile.app_key})
    assert error_code(checked.post("/auth/register", {"phone": UK_MOBILE})) \
        == (422, "phone_country_not_allowed")
    assert checked.post("/auth/register", {"phone": new_phone()}).status_code == 202
    assert error_code(checked.post("/auth/register", {"phone": new_phone()})) \
        == (429, "too_many_codes")


def test_pin_reset_refuses_another_country_the_same_way_enrolled_or_not(mobile: MobileApp):
    reply = mobile.post("/auth/pin/reset", {"phone": UK_MOBILE})
    assert (reply.status_code, reply.get_json()["error"]["code"]) \
        == (422, "phone_country_not_allowed")


def test_the_setting_opens_more_countries(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["sms"]["allowed_countries"] = ["FR", "gb"]
    assert ask_code(mobile, UK_MOBILE) == (202, None)
    assert ask_code(mobile, new_phone()) == (202, None)


def test_a_program_sets_its_own_countries_in_its_branding(mobile: MobileApp):
    def belgian_only() -> None:
        program = db.session.get(Program, mobile.program_id)
        program.branding = {**program.branding, "sms": {"allowed_countries": ["BE"]}}
    run_in_transaction(belgian_only)
    assert ask_code(mobile, BELGIAN_MOBILE) == (202, None)
    assert ask_code(mobile, new_phone()) == (422, "phone_country_not_allowed")


def test_the_default_is_the_country_of_the_program_s_locale(mobile: MobileApp):
    run_in_transaction(lambda: setattr(db.session.get(Program, mobile.program_id), "locale",
                                       "en_GB"))
    assert ask_code(mobile, UK_MOBILE) == (202, None)
    assert ask_code(mobile, new_phone()) == (422, "phone_country_not_allowed")


def test_the_till_cannot_enrol_a_phone_of_another_country(mobile: MobileApp):
    program = db.session.get(Program, mobile.program_id)
    with pytest.raises(PhoneCountryNotAllowed):
        customers.enrol(program, UK_MOBILE, "1234", utcnow(), channel="cli", first_name="Sam")
    assert db.session.scalar(select(Account.id).where(Account.phone_e164 == UK_MOBILE)) is None


def test_the_till_says_why_in_french_too(mobile: MobileApp):
    with mobile.app.test_request_context("/cashier/enrol"):
        session["lang"] = "fr"
        sentence = error_sentence(PhoneCountryNotAllowed(country="GB"))
    assert sentence == ("Ce programme n'envoie pas de SMS vers le pays de ce téléphone : "
                        "inscrivez un téléphone du pays du programme.")
