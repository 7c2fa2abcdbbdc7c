"""One-time codes that prove a phone number: sent through the SMS outbox, kept only as an HMAC."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from pos_loyalty import notify, rate_limits
from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Account, OneTimeCode, Program
from pos_loyalty.notify.texts import render, sms_config

from pos_loyalty.errors import CodeExpired, InvalidCode, Refusal, TooManyAttempts, TooManyCodes

CODE_DIGITS = 6
# An urgent kind in [sms] urgent_kinds: sent at once, even in quiet hours.
OTP_KIND = "otp"


def _settings() -> dict[str, Any]:
    return current_app.config["LOYALTY"]["mobile"]


def _code_hash(program_id: int, phone: str, purpose: str, code: str) -> str:
    """Keyed with the app secret: a leaked table does not let anyone try the million codes."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = f"{program_id}|{phone}|{purpose}|{code}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def send_code(program: Program, phone: str, purpose: str, now: dt.datetime,
              account: Account | None = None) -> None:
    """A new code for `phone` (earlier ones stop working) and its SMS in the outbox."""
    sent_last_hour = db.session.scalar(
        select(func.count()).select_from(OneTimeCode)
        .where(OneTimeCode.program_id == program.id, OneTimeCode.phone_e164 == phone,
               OneTimeCode.created_at > now - dt.timedelta(hours=1)))
    if sent_last_hour >= int(_settings()["otp_max_per_phone_per_hour"]):
        raise TooManyCodes()
    _count_program_code(program)
    db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.program_id == program.id, OneTimeCode.phone_e164 == phone,
               OneTimeCode.purpose == purpose, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = int(_settings()["otp_minutes"])
    db.session.add(OneTimeCode(
        program_id=program.id, phone_e164=phone, purpose=purpose,
        code_hash=_code_hash(program.id, phone, purpose, code), attempts=0,
        expires_at=now + dt.timedelta(minutes=minutes), created_at=now))
    text = render(program, account, OTP_KIND, sms_config(program), code=code, minutes=str(minutes))
    notify.queue_message(program, account.id if account else None, OTP_KIND, phone, text, now)


def _count_program_code(program: Program) -> None:
    """The program's hourly cap on code SMS, counted where every app server sees it: many
    phones from many addresses (SMS pumping) meet here."""
    per_hour = int(_settings()["otp_max_per_program_per_hour"])
    if per_hour > 0 and not rate_limits.hit(f"{per_hour} per hour", "otp-program",
                                            str(program.id)):
        raise TooManyCodes("Too many codes were sent by this program in the last hour; try "
                           "again later.", scope="program")


def check_code(program: Program, phone: str, purpose: str, code: Any,
               now: dt.datetime) -> None:
    """Use up `code` if it is the phone's current one; otherwise refuse.

    The attempt is counted first, with one conditional UPDATE, so parallel guesses cannot go
    past the limit; a wrong code is a `Refusal`, so the count is kept.
    """
    if not isinstance(code, str) or len(code) != CODE_DIGITS or not code.isdigit():
        raise ValidationFailed(f"The code is {CODE_DIGITS} digits.", field="code")
    current = db.session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.program_id == program.id, OneTimeCode.phone_e164 == phone,
               OneTimeCode.purpose == purpose, OneTimeCode.consumed_at.is_(None))
        .order_by(OneTimeCode.id.desc()).limit(1))
    if current is None or current.expires_at <= now:
        raise CodeExpired()
    max_attempts = int(_settings()["otp_max_attempts"])
    attempts = db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == current.id, OneTimeCode.attempts < max_attempts)
        .values(attempts=OneTimeCode.attempts + 1)
        .returning(OneTimeCode.attempts)).scalar()
    if attempts is None:
        raise TooManyAttempts()
    expected = _code_hash(program.id, phone, purpose, code)
    if not hmac.compare_digest(expected, current.code_hash):
        raise Refusal(InvalidCode(attempts_left=max_attempts - attempts))
    used = db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == current.id, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)).rowcount
    if not used:
        raise CodeExpired()


def forget_phone(program: Program, phone: str) -> None:
    """Delete every code sent to `phone` (the customer erased their data)."""
    db.session.execute(OneTimeCode.__table__.delete().where(
        OneTimeCode.program_id == program.id, OneTimeCode.phone_e164 == phone))
