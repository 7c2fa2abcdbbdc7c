"""The sign-in endpoints through the Flask test client, both engines: parsing, status codes,
answer shapes and headers, the per-address rate limits, one happy path per endpoint. The rules
behind them (codes counted, expiring and used once, PIN throttles, refresh rotation and reuse,
logout, PIN reset and change) are tested on the use cases: test_usecases_phone_auth.py.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mobile_app import MobileApp, mobile, new_phone, set_limits, wrong_code  # noqa: F401
from pos_loyalty.db import db
from pos_loyalty.models import OutboxMessage

TOKEN_PAIR_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}


def tighten(mobile: MobileApp, **settings: Any) -> None:
    """Fewer tries before a refusal: [mobile] otp_max_attempts, [security] pin_max_attempts."""
    loyalty = mobile.app.config["LOYALTY"]
    for name, value in settings.items():
        loyalty["mobile" if name.startswith("otp_") else "security"][name] = value


def error_of(reply: Any) -> dict[str, Any]:
    return reply.get_json()["error"]


# --- register and verify ---------------------------------------------------------------------

def test_register_answers_code_sent_and_queues_the_code_sms(mobile: MobileApp):
    phone = new_phone()
    reply = mobile.post("/auth/register", {"phone": phone})
    assert reply.status_code == 202
    assert reply.get_json() == {"status": "code_sent"}
    assert db.session.scalar(select(OutboxMessage.kind)
                             .where(OutboxMessage.to_phone == phone)) == "otp"


def test_register_reads_national_numbers_in_the_programs_country(mobile: MobileApp):
    assert mobile.post("/auth/register", {"phone": "06 12 34 56 78"}).status_code == 202
    assert mobile.last_code("+33612345678")


def test_register_refuses_an_unreadable_phone(mobile: MobileApp):
    for phone in ("12", "not a phone", "", None, 33612345678):
        reply = mobile.post("/auth/register", {"phone": phone})
        assert reply.status_code == 422, phone
        assert reply.get_json()["error"]["code"] == "validation_error"
        assert reply.get_json()["error"]["details"]["field"] == "phone"


def test_too_many_codes_for_one_phone_is_429(mobile: MobileApp):
    set_limits(mobile.app, codes_per_hour=1)
    phone = new_phone()
    assert mobile.post("/auth/register", {"phone": phone}).status_code == 202
    reply = mobile.post("/auth/register", {"phone": phone})
    assert reply.status_code == 429
    assert error_of(reply)["code"] == "too_many_codes"


def test_verify_answers_the_token_pair(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    reply = mobile.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "1234"})
    assert reply.status_code == 201
    body = reply.get_json()
    assert set(body) == TOKEN_PAIR_FIELDS
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 15 * 60)
    assert mobile.get("/me", body["access_token"]).status_code == 200


def test_a_wrong_code_is_401_with_the_attempts_left_then_429(mobile: MobileApp):
    tighten(mobile, otp_max_attempts=2)
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    code = mobile.last_code(phone)
    for left in (1, 0):
        reply = mobile.post("/auth/verify", {"phone": phone, "code": wrong_code(code),
                                             "pin": "1234"})
        assert reply.status_code == 401
        assert error_of(reply) == {"code": "invalid_code", "message": "Wrong code.",
                                   "details": {"attempts_left": left}}
    reply = mobile.post("/auth/verify", {"phone": phone, "code": code, "pin": "1234"})
    assert reply.status_code == 429
    assert error_of(reply)["code"] == "too_many_attempts"


def test_no_valid_code_is_400_code_expired(mobile: MobileApp):
    reply = mobile.post("/auth/verify", {"phone": new_phone(), "code": "123456", "pin": "1234"})
    assert reply.status_code == 400
    assert error_of(reply)["code"] == "code_expired"


def test_verify_checks_the_fields(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    code = mobile.last_code(phone)
    for body, field in (({"phone": phone, "code": code, "pin": "12"}, "pin"),
                        ({"phone": phone, "code": code, "pin": "12ab"}, "pin"),
                        ({"phone": phone, "code": code}, "pin"),
                        ({"phone": phone, "code": "12345", "pin": "1234"}, "code"),
                        ({"phone": phone, "code": 123456, "pin": "1234"}, "code"),
                        ({"code": code, "pin": "1234"}, "phone")):
        reply = mobile.post("/auth/verify", body)
        assert reply.status_code == 422, body
        assert reply.get_json()["error"]["details"]["field"] == field
    # Field mistakes do not use up the attempts.
    assert mobile.post("/auth/verify", {"phone": phone, "code": code,
                                        "pin": "1234"}).status_code == 201


def test_bodies_must_be_json_objects(mobile: MobileApp):
    reply = mobile.post("/auth/login", data="phone=1", content_type="text/plain")
    assert reply.status_code == 415
    assert reply.get_json()["error"]["code"] == "unsupported_media_type"
    reply = mobile.post("/auth/login", data="[1, 2]", content_type="application/json")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "malformed_request"


# --- login -----------------------------------------------------------------------------------

def test_login_answers_tokens(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin})
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == TOKEN_PAIR_FIELDS
    assert mobile.get("/me", body["access_token"]).status_code == 200


def test_wrong_pin_is_401_invalid_pin(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_pin"
    assert reply.get_json()["error"]["details"] == {"attempts_left": 4}


def test_a_login_that_must_wait_is_429_with_retry_after(mobile: MobileApp):
    tighten(mobile, pin_max_attempts=1)
    customer = mobile.register()
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"}).status_code \
        == 401
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin})
    assert reply.status_code == 429
    assert error_of(reply)["code"] == "too_many_tries"
    assert 0 < int(reply.headers["Retry-After"]) <= 15 * 60
    assert error_of(reply)["details"]["retry_after_seconds"] == int(reply.headers["Retry-After"])


def test_login_counts_wrong_pins_per_client_address(mobile: MobileApp):
    tighten(mobile, pin_max_attempts=1)
    customer = mobile.register()
    mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                       environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_login_checks_the_fields(mobile: MobileApp):
    reply = mobile.post("/auth/login", {"phone": new_phone()})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == "pin"


# --- refresh, logout -------------------------------------------------------------------------

def test_refresh_answers_the_next_pair(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    assert reply.status_code == 200
    pair = reply.get_json()
    assert set(pair) == TOKEN_PAIR_FIELDS
    assert pair["refresh_token"] != customer.refresh_token
    assert mobile.get("/me", pair["access_token"]).status_code == 200


def test_a_reused_refresh_token_is_401_token_reused(mobile: MobileApp):
    customer = mobile.register()
    mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    stolen = mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    assert stolen.status_code == 401
    assert error_of(stolen)["code"] == "token_reused"
    assert mobile.get("/me", customer.access_token).status_code == 401


def test_refresh_refuses_unreadable_and_unknown_tokens(mobile: MobileApp):
    for token in ("rt_nope", "", None, 12, "rt_" + "x" * 198):
        reply = mobile.post("/auth/refresh", {"refresh_token": token})
        assert reply.status_code == 401, token
        assert error_of(reply)["code"] == "invalid_token"


def test_logout_answers_204_and_the_token_stops_working(mobile: MobileApp):
    customer = mobile.register()
    assert mobile.post("/auth/logout", token=customer.access_token).status_code == 204
    assert mobile.get("/me", customer.access_token).status_code == 401


def test_logout_needs_a_token(mobile: MobileApp):
    reply = mobile.post("/auth/logout")
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


# --- PIN reset and change --------------------------------------------------------------------

def test_pin_reset_by_sms_code(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone})
    assert reply.status_code == 202
    assert reply.get_json() == {"status": "code_sent"}
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone,
                                            "code": mobile.last_code(customer.phone),
                                            "pin": "5555"})
    assert reply.status_code == 200
    assert set(reply.get_json()) == TOKEN_PAIR_FIELDS
    assert mobile.get("/me", reply.get_json()["access_token"]).status_code == 200
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "5555"}).status_code == 200


def test_pin_reset_for_an_unknown_phone_answers_the_same(mobile: MobileApp):
    reply = mobile.post("/auth/pin/reset", {"phone": new_phone()})
    assert reply.status_code == 202
    assert reply.get_json() == {"status": "code_sent"}


def test_pin_reset_with_a_wrong_code_is_401_invalid_code(mobile: MobileApp):
    customer = mobile.register()
    mobile.post("/auth/pin/reset", {"phone": customer.phone})
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone,
                                            "code": wrong_code(mobile.last_code(customer.phone)),
                                            "pin": "5555"})
    assert reply.status_code == 401
    assert error_of(reply)["code"] == "invalid_code"
    assert error_of(reply)["details"] == {"attempts_left": 4}


def test_change_pin_answers_204(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.call("PUT", "/me/pin", {"old_pin": customer.pin, "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 204
    assert mobile.get("/me", customer.access_token).status_code == 200
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "7777"}).status_code == 200


def test_change_pin_with_a_wrong_old_pin_is_401_then_429(mobile: MobileApp):
    tighten(mobile, pin_max_attempts=1)
    customer = mobile.register()
    reply = mobile.call("PUT", "/me/pin", {"old_pin": "9999", "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 401
    assert error_of(reply) == {"code": "invalid_pin", "message": "Wrong PIN.",
                               "details": {"attempts_left": 0}}
    reply = mobile.call("PUT", "/me/pin", {"old_pin": customer.pin, "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 429
    assert error_of(reply)["code"] == "too_many_tries"
    assert int(reply.headers["Retry-After"]) == error_of(reply)["details"]["retry_after_seconds"]


def test_change_pin_checks_the_new_pin(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.call("PUT", "/me/pin", {"old_pin": customer.pin, "new_pin": "12"},
                        token=customer.access_token)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == "new_pin"


# --- rate limits -----------------------------------------------------------------------------

def test_auth_endpoints_are_rate_limited_per_ip(mobile: MobileApp):
    set_limits(mobile.app, auth="3 per minute")
    for _ in range(3):
        allowed = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"})
        assert allowed.status_code == 401 and "Retry-After" not in allowed.headers
    reply = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"})
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(reply.headers["Retry-After"]) <= 61     # the minute's window, in whole seconds
    other_ip = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_ip.status_code == 401


def test_asking_for_codes_has_its_own_tighter_limit(mobile: MobileApp):
    set_limits(mobile.app, code="2 per minute")
    assert mobile.post("/auth/register", {"phone": new_phone()}).status_code == 202
    assert mobile.post("/auth/pin/reset", {"phone": new_phone()}).status_code == 202
    assert mobile.post("/auth/register", {"phone": new_phone()}).status_code == 429
    assert mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"}).status_code == 401
