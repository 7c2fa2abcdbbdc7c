"""What a customer does in the brand's phone app: register, log in, see and manage their card.

Each function is one transaction. Wrong PINs and codes are counted, and a reused refresh token
closes its session, before the refusal is answered (`errors.Refusal`). The balance is the one
every face shows (`balances`).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pos_loyalty import (
    app_keys, app_sessions, brand, cards, customer_data, devices, enrolment, live_codes, metrics,
    rate_limits, referrals,
)
from pos_loyalty.app_sessions import Caller, TokenPair
from pos_loyalty.db import run_in_transaction
from pos_loyalty.live_codes import LiveCode
from pos_loyalty.models import Card, Program
from pos_loyalty.programs import settings
from pos_loyalty.security import app_hasher
from pos_loyalty.throttles import app_try_policy


# --- the app and the caller -------------------------------------------------------------------

def program_of_app_key(key: str) -> Program | None:
    """The brand whose app sent this X-App-Key, or None."""
    return run_in_transaction(lambda: app_keys.program_for_app_key(key))


def caller_of(program: Program, authorization: str, now: dt.datetime) -> Caller:
    """The customer an access token speaks for, while its session is open."""
    return run_in_transaction(lambda: app_sessions.authenticate(program, authorization, now))


# --- public: the brand ------------------------------------------------------------------------

def branding(program: Program) -> dict[str, Any]:
    return brand.branding(program)


def promotions(program: Program, now: dt.datetime) -> list[dict[str, Any]]:
    return run_in_transaction(lambda: brand.current_promotions(program, now))


def stores(program: Program, lat: float | None, lng: float | None) -> list[dict[str, Any]]:
    """The program's stores, nearest first when the phone says where it is."""
    return run_in_transaction(lambda: brand.stores_near(program, lat, lng))


# --- registration and login -------------------------------------------------------------------

def request_registration_code(program: Program, phone: Any, now: dt.datetime) -> None:
    """Text a code, whether or not the phone is known (the answer tells nothing)."""
    run_in_transaction(lambda: enrolment.request_registration_code(program, phone, now))


def complete_registration(program: Program, phone: Any, code: Any, pin: Any,
                          now: dt.datetime, referral_code: Any = None) -> TokenPair:
    """The code proves the phone: enrol it (or join the account a till made) and log in; with
    the referral code a friend gave, or refused whole (422) when that code cannot be taken."""
    return run_in_transaction(lambda: enrolment.complete_registration(
        program, phone, code, pin, now, app_hasher(), referral_code))


def log_in(program: Program, phone: Any, pin: Any, now: dt.datetime,
           client_ip: str) -> TokenPair:
    """PIN login; wrong PINs count for the account (the till's count too) and the address."""
    with metrics.lockouts_counted("customer"):
        return run_in_transaction(lambda: enrolment.log_in(
            program, phone, pin, now, app_try_policy(), app_hasher(), client_ip))


def refresh(program: Program, refresh_token: str, now: dt.datetime) -> TokenPair:
    """The next pair of tokens; a reused refresh token ends its session."""
    return run_in_transaction(lambda: app_sessions.refresh(program, refresh_token, now))


def log_out(caller: Caller, now: dt.datetime) -> None:
    run_in_transaction(lambda: app_sessions.revoke_session(caller.session_id, "logout", now))


def request_pin_reset_code(program: Program, phone: Any, now: dt.datetime) -> None:
    """Text a code to an enrolled phone; the answer is the same either way."""
    run_in_transaction(lambda: enrolment.request_pin_reset_code(program, phone, now))


def reset_pin(program: Program, phone: Any, code: Any, pin: Any,
              now: dt.datetime) -> TokenPair:
    """Set a new PIN with a texted code, end the other sessions, log in."""
    return run_in_transaction(lambda: enrolment.reset_pin(
        program, phone, code, pin, now, app_hasher()))


def change_pin(program: Program, caller: Caller, old_pin: Any, new_pin: Any,
               now: dt.datetime) -> None:
    """Check the old PIN (counted like the till's check), set the new one."""
    with metrics.lockouts_counted("customer"):
        run_in_transaction(lambda: enrolment.change_pin(
            program, caller, old_pin, new_pin, now, app_try_policy(), app_hasher()))


# --- the customer's own data ------------------------------------------------------------------

def profile(program: Program, caller: Caller) -> dict[str, Any]:
    return run_in_transaction(lambda: customer_data.profile_view(program, caller.account))


def update_profile(program: Program, caller: Caller, changes: dict[str, Any],
                   now: dt.datetime) -> dict[str, Any]:
    return run_in_transaction(lambda: customer_data.update_profile(
        program, caller.account, changes, now))


def erase(program: Program, caller: Caller, now: dt.datetime) -> None:
    """Erase the person, keep the books (the right to erasure)."""
    run_in_transaction(lambda: customer_data.erase(program, caller.account, now))


def export(program: Program, caller: Caller, now: dt.datetime) -> dict[str, Any]:
    """Everything kept about the customer (the right of access)."""
    return run_in_transaction(lambda: customer_data.export(program, caller.account, now))


@dataclass(frozen=True)
class ShownCard:
    """The card the phone shows at the till, with the live code of this moment: the barcode
    and the QR code carry `scan_value`, `<card number>-<live code>`."""
    card: Card
    live_code: LiveCode
    refresh_in_seconds: int

    @property
    def scan_value(self) -> str:
        return cards.join_live_code(self.card.number, self.live_code.code)

    def to_json(self) -> dict[str, Any]:
        return {"card_number": self.card.number, "symbology": self.card.symbology,
                "status": self.card.status, "live_code": self.live_code.code,
                "scan_value": self.scan_value,
                "live_code_expires_at": customer_data.iso(self.live_code.expires_at),
                "refresh_in_seconds": self.refresh_in_seconds}


def my_card(caller: Caller, now: dt.datetime) -> ShownCard:
    """The card to show at the till (the newest active one) and its live code now; the
    account's live-code secret is made the first time the phone asks."""
    def work() -> ShownCard:
        card = customer_data.card_of(caller.account)
        live = live_codes.current(live_codes.secret_of(caller.account), now,
                                  live_codes.app_settings())
        return ShownCard(card, live, max(1, math.ceil((live.expires_at - now).total_seconds())))
    return run_in_transaction(work)


def link_card(program: Program, caller: Caller, card_number: Any,
              now: dt.datetime) -> tuple[Card, bool]:
    """Link a blank plastic card; True when it was linked now (not already the customer's).

    Every try counts against [mobile] card_link_rate_limit, found or not: stock card numbers
    are guessed one try at a time.
    """
    rate_limits.count_or_refuse(settings()["mobile"]["card_link_rate_limit"], "card-links",
                                str(caller.account.id))
    return run_in_transaction(lambda: customer_data.link_plastic_card(
        program, caller.account, card_number, now))


def balance(program: Program, caller: Caller, now: dt.datetime) -> dict[str, Any]:
    return run_in_transaction(lambda: customer_data.balance(program, caller.account, now))


def history(caller: Caller, limit: int, before_id: int | None) -> dict[str, Any]:
    return run_in_transaction(lambda: customer_data.history(caller.account, limit, before_id))


def referral(program: Program, caller: Caller, now: dt.datetime) -> dict[str, Any]:
    """The customer's referral code (made the first time they ask), the text to share in
    their language, what each side gets, and this month's rewarded referrals and limit."""
    return run_in_transaction(lambda: referrals.summary(program, caller.account, now))


# --- pushes -----------------------------------------------------------------------------------

def register_device(program: Program, caller: Caller, platform: Any, token: Any,
                    app_version: Any, now: dt.datetime) -> tuple[dict[str, Any], bool]:
    """This phone takes the customer's pushes from now on (until logout); True when new."""
    def work() -> tuple[dict[str, Any], bool]:
        device, created = devices.register_device(program, caller.account, caller.session_id,
                                                  platform, token, app_version, now)
        return devices.device_view(device), created
    return run_in_transaction(work)


def list_devices(caller: Caller) -> list[dict[str, Any]]:
    return run_in_transaction(lambda: [devices.device_view(device) for device in
                                       devices.devices_of(caller.account.id)])


def remove_device(caller: Caller, device_id: int) -> None:
    run_in_transaction(lambda: devices.remove_device(caller.account, device_id))
