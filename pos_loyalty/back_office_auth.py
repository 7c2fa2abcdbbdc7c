"""Signing in to the back office: the password (as at the till), the role, and the TOTP code.

A right password for a till-only role is refused here (and a back-office-only role at the
till). Wrong codes are throttled like wrong passwords, per login and per address. An admin
in production must use two-factor: an admin without it signs in only to set it up.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app

from pos_loyalty import audit, throttles, totp
from pos_loyalty.errors import InvalidSecondFactor, LoginNotForHere, ValidationFailed
from pos_loyalty.models import Program, Staff
from pos_loyalty.models.program import BACK_OFFICE_ROLES, TILL_ROLES
from pos_loyalty.throttles import TryPolicy


def check_role_for_back_office(staff: Staff) -> None:
    if staff.role not in BACK_OFFICE_ROLES:
        raise LoginNotForHere("This login is for the till: the back office is for admin, "
                              "marketing, support and finance logins.")


def check_role_for_till(staff: Staff) -> None:
    if staff.role not in TILL_ROLES:
        raise LoginNotForHere("This login is for the back office (/admin), not the till.")


def two_factor_required(staff: Staff) -> bool:
    """Admins must use two-factor in production, or wherever the setting asks it."""
    if staff.role != "admin":
        return False
    settings = current_app.config["LOYALTY"]
    return (settings["service"]["env"] == "production"
            or bool(settings["back_office"]["require_totp_for_admins"]))


def check_code(staff: Staff, code: str, now: dt.datetime, policy: TryPolicy,
               client_ip: str) -> None:
    """Accept the staff member's current TOTP code once, else count a wrong try."""
    subject, place = f"staff:{staff.id}", f"ip:{client_ip}"
    throttles.refuse_if_throttled(policy, "totp", subject, place)
    secret = totp.secret_of(staff)
    step = totp.accepted_step(secret, code, now, staff.totp_last_step) if secret else None
    if step is None:
        throttles.count_wrong_try(policy, "totp", subject, place)
        raise InvalidSecondFactor()
    throttles.forget_wrong_tries(policy, "totp", subject, place)
    staff.totp_last_step = step


def turn_on_two_factor(program: Program, staff: Staff, encrypted_secret: str, code: str,
                       now: dt.datetime) -> None:
    """Keep the secret the authenticator app was given, once it has shown a right code."""
    staff.totp_secret = encrypted_secret
    secret = totp.secret_of(staff)
    step = totp.accepted_step(secret, code, now, None) if secret else None
    if step is None:
        raise ValidationFailed("The code does not match: scan the QR code again and type the "
                               "code the app shows now.", field="code")
    staff.totp_last_step = step
    audit.record(program, f"staff:{staff.username}", "two_factor_on", f"staff:{staff.id}", now)


def turn_off_two_factor(program: Program, staff: Staff, actor: str, now: dt.datetime) -> None:
    """An admin resets a lost authenticator: the login sets two-factor up again."""
    before = {"two_factor": staff.totp_secret is not None}
    staff.totp_secret, staff.totp_last_step = None, None
    audit.record(program, actor, "two_factor_off", f"staff:{staff.id}", now, before=before,
                 after={"two_factor": False})
