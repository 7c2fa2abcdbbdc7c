"""Registration by SMS code, PIN login and lockout, refresh rotation, logout, PIN reset/change."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from mobile_app import MobileApp, mobile, new_phone, set_limits, till_customer  # noqa: F401
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Card, OneTimeCode, OutboxMessage


def freeze(app, moment: dt.datetime) -> None:
    app.extensions["pos_loyalty.clock"] = lambda: moment


# --- register and verify ---------------------------------------------------------------------

def test_register_queues_an_otp_sms_sendable_now_and_keeps_only_a_hash(mobile: MobileApp):
    phone = new_phone()
    reply = mobile.post("/auth/register", {"phone": phone})
    assert reply.status_code == 202
    assert reply.get_json() == {"status": "code_sent"}
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_phone == phone))
    assert message.kind == "otp" and message.status == "queued"
    assert message.send_after <= utcnow()
    code = mobile.last_code(phone)
    assert message.body == f"Demo Boulangerie : votre code est {code}. Il expire dans 10 minutes."
    stored = db.session.scalar(select(OneTimeCode).where(OneTimeCode.phone_e164 == phone))
    assert stored.code_hash != code and code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert stored.expires_at - stored.created_at == dt.timedelta(minutes=10)


def test_the_code_sms_speaks_the_customers_language(mobile: MobileApp):
    phone = new_phone()
    till_customer(mobile.program(), phone)
    run_in_transaction(lambda: db.session.execute(
        update(Account).where(Account.phone_e164 == phone).values(locale="en_GB")))
    mobile.post("/auth/register", {"phone": phone})
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.to_phone == phone))
    assert body == f"Demo Boulangerie: your code is {mobile.last_code(phone)}. " \
                   "It expires in 10 minutes."


def test_register_reads_national_numbers_in_the_programs_country(mobile: MobileApp):
    assert mobile.post("/auth/register", {"phone": "06 12 34 56 78"}).status_code == 202
    assert mobile.last_code("+33612345678")


def test_register_refuses_an_unreadable_phone(mobile: MobileApp):
    for phone in ("12", "not a phone", "", None, 33612345678):
        reply = mobile.post("/auth/register", {"phone": phone})
        assert reply.status_code == 422, phone
        assert reply.get_json()["error"]["code"] == "validation_error"
        assert reply.get_json()["error"]["details"]["field"] == "phone"


def test_verify_creates_the_account_with_a_virtual_card_and_logs_in(mobile: MobileApp):
    customer = mobile.register(pin="2468")
    account = db.session.scalar(select(Account).where(Account.phone_e164 == customer.phone))
    assert account is not None and account.status == "active"
    card = db.session.scalar(select(Card).where(Card.account_id == account.id))
    assert card.kind == "virtual" and card.number == customer.card_number
    assert mobile.login(customer)["token_type"] == "Bearer"


def test_verify_answers_the_token_pair(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    reply = mobile.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "1234"})
    assert reply.status_code == 201
    body = reply.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["expires_in"] == 15 * 60


def test_verify_attaches_to_the_account_a_till_enrolled(mobile: MobileApp):
    phone = new_phone()
    card_number = till_customer(mobile.program(), phone, pin="4321")
    customer = mobile.register(phone, pin="8642")
    assert customer.card_number == card_number
    assert db.session.scalar(select(Account.first_name).where(Account.phone_e164 == phone)) \
        == "Léa"
    assert mobile.post("/auth/login", {"phone": phone, "pin": "4321"}).status_code == 401
    assert mobile.post("/auth/login", {"phone": phone, "pin": "8642"}).status_code == 200


def test_wrong_code_counts_down_then_the_code_is_dead(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    code = mobile.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        reply = mobile.post("/auth/verify", {"phone": phone, "code": wrong, "pin": "1234"})
        assert reply.status_code == 401
        assert reply.get_json()["error"] == {"code": "invalid_code", "message": "Wrong code.",
                                             "details": {"attempts_left": left}}
    reply = mobile.post("/auth/verify", {"phone": phone, "code": code, "pin": "1234"})
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "too_many_attempts"


def test_code_expires_after_ten_minutes(mobile: MobileApp):
    start = utcnow()
    freeze(mobile.app, start)
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    code = mobile.last_code(phone)
    freeze(mobile.app, start + dt.timedelta(minutes=10))
    reply = mobile.post("/auth/verify", {"phone": phone, "code": code, "pin": "1234"})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "code_expired"


def test_code_still_works_just_before_ten_minutes(mobile: MobileApp):
    start = utcnow()
    freeze(mobile.app, start)
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    freeze(mobile.app, start + dt.timedelta(minutes=9, seconds=59))
    reply = mobile.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "1234"})
    assert reply.status_code == 201


def test_a_code_works_once(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    body = {"phone": phone, "code": mobile.last_code(phone), "pin": "1234"}
    assert mobile.post("/auth/verify", body).status_code == 201
    reply = mobile.post("/auth/verify", body)
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "code_expired"


def test_a_new_code_replaces_the_previous_one(mobile: MobileApp):
    phone = new_phone()
    mobile.post("/auth/register", {"phone": phone})
    first = mobile.last_code(phone)
    mobile.post("/auth/register", {"phone": phone})
    second = mobile.last_code(phone)
    if first != second:
        reply = mobile.post("/auth/verify", {"phone": phone, "code": first, "pin": "1234"})
        assert reply.get_json()["error"]["code"] == "invalid_code"
    reply = mobile.post("/auth/verify", {"phone": phone, "code": second, "pin": "1234"})
    assert reply.status_code == 201


def test_verify_without_a_code_sent(mobile: MobileApp):
    reply = mobile.post("/auth/verify", {"phone": new_phone(), "code": "123456", "pin": "1234"})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "code_expired"


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


def test_one_phone_gets_a_limited_number_of_codes_per_hour(mobile: MobileApp):
    set_limits(mobile.app, codes_per_hour=3)
    phone = new_phone()
    for _ in range(3):
        assert mobile.post("/auth/register", {"phone": phone}).status_code == 202
    reply = mobile.post("/auth/register", {"phone": phone})
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "too_many_codes"


def test_bodies_must_be_json_objects(mobile: MobileApp):
    reply = mobile.post("/auth/login", data="phone=1", content_type="text/plain")
    assert reply.status_code == 415
    assert reply.get_json()["error"]["code"] == "unsupported_media_type"
    reply = mobile.post("/auth/login", data="[1, 2]", content_type="application/json")
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "malformed_request"


# --- login and lockout -----------------------------------------------------------------------

def test_login_answers_tokens(mobile: MobileApp):
    customer = mobile.register()
    body = mobile.login(customer)
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert mobile.get("/me", body["access_token"]).status_code == 200


def test_wrong_pin_is_401_invalid_pin(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_pin"
    assert reply.get_json()["error"]["details"] == {"attempts_left": 4}


def test_unknown_phone_looks_like_a_wrong_pin(mobile: MobileApp):
    reply = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_pin"


def from_address(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_five_wrong_pins_make_this_address_wait_not_the_account(mobile: MobileApp):
    customer = mobile.register()
    for _ in range(5):
        mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"},
                    **from_address("203.0.113.9"))
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                        **from_address("203.0.113.9"))
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "too_many_tries"
    assert 0 < int(reply.headers["Retry-After"]) <= 15 * 60
    assert reply.get_json()["error"]["details"]["retry_after"] == int(reply.headers["Retry-After"])
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                       **from_address("198.51.100.7")).status_code == 200


def test_the_till_and_the_app_share_the_account_s_count(mobile: MobileApp, till):
    customer = mobile.register()
    for _ in range(5):
        assert till.post("/identify", {"phone": customer.phone, "pin": "9999"}).status_code == 401
    for _ in range(5):
        assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"}).status_code \
            == 401
    # 10 wrong PINs in the hour from anywhere: every place waits, a new address too.
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                        **from_address("198.51.100.7"))
    assert reply.status_code == 429


def test_a_right_pin_resets_the_counter(mobile: MobileApp):
    customer = mobile.register()
    for _ in range(4):
        mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"})
    mobile.login(customer)
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"})
    assert reply.get_json()["error"]["details"] == {"attempts_left": 4}


def test_login_checks_the_fields(mobile: MobileApp):
    reply = mobile.post("/auth/login", {"phone": new_phone()})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == "pin"


# --- refresh, logout -------------------------------------------------------------------------

def test_refresh_rotates_the_refresh_token(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    assert reply.status_code == 200
    pair = reply.get_json()
    assert pair["refresh_token"] != customer.refresh_token
    assert mobile.get("/me", pair["access_token"]).status_code == 200
    again = mobile.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_family(mobile: MobileApp):
    customer = mobile.register()
    pair = mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token}).get_json()
    stolen = mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    assert stolen.status_code == 401
    assert stolen.get_json()["error"]["code"] == "token_reused"
    # The rightful newest pair is dead too: the session is over.
    assert mobile.post("/auth/refresh",
                       {"refresh_token": pair["refresh_token"]}).status_code == 401
    assert mobile.get("/me", pair["access_token"]).status_code == 401
    assert mobile.get("/me", customer.access_token).status_code == 401


def test_reuse_ends_only_that_session(mobile: MobileApp):
    customer = mobile.register()
    other_device = mobile.login(customer)
    mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    mobile.post("/auth/refresh", {"refresh_token": customer.refresh_token})
    assert mobile.get("/me", other_device["access_token"]).status_code == 200


def test_refresh_refuses_unknown_and_expired_tokens(mobile: MobileApp):
    start = utcnow()
    freeze(mobile.app, start)
    customer = mobile.register()
    for token in ("rt_nope", "", None, 12):
        reply = mobile.post("/auth/refresh", {"refresh_token": token})
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "invalid_token"
    freeze(mobile.app, start + dt.timedelta(days=30))
    assert mobile.post("/auth/refresh",
                       {"refresh_token": customer.refresh_token}).status_code == 401


def test_access_token_lasts_fifteen_minutes(mobile: MobileApp):
    start = utcnow()
    freeze(mobile.app, start)
    customer = mobile.register()
    freeze(mobile.app, start + dt.timedelta(minutes=14, seconds=59))
    assert mobile.get("/me", customer.access_token).status_code == 200
    freeze(mobile.app, start + dt.timedelta(minutes=15))
    reply = mobile.get("/me", customer.access_token)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"
    assert mobile.post("/auth/refresh",
                       {"refresh_token": customer.refresh_token}).status_code == 200


def test_logout_ends_the_session(mobile: MobileApp):
    customer = mobile.register()
    other_device = mobile.login(customer)
    assert mobile.post("/auth/logout", token=customer.access_token).status_code == 204
    assert mobile.get("/me", customer.access_token).status_code == 401
    assert mobile.post("/auth/refresh",
                       {"refresh_token": customer.refresh_token}).status_code == 401
    assert mobile.get("/me", other_device["access_token"]).status_code == 200


def test_logout_needs_a_token(mobile: MobileApp):
    reply = mobile.post("/auth/logout")
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


# --- PIN reset and change --------------------------------------------------------------------

def test_pin_reset_by_sms_code(mobile: MobileApp):
    customer = mobile.register()
    other_device = mobile.login(customer)
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone})
    assert reply.status_code == 202
    code = mobile.last_code(customer.phone)
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone, "code": code,
                                            "pin": "5555"})
    assert reply.status_code == 200
    assert mobile.get("/me", reply.get_json()["access_token"]).status_code == 200
    assert mobile.get("/me", other_device["access_token"]).status_code == 401
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "5555"}).status_code == 200


def test_pin_reset_unlocks_a_locked_account(mobile: MobileApp):
    customer = mobile.register()
    for _ in range(5):
        mobile.post("/auth/login", {"phone": customer.phone, "pin": "9999"})
    mobile.post("/auth/pin/reset", {"phone": customer.phone})
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone,
                                            "code": mobile.last_code(customer.phone),
                                            "pin": "5555"})
    assert reply.status_code == 200
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "5555"}).status_code == 200


def test_pin_reset_for_an_unknown_phone_answers_the_same_and_sends_nothing(mobile: MobileApp):
    phone = new_phone()
    reply = mobile.post("/auth/pin/reset", {"phone": phone})
    assert reply.status_code == 202
    assert reply.get_json() == {"status": "code_sent"}
    assert db.session.scalar(select(OutboxMessage.id)
                             .where(OutboxMessage.to_phone == phone)) is None


def test_pin_reset_refuses_a_wrong_code(mobile: MobileApp):
    customer = mobile.register()
    mobile.post("/auth/pin/reset", {"phone": customer.phone})
    code = mobile.last_code(customer.phone)
    wrong = "000000" if code != "000000" else "111111"
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone, "code": wrong,
                                            "pin": "5555"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_code"


def test_a_registration_code_does_not_reset_a_pin(mobile: MobileApp):
    customer = mobile.register()
    mobile.post("/auth/register", {"phone": customer.phone})
    reply = mobile.post("/auth/pin/reset", {"phone": customer.phone,
                                            "code": mobile.last_code(customer.phone),
                                            "pin": "5555"})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "code_expired"


def test_change_pin_ends_every_other_session(mobile: MobileApp):
    customer = mobile.register()
    other_device = mobile.login(customer)
    reply = mobile.call("PUT", "/me/pin", {"old_pin": customer.pin, "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 204
    assert mobile.get("/me", customer.access_token).status_code == 200
    assert mobile.get("/me", other_device["access_token"]).status_code == 401
    assert mobile.post("/auth/refresh",
                       {"refresh_token": other_device["refresh_token"]}).status_code == 401
    assert mobile.post("/auth/login", {"phone": customer.phone, "pin": "7777"}).status_code == 200


def test_change_pin_with_a_wrong_old_pin(mobile: MobileApp):
    customer = mobile.register()
    reply = mobile.call("PUT", "/me/pin", {"old_pin": "9999", "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_pin"
    for _ in range(4):
        mobile.call("PUT", "/me/pin", {"old_pin": "9999", "new_pin": "7777"},
                    token=customer.access_token)
    reply = mobile.call("PUT", "/me/pin", {"old_pin": customer.pin, "new_pin": "7777"},
                        token=customer.access_token)
    assert reply.status_code == 429


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
        assert mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"}).status_code == 401
    reply = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"})
    assert reply.status_code == 429
    assert reply.get_json()["error"]["code"] == "too_many_requests"
    other_ip = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_ip.status_code == 401


def test_asking_for_codes_has_its_own_tighter_limit(mobile: MobileApp):
    set_limits(mobile.app, code="2 per minute")
    assert mobile.post("/auth/register", {"phone": new_phone()}).status_code == 202
    assert mobile.post("/auth/pin/reset", {"phone": new_phone()}).status_code == 202
    assert mobile.post("/auth/register", {"phone": new_phone()}).status_code == 429
    assert mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"}).status_code == 401
