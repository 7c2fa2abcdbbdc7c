"""The phone app's referral: GET /me/referral, and a referral code given with the registration
(POST /auth/verify), refused with a JSON 422 that names why. What a referral then does is
tested on the use cases (test_referrals.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bonus_customers import account_with_phone, referral_of
from mobile_app import MobileApp, mobile, new_phone  # noqa: F401
from pos_loyalty.db import db
from pos_loyalty.models import Referral

REFERRAL_FIELDS = {"code", "share_text", "referrer_points", "newcomer_points",
                   "min_basket_minor", "currency", "rewarded_this_month", "max_per_month"}


@pytest.fixture(autouse=True)
def referral_rules(till):
    till.set_rules(referral_bonus_points=100, referral_newcomer_points=50,
                   referral_min_basket_minor=1000, referral_max_per_month=5)


def referral(mobile: MobileApp, token: str) -> dict:
    reply = mobile.get("/me/referral", token)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def verify(mobile: MobileApp, phone: str, **extra) -> tuple[int, dict]:
    assert mobile.post("/auth/register", {"phone": phone}).status_code == 202
    reply = mobile.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "2468", **extra})
    return reply.status_code, reply.get_json()


def test_the_customer_reads_their_code_and_what_to_share(mobile: MobileApp):
    customer = mobile.register()
    seen = referral(mobile, customer.access_token)
    assert set(seen) == REFERRAL_FIELDS
    code = seen["code"]
    assert seen == {"code": code, "referrer_points": 100, "newcomer_points": 50,
                    "min_basket_minor": 1000, "currency": "EUR", "rewarded_this_month": 0,
                    "max_per_month": 5,
                    "share_text": f"Rejoignez Demo Boulangerie avec mon code de parrainage "
                                  f"{code} : 50 points offerts après votre premier achat "
                                  f"d'au moins 10,00 €."}
    assert referral(mobile, customer.access_token)["code"] == code


def test_the_share_text_is_in_the_customer_s_language(mobile: MobileApp):
    customer = mobile.register()
    mobile.call("PATCH", "/me", {"language": "en"}, token=customer.access_token)
    seen = referral(mobile, customer.access_token)
    assert seen["share_text"] == (f"Join Demo Boulangerie with my referral code {seen['code']}: "
                                  f"get 50 points after your first purchase of €10.00 or more.")


def test_a_program_whose_newcomers_get_nothing_shares_just_the_code(mobile: MobileApp, till):
    till.set_rules(referral_newcomer_points=0)
    customer = mobile.register()
    seen = referral(mobile, customer.access_token)
    assert seen["share_text"] == (f"Rejoignez Demo Boulangerie avec mon code de parrainage "
                                  f"{seen['code']}.")


def test_the_referral_needs_a_token(mobile: MobileApp):
    reply = mobile.get("/me/referral")
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (401, "invalid_token")


def test_registering_with_a_code_records_the_referral(mobile: MobileApp):
    code = referral(mobile, mobile.register().access_token)["code"]
    phone = new_phone()
    status, body = verify(mobile, phone, referral_code=code.lower())
    assert status == 201 and set(body) >= {"access_token", "refresh_token"}
    assert referral_of(account_with_phone(phone).id).status == "pending"


def test_a_null_or_empty_code_is_no_code(mobile: MobileApp):
    for given in (None, "", "  "):
        status, _ = verify(mobile, new_phone(), referral_code=given)
        assert status == 201
    assert db.session.scalars(select(Referral)).all() == []


@pytest.mark.parametrize("given", ["ZZZZ2222", "not a code"])
def test_an_unknown_code_is_a_422_and_the_same_sms_code_still_works_without_it(
        mobile: MobileApp, given):
    phone = new_phone()
    status, body = verify(mobile, phone, referral_code=given)
    assert (status, body["error"]["code"], body["error"]["details"]) == (
        422, "referral_code_unknown", {"field": "referral_code"})
    assert account_with_phone(phone) is None
    again = mobile.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "2468"})
    assert again.status_code == 201


@pytest.mark.parametrize("given", [12345678, ["ABCDEFGH"], "A" * 33])
def test_a_code_that_is_no_text_is_a_validation_error(mobile: MobileApp, given):
    status, body = verify(mobile, new_phone(), referral_code=given)
    assert (status, body["error"]["code"], body["error"]["details"]) == (
        422, "validation_error", {"field": "referral_code"})


def test_a_returning_customer_is_told_a_code_is_for_newcomers(mobile: MobileApp):
    code = referral(mobile, mobile.register().access_token)["code"]
    before = mobile.register()
    assert mobile.call("DELETE", "/me", token=before.access_token).status_code == 204
    status, body = verify(mobile, before.phone, referral_code=code)
    assert (status, body["error"]["code"]) == (422, "referral_not_newcomer")


def test_one_s_own_code_is_refused(mobile: MobileApp):
    customer = mobile.register()
    code = referral(mobile, customer.access_token)["code"]
    status, body = verify(mobile, customer.phone, referral_code=code)
    assert (status, body["error"]["code"]) == (422, "referral_self")
