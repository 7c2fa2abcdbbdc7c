"""Two-factor sign-in to the back office: TOTP (RFC 6238) codes from an authenticator app.

The secret is kept encrypted (Fernet) with a key derived from `[security] pin_key`, which
never lives in the database, so a database dump alone cannot mint codes. A code is accepted
for the current 30-second step or the one before (a slow typist), and each step at most once:
`Staff.totp_last_step` holds the last one used, so a code seen over a shoulder is spent.
"""
from __future__ import annotations

import base64
import datetime as dt
import io

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from pos_loyalty.models import Staff
from pos_loyalty.security import pin_key

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A fresh base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """The address as an inline SVG QR code (no image file, no external service)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def code_at(secret: str, moment: dt.datetime) -> str:
    """The code an authenticator shows at naive-UTC `moment` (tests compute codes with it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(_timestamp(moment))


def accepted_step(secret: str, code: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to (now or the step before), unless that step was already
    used; None when the code is wrong or spent."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step_now = _timestamp(now) // STEP_SECONDS
    for step in (step_now, step_now - 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_of(staff: Staff) -> str | None:
    """The staff member's TOTP secret in clear, None when two-factor is not on (or the key
    changed, which the admin sees as "set up two-factor again")."""
    return decrypt_secret(staff.totp_secret or "")


def decrypt_secret(encrypted: str) -> str | None:
    if not encrypted:
        return None
    try:
        return _fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return None


def _fernet() -> Fernet:
    settings = current_app.config["LOYALTY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"pos-loyalty totp secret").derive(
        pin_key(settings, current_app.config["SECRET_KEY"]))
    return Fernet(base64.urlsafe_b64encode(key))


def _timestamp(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp())
