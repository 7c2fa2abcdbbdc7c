"""The phone's live code: six digits after the card number that change every 30 seconds.

RFC 6238 (TOTP): HMAC-SHA1 over the number of steps since 1970, truncated to six digits, keyed
with a secret of the account's own that stays on the server (`account.live_code_secret`, in hex,
made the first time the phone shows its card). The server computes the code and the phone shows it
as a barcode (`<card number>-<code>`), so a screenshot stops working within a step or two.

A till sends back what it scanned. The code of this step counts, and so do the codes of the
`previous_steps` before it (a slow scan, a phone that fetched its code just before the change,
app servers whose clocks are a little apart). A code a few minutes old is "expired": the phone
did not refresh. Any other code is "invalid" and counted against the account
(`[security] live_code_wrong_limit`); past the limit every code of the account is refused for a
while ("locked"), so that six digits cannot be found by trying them all. A code may be used
again within its step: a retried sale sends the same one.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from pos_loyalty import rate_limits
from pos_loyalty.cards import LIVE_CODE_DIGITS
from pos_loyalty.db import db
from pos_loyalty.models import Account

SECRET_BYTES = 20           # 160 bits: RFC 4226's length for HMAC-SHA1
# Codes this many steps old or less, past the accepted ones, are "expired" rather than wrong.
RECENT_STEPS = 10


@dataclass(frozen=True)
class LiveCodeSettings:
    step_seconds: int
    previous_steps: int
    wrong_limit: str

    @classmethod
    def from_settings(cls, security: dict[str, Any]) -> LiveCodeSettings:
        return cls(int(security["live_code_step_seconds"]),
                   int(security["live_code_previous_steps"]),
                   str(security["live_code_wrong_limit"]))


def app_settings() -> LiveCodeSettings:
    from flask import current_app
    return LiveCodeSettings.from_settings(current_app.config["LOYALTY"]["security"])


@dataclass(frozen=True)
class LiveCode:
    code: str
    expires_at: dt.datetime   # when the next step begins and the phone should show the next code


def step_at(now: dt.datetime, step_seconds: int) -> int:
    """The RFC 6238 time step of naive-UTC `now` (T0 = 0)."""
    return calendar.timegm(now.utctimetuple()) // step_seconds


def code_at(secret: bytes, step: int, digits: int = LIVE_CODE_DIGITS) -> str:
    """HOTP (RFC 4226) of the step: HMAC-SHA1, dynamic truncation, the last `digits` digits."""
    mac = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def current(secret: bytes, now: dt.datetime, settings: LiveCodeSettings) -> LiveCode:
    """The code to show now, and when it changes."""
    step = step_at(now, settings.step_seconds)
    ends = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=(step + 1) * settings.step_seconds)
    return LiveCode(code_at(secret, step), ends)


def verdict(secret: bytes | None, code: str, now: dt.datetime,
            settings: LiveCodeSettings) -> str:
    """"valid" (this step's or an accepted earlier one), "expired" (a few minutes old) or
    "invalid" (anything else, and any code of an account that never showed its card)."""
    if secret is None:
        return "invalid"
    step = step_at(now, settings.step_seconds)
    for age in range(settings.previous_steps + 1 + RECENT_STEPS):
        if hmac.compare_digest(code_at(secret, step - age).encode(), code.encode()):
            return "valid" if age <= settings.previous_steps else "expired"
    return "invalid"


def check(account_id: int, stored_secret: str | None, code: str, now: dt.datetime,
          settings: LiveCodeSettings) -> str:
    """The verdict on a code a till read, against the account's secret as stored (hex), with
    invalid ones counted per account: "locked" once the account had too many of late
    (`rate_limits`, shared by every app server)."""
    key = ("live-code", str(account_id))
    if rate_limits.spent(settings.wrong_limit, *key):
        return "locked"
    secret = bytes.fromhex(stored_secret) if stored_secret else None
    found = verdict(secret, code, now, settings)
    if found == "invalid":
        rate_limits.hit(settings.wrong_limit, *key)
    return found


def secret_of(account: Account) -> bytes:
    """The account's secret, made the first time it is needed; of two made at the same moment,
    the first written is kept (the second UPDATE finds the column set)."""
    if account.live_code_secret is None:
        db.session.execute(update(Account)
                           .where(Account.id == account.id, Account.live_code_secret.is_(None))
                           .values(live_code_secret=secrets.token_hex(SECRET_BYTES)))
        db.session.refresh(account, ["live_code_secret"])
    return bytes.fromhex(account.live_code_secret)
