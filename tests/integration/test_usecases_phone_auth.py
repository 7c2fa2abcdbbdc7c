"""Signing in to the phone app through its use cases (no HTTP), both engines: codes by SMS (sent,
counted, expiring, used once, so many an hour), registration, PIN login and its throttles,
refresh-token rotation and reuse, logout, PIN reset and change. test_mobile_auth.py checks the
endpoints' parsing, status codes, shapes and headers.

The wrong-PIN throttles count in the rate-limit storage on its own clock (emptied before each
test); everything else runs at the `shop`'s clock.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from mobile_app import AppCustomer, caller, last_code, new_phone, register, set_limits, wrong_code
from pos_loyalty import one_time_codes
from pos_loyalty.app_sessions import TokenPair
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import (
    CodeExpired, InvalidCode, InvalidPin, InvalidToken, TokenReused, TooManyAttempts,
    TooManyCodes, TooManyTries, ValidationFailed,
)
from pos_loyalty.models import Account, Card, MobileSession, OneTimeCode, OutboxMessage
from pos_loyalty.usecases import customers, phone_app

HOME = "192.0.2.10"          # the address the customer's phone logs in from
GUESSER = "203.0.113.9"
ELSEWHERE = "198.51.100.7"


def log_in(shop, customer: AppCustomer, pin: str | None = None, ip: str = HOME) -> TokenPair:
    return phone_app.log_in(shop.program, customer.phone, pin or customer.pin, shop.now, ip)


def signed_in(shop, tokens: TokenPair) -> int:
    """The session the access token opens at `shop.now` (InvalidToken once it is over)."""
    return phone_app.caller_of(shop.program, f"Bearer {tokens.access_token}", shop.now).session_id


def wrong_pins(shop, customer: AppCustomer, tries: tuple[int, ...], ip: str = HOME) -> None:
    """Wrong PINs in a row from `ip`, each refused with the tries it leaves."""
    for left in tries:
        with pytest.raises(InvalidPin) as refused:
            log_in(shop, customer, "9999", ip)
        assert refused.value.details == {"attempts_left": left}


def code_row(phone: str) -> OneTimeCode:
    return db.session.scalar(select(OneTimeCode).where(OneTimeCode.phone_e164 == phone)
                             .order_by(OneTimeCode.id.desc()).limit(1))


@pytest.fixture
def codes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The codes the next SMS carry, in order, instead of random ones."""
    queued: list[int] = []
    monkeypatch.setattr(one_time_codes, "secrets",
                        SimpleNamespace(randbelow=lambda _: queued.pop(0)))
    return queued


# --- codes by SMS ----------------------------------------------------------------------------

def test_a_code_is_queued_to_send_at_once_and_kept_only_as_a_hash(shop):
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    code = last_code(phone)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_phone == phone))
    assert (message.kind, message.status, message.send_after) == ("otp", "queued", shop.now)
    assert message.body == f"Demo Boulangerie : votre code est {code}. Il expire dans 10 minutes."
    stored = code_row(phone)
    assert stored.code_hash != code and code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert (stored.purpose, stored.attempts, stored.consumed_at) == ("register", 0, None)
    assert (stored.created_at, stored.expires_at) == (shop.now,
                                                      shop.now + dt.timedelta(minutes=10))


def test_the_code_sms_speaks_the_customers_language(shop):
    shop.customer()
    phone = shop.till.last_phone
    run_in_transaction(lambda: db.session.execute(
        update(Account).where(Account.phone_e164 == phone).values(locale="en_GB")))
    phone_app.request_registration_code(shop.program, phone, shop.now)
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.to_phone == phone))
    assert body == f"Demo Boulangerie: your code is {last_code(phone)}. It expires in 10 minutes."


def test_a_wrong_code_counts_down_then_the_code_is_dead(shop):
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    code = last_code(phone)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(InvalidCode) as refused:
            phone_app.complete_registration(shop.program, phone, wrong_code(code), "1234",
                                            shop.now)
        assert (refused.value.message, refused.value.details) == (
            "Wrong code.", {"attempts_left": left})
    with pytest.raises(TooManyAttempts):
        phone_app.complete_registration(shop.program, phone, code, "1234", shop.now)
    assert code_row(phone).attempts == 5
    assert db.session.scalar(select(Account.id).where(Account.phone_e164 == phone)) is None


def test_a_malformed_pin_or_code_does_not_use_up_an_attempt(shop):
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    code = last_code(phone)
    for bad_code, pin, field in ((code, "12", "pin"), ("12345", "1234", "code"),
                                 (123456, "1234", "code")):
        with pytest.raises(ValidationFailed) as refused:
            phone_app.complete_registration(shop.program, phone, bad_code, pin, shop.now)
        assert refused.value.details == {"field": field}
    assert code_row(phone).attempts == 0
    assert phone_app.complete_registration(shop.program, phone, code, "1234", shop.now)


def test_a_code_expires_after_ten_minutes(shop):
    start = shop.now
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    shop.now = start + dt.timedelta(minutes=10)
    with pytest.raises(CodeExpired):
        phone_app.complete_registration(shop.program, phone, last_code(phone), "1234", shop.now)


def test_a_code_still_works_just_before_ten_minutes(shop):
    start = shop.now
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    shop.now = start + dt.timedelta(minutes=9, seconds=59)
    tokens = phone_app.complete_registration(shop.program, phone, last_code(phone), "1234",
                                             shop.now)
    assert signed_in(shop, tokens)


def test_a_code_works_once(shop):
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    code = last_code(phone)
    phone_app.complete_registration(shop.program, phone, code, "1234", shop.now)
    assert code_row(phone).consumed_at == shop.now
    with pytest.raises(CodeExpired):
        phone_app.complete_registration(shop.program, phone, code, "1234", shop.now)


def test_a_new_code_replaces_the_previous_one(shop, codes):
    codes.extend([111111, 222222])
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    phone_app.request_registration_code(shop.program, phone, shop.now)
    assert last_code(phone) == "222222"
    with pytest.raises(InvalidCode) as refused:
        phone_app.complete_registration(shop.program, phone, "111111", "1234", shop.now)
    assert refused.value.details == {"attempts_left": 4}
    assert phone_app.complete_registration(shop.program, phone, "222222", "1234", shop.now)


def test_no_code_sent_is_an_expired_code(shop):
    with pytest.raises(CodeExpired):
        phone_app.complete_registration(shop.program, new_phone(), "123456", "1234", shop.now)


def test_one_phone_gets_so_many_codes_an_hour_whatever_they_are_for(shop):
    set_limits(shop.till.app, codes_per_hour=3)
    start = shop.now
    customer = register(shop)
    phone_app.request_pin_reset_code(shop.program, customer.phone, shop.now)
    phone_app.request_registration_code(shop.program, customer.phone, shop.now)
    shop.now = start + dt.timedelta(minutes=59, seconds=59)
    with pytest.raises(TooManyCodes):
        phone_app.request_registration_code(shop.program, customer.phone, shop.now)
    with pytest.raises(TooManyCodes):
        phone_app.request_pin_reset_code(shop.program, customer.phone, shop.now)
    assert len(db.session.scalars(select(OutboxMessage.id)
                                  .where(OutboxMessage.to_phone == customer.phone)).all()) == 3
    shop.now = start + dt.timedelta(hours=1)
    phone_app.request_registration_code(shop.program, customer.phone, shop.now)
    assert code_row(customer.phone).created_at == shop.now


# --- registration ----------------------------------------------------------------------------

def test_registering_creates_an_active_account_with_a_virtual_card_and_logs_in(shop):
    customer = register(shop, pin="2468")
    account = db.session.scalar(select(Account).where(Account.phone_e164 == customer.phone))
    assert account.status == "active"
    card = db.session.scalar(select(Card).where(Card.account_id == account.id))
    assert card.kind == "virtual"
    assert phone_app.my_card(caller(shop, customer), shop.now).card.number == card.number
    assert caller(shop, customer).account.id == account.id
    assert customer.tokens.expires_in == 15 * 60
    assert signed_in(shop, log_in(shop, customer))


def test_registering_a_customer_a_till_enrolled_replaces_the_tills_pin(shop):
    card = shop.customer(first_name="Léa", pin="4321")
    phone = shop.till.last_phone
    customer = register(shop, phone, pin="8642")
    assert phone_app.my_card(caller(shop, customer), shop.now).card.number == card
    assert db.session.scalar(select(Account.first_name).where(Account.phone_e164 == phone)) \
        == "Léa"
    with pytest.raises(InvalidPin):
        log_in(shop, customer, "4321")
    assert signed_in(shop, log_in(shop, customer, "8642"))


# --- PIN login and its throttles -------------------------------------------------------------

def test_an_unknown_phone_is_refused_like_a_wrong_pin(shop):
    customer = register(shop)
    wrong_pins(shop, customer, (4,))
    with pytest.raises(InvalidPin) as refused:
        phone_app.log_in(shop.program, new_phone(), "1234", shop.now, HOME)
    assert (refused.value.message, refused.value.details) == ("Wrong PIN.", {"attempts_left": 4})


def test_five_wrong_pins_make_this_address_wait_not_the_account(shop):
    customer = register(shop)
    wrong_pins(shop, customer, (4, 3, 2, 1, 0), ip=GUESSER)
    with pytest.raises(TooManyTries) as waiting:
        log_in(shop, customer, ip=GUESSER)
    assert 0 < waiting.value.details["retry_after_seconds"] <= 15 * 60
    assert signed_in(shop, log_in(shop, customer, ip=ELSEWHERE))


def test_the_till_and_the_app_share_the_accounts_count(shop):
    customer = register(shop)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(InvalidPin) as refused:
            customers.identify(shop.program, shop.terminal, "9999", shop.now,
                               phone=customer.phone)
        assert refused.value.details == {"attempts_left": left}
    # The app's address has its own 5, but the account has only 5 of its 10 an hour left.
    wrong_pins(shop, customer, (4, 3, 2, 1, 0))
    with pytest.raises(TooManyTries) as waiting:
        log_in(shop, customer, ip=ELSEWHERE)
    assert 0 < waiting.value.details["retry_after_seconds"] <= 60 * 60


def test_a_right_pin_starts_the_count_again(shop):
    customer = register(shop)
    wrong_pins(shop, customer, (4, 3, 2, 1))
    assert signed_in(shop, log_in(shop, customer))
    wrong_pins(shop, customer, (4,))


# --- refresh and logout ----------------------------------------------------------------------

def test_refresh_rotates_the_refresh_token(shop):
    customer = register(shop)
    session = signed_in(shop, customer.tokens)
    pair = phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    assert pair.refresh_token != customer.tokens.refresh_token
    assert pair.expires_in == 15 * 60
    assert signed_in(shop, pair) == session
    again = phone_app.refresh(shop.program, pair.refresh_token, shop.now)
    assert signed_in(shop, again) == session


def test_reusing_a_refresh_token_ends_its_session(shop):
    customer = register(shop)
    pair = phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    session = signed_in(shop, pair)
    with pytest.raises(TokenReused):
        phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    # The rightful newest pair is dead too: the session is over.
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, pair.refresh_token, shop.now)
    for tokens in (pair, customer.tokens):
        with pytest.raises(InvalidToken):
            signed_in(shop, tokens)
    assert db.session.get(MobileSession, session).revoked_reason == "reuse"


def test_reuse_ends_only_that_session(shop):
    customer = register(shop)
    other_device = log_in(shop, customer)
    phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    with pytest.raises(TokenReused):
        phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    assert signed_in(shop, other_device)


def test_refresh_refuses_an_unknown_token_and_one_thirty_days_old(shop):
    start = shop.now
    customer = register(shop)
    other_device = log_in(shop, customer)
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, "rt_nope", shop.now)
    shop.now = start + dt.timedelta(days=30, seconds=-1)
    assert phone_app.refresh(shop.program, other_device.refresh_token, shop.now)
    shop.now = start + dt.timedelta(days=30)
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)


def test_an_access_token_lasts_fifteen_minutes(shop):
    start = shop.now
    customer = register(shop)
    shop.now = start + dt.timedelta(minutes=14, seconds=59)
    assert signed_in(shop, customer.tokens)
    shop.now = start + dt.timedelta(minutes=15)
    with pytest.raises(InvalidToken):
        signed_in(shop, customer.tokens)
    assert signed_in(shop, phone_app.refresh(shop.program, customer.tokens.refresh_token,
                                             shop.now))


def test_logout_ends_that_session_only(shop):
    customer = register(shop)
    other_device = log_in(shop, customer)
    session = signed_in(shop, customer.tokens)
    phone_app.log_out(caller(shop, customer), shop.now)
    with pytest.raises(InvalidToken):
        signed_in(shop, customer.tokens)
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, customer.tokens.refresh_token, shop.now)
    assert signed_in(shop, other_device)
    ended = db.session.get(MobileSession, session)
    assert (ended.revoked_reason, ended.revoked_at) == ("logout", shop.now)


# --- PIN reset and change --------------------------------------------------------------------

def test_a_pin_reset_by_sms_code_sets_the_pin_and_ends_every_session(shop):
    customer = register(shop)
    other_device = log_in(shop, customer)
    phone_app.request_pin_reset_code(shop.program, customer.phone, shop.now)
    assert code_row(customer.phone).purpose == "pin_reset"
    tokens = phone_app.reset_pin(shop.program, customer.phone, last_code(customer.phone),
                                 "5555", shop.now)
    assert signed_in(shop, tokens)
    for ended in (other_device, customer.tokens):
        with pytest.raises(InvalidToken):
            signed_in(shop, ended)
    with pytest.raises(InvalidPin):
        log_in(shop, customer)
    assert signed_in(shop, log_in(shop, customer, "5555"))


def test_a_pin_reset_lets_a_customer_who_must_wait_log_in_at_once(shop):
    customer = register(shop)
    wrong_pins(shop, customer, (4, 3, 2, 1, 0))
    with pytest.raises(TooManyTries):
        log_in(shop, customer)
    phone_app.request_pin_reset_code(shop.program, customer.phone, shop.now)
    phone_app.reset_pin(shop.program, customer.phone, last_code(customer.phone), "5555",
                        shop.now)
    assert signed_in(shop, log_in(shop, customer, "5555"))


def test_a_pin_reset_for_an_unknown_phone_sends_nothing(shop):
    phone = new_phone()
    assert phone_app.request_pin_reset_code(shop.program, phone, shop.now) is None
    assert db.session.scalar(select(OutboxMessage.id)
                             .where(OutboxMessage.to_phone == phone)) is None
    assert code_row(phone) is None


def test_a_pin_reset_refuses_a_wrong_code_and_keeps_the_pin(shop):
    customer = register(shop)
    phone_app.request_pin_reset_code(shop.program, customer.phone, shop.now)
    code = last_code(customer.phone)
    with pytest.raises(InvalidCode) as refused:
        phone_app.reset_pin(shop.program, customer.phone, wrong_code(code), "5555", shop.now)
    assert refused.value.details == {"attempts_left": 4}
    assert signed_in(shop, log_in(shop, customer))


def test_a_registration_code_does_not_reset_a_pin(shop):
    customer = register(shop)
    phone_app.request_registration_code(shop.program, customer.phone, shop.now)
    with pytest.raises(CodeExpired):
        phone_app.reset_pin(shop.program, customer.phone, last_code(customer.phone), "5555",
                            shop.now)
    assert signed_in(shop, log_in(shop, customer))


def test_changing_the_pin_ends_every_other_session(shop):
    customer = register(shop)
    other_device = log_in(shop, customer)
    phone_app.change_pin(shop.program, caller(shop, customer), customer.pin, "7777", shop.now)
    assert signed_in(shop, customer.tokens)
    with pytest.raises(InvalidToken):
        signed_in(shop, other_device)
    with pytest.raises(InvalidToken):
        phone_app.refresh(shop.program, other_device.refresh_token, shop.now)
    with pytest.raises(InvalidPin):
        log_in(shop, customer)
    assert signed_in(shop, log_in(shop, customer, "7777"))


def test_wrong_old_pins_count_down_then_the_change_must_wait(shop):
    customer = register(shop)
    me = caller(shop, customer)
    pin_hash = me.account.pin_hash
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(InvalidPin) as refused:
            phone_app.change_pin(shop.program, me, "9999", "7777", shop.now)
        assert refused.value.details == {"attempts_left": left}
    with pytest.raises(TooManyTries) as waiting:
        phone_app.change_pin(shop.program, me, customer.pin, "7777", shop.now)
    assert 0 < waiting.value.details["retry_after_seconds"] <= 15 * 60
    assert caller(shop, customer).account.pin_hash == pin_hash
