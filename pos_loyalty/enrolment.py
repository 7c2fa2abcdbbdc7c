"""Getting into the app: registration by SMS code, PIN login, PIN reset and change.

Each function runs inside the caller's transaction. Those that count a failure (a wrong code,
a wrong PIN) return (result, error): the caller commits the count, then raises the error.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import accounts, bonuses, referrals
from pos_loyalty.db import db
from pos_loyalty.errors import AccountNotFound, CardNotFound, Refusal, ValidationFailed
from pos_loyalty.models import Account, Program
from pos_loyalty.rules import check_new_pin
from pos_loyalty.security import Hasher
from pos_loyalty.throttles import TryPolicy

from pos_loyalty import app_sessions, one_time_codes, sms_countries



def phone_of(program: Program, raw: Any) -> str:
    """E.164, in a country the program texts (a code goes there by SMS)."""
    phone = accounts.parse_phone(raw, accounts.program_region(program))
    sms_countries.check_destination(program, phone)
    return phone


def request_registration_code(program: Program, phone_raw: Any, now: dt.datetime) -> None:
    """Send a code whether or not the phone is known, so the answer tells nothing."""
    phone = phone_of(program, phone_raw)
    account = accounts.account_by_phone(program, phone)
    one_time_codes.send_code(program, phone, "register", now, account)


def complete_registration(program: Program, phone_raw: Any, code: Any, pin: Any,
                          now: dt.datetime, hasher: Hasher,
                          referral_code: Any = None) -> app_sessions.TokenPair:
    """Check the code, then enrol the phone or attach to the account a till already made
    (signing up in the app pays the sign-up bonus if the phone never had it). A referral
    code given is attached, or refused with the whole registration (`referrals.attach`)."""
    phone = phone_of(program, phone_raw)
    pin = check_new_pin(pin)
    referrals.read_code(referral_code)   # a malformed one is refused before the code is used
    one_time_codes.check_code(program, phone, "register", code, now)
    account = accounts.account_by_phone(program, phone)
    if account is None:
        card = accounts.create_customer(program, phone, pin, now, hasher, channel="app",
                                        actor="mobile app")
        account = db.session.get(Account, card.account_id)
    else:
        # The code proves the phone: the PIN chosen now replaces the one given at the till.
        _set_pin(account, pin, hasher, now)
        _ensure_active_card(program, account, now)
        bonuses.grant_signup(program, account, now, "mobile app")
    referrals.attach(program, account, referral_code, now)
    return app_sessions.start_session(program, account, now)


def _ensure_active_card(program: Program, account: Account, now: dt.datetime) -> None:
    try:
        accounts.primary_card(account.id)
    except CardNotFound:
        accounts.issue_virtual_card(program, account, now)


def _set_pin(account: Account, pin: str, hasher: Hasher, now: dt.datetime,
             keep_session_id: int | None = None) -> None:
    """A new PIN ends every other session, and starts new counts of wrong PINs (`throttles`)."""
    account.pin_hash = hasher.hash_pin(pin)
    app_sessions.revoke_account_sessions(account.id, "pin_changed", now, keep_session_id)


def log_in(program: Program, phone_raw: Any, pin: Any, now: dt.datetime,
           policy: TryPolicy, hasher: Hasher, client_ip: str) -> app_sessions.TokenPair:
    """PIN login; wrong PINs count for the account (with the till's) and for this address.
    An unknown phone answers as a wrong PIN: the app must not tell which phones are enrolled."""
    account = accounts.check_pin(program, phone_raw, pin, now, policy, hasher,
                                 place=f"ip:{client_ip}")
    return app_sessions.start_session(program, account, now)


def request_pin_reset_code(program: Program, phone_raw: Any, now: dt.datetime) -> None:
    """Send a code only to an enrolled phone; the answer is the same either way."""
    phone = phone_of(program, phone_raw)
    account = accounts.account_by_phone(program, phone)
    if account is not None:
        one_time_codes.send_code(program, phone, "pin_reset", now, account)


def reset_pin(program: Program, phone_raw: Any, code: Any, pin: Any, now: dt.datetime,
              hasher: Hasher) -> app_sessions.TokenPair:
    phone = phone_of(program, phone_raw)
    pin = check_new_pin(pin)
    one_time_codes.check_code(program, phone, "pin_reset", code, now)
    account = accounts.account_by_phone(program, phone)
    if account is None:
        raise Refusal(AccountNotFound())   # the code stays used up
    _set_pin(account, pin, hasher, now)
    return app_sessions.start_session(program, account, now)


def change_pin(program: Program, caller: app_sessions.Caller, old_pin: Any, new_pin: Any,
               now: dt.datetime, policy: TryPolicy, hasher: Hasher) -> None:
    """Check the old PIN (counted like a till's check), set the new one, end other sessions."""
    new_pin = check_new_pin(new_pin, "new_pin")
    if not isinstance(old_pin, str) or not old_pin:
        raise ValidationFailed("old_pin is required.", field="old_pin")
    account = accounts.check_pin(program, caller.account.phone_e164, old_pin, now, policy,
                                 hasher)
    _set_pin(account, new_pin, hasher, now, keep_session_id=caller.session_id)
