"""The back office's logins: password, then the TOTP code, then a session; two-factor set-up.

The steps between the password and the code are carried by the face (a signed cookie that
names the staff member for a few minutes); no session exists until both are right.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pos_loyalty import back_office_auth, metrics, programs, staff_auth, totp
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import InvalidLogin
from pos_loyalty.models import Program, Staff
from pos_loyalty.models.program import BACK_OFFICE_ROLES
from pos_loyalty.security import app_hasher
from pos_loyalty.throttles import app_try_policy


@dataclass(frozen=True)
class SignIn:
    """After a right password: a session (token), or the code still to check (token None).
    `must_set_up_two_factor`: an admin who must turn two-factor on before anything else."""
    staff_id: int
    session_token: str | None
    must_set_up_two_factor: bool


def sign_in(username: Any, password: Any, now: dt.datetime, client_ip: str) -> SignIn:
    def work() -> SignIn:
        program = programs.default_program()
        staff = staff_auth.authenticate_staff(program, username, password, now,
                                              app_try_policy(), app_hasher(), client_ip)
        back_office_auth.check_role_for_back_office(staff)
        if staff.totp_secret:
            return SignIn(staff.id, None, False)
        return SignIn(staff.id, staff_auth.open_session(staff, now),
                      back_office_auth.two_factor_required(staff))
    with metrics.lockouts_counted("staff"):
        return run_in_transaction(work)


def confirm_code(staff_id: int, code: Any, now: dt.datetime, client_ip: str) -> str:
    """The second step: a right code opens the session (its token for the cookie)."""
    def work() -> str:
        staff = _active_back_office_staff(staff_id)
        back_office_auth.check_code(staff, str(code or ""), now, app_try_policy(), client_ip)
        return staff_auth.open_session(staff, now)
    return run_in_transaction(work)


@dataclass(frozen=True)
class BackOfficeUser:
    staff: Staff
    program: Program


def user_of(staff_id: int, session_token: str | None) -> BackOfficeUser | None:
    """The signed-in user, re-read on every request: None once the session, the login or its
    back office role is gone."""
    def read() -> BackOfficeUser | None:
        if not staff_auth.session_is_open(staff_id, session_token):
            return None
        staff = db.session.get(Staff, staff_id)
        if staff is None or not staff.active or staff.role not in BACK_OFFICE_ROLES:
            return None
        return BackOfficeUser(staff, db.session.get(Program, staff.program_id))
    return run_in_transaction(read)


def sign_out(session_token: str) -> None:
    run_in_transaction(lambda: staff_auth.close_session(session_token))


@dataclass(frozen=True)
class TwoFactorSetUp:
    """What the set-up page shows: the QR code, the secret typed by hand, and the secret
    encrypted for the form to send back with the first code."""
    qr_svg: str
    secret: str
    encrypted_secret: str


def start_two_factor(staff: Staff, program: Program,
                     encrypted_secret: str = "") -> TwoFactorSetUp:
    """A new secret to scan, or the one being set up (a mistyped first code keeps it)."""
    secret = totp.decrypt_secret(encrypted_secret) or totp.new_secret()
    uri = totp.provisioning_uri(secret, staff.username, f"{program.name} (pos-loyalty)")
    return TwoFactorSetUp(totp.qr_code_svg(uri), secret, totp.encrypt_secret(secret))


def finish_two_factor(staff_id: int, encrypted_secret: str, code: Any,
                      now: dt.datetime) -> None:
    def work() -> None:
        staff = _active_back_office_staff(staff_id)
        back_office_auth.turn_on_two_factor(db.session.get(Program, staff.program_id), staff,
                                            encrypted_secret, str(code or ""), now)
    run_in_transaction(work)


def _active_back_office_staff(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.role not in BACK_OFFICE_ROLES:
        raise InvalidLogin()
    return staff
