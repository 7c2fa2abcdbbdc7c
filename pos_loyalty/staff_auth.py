"""Staff logins for the cashier terminal: the password check, the login's session, the web till.

Wrong passwords are throttled like wrong PINs (`throttles`: per login and address, per login,
per address), never locked: nobody can lock an admin out by typing their name. An unknown or
inactive login is checked against a dummy hash and answered like a wrong password, so neither
the answer nor its time tells which logins exist. A login is a `StaffSession` row that the
signed cookie names: logging out, a new password or deactivation deletes it.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import delete, select

from pos_loyalty import programs, throttles
from pos_loyalty.db import db
from pos_loyalty.errors import InvalidLogin, NotFound, ValidationFailed
from pos_loyalty.models import Program, Staff, StaffSession, Store, Terminal
from pos_loyalty.security import Hasher, hash_api_key
from pos_loyalty.throttles import TryPolicy

# The terminal that sales made in the browser are recorded on: one per store, made on first use.
WEB_TILL_NAME = "Web till (cashier UI)"


def authenticate_staff(program: Program, username: Any, password: Any, now: dt.datetime,
                       policy: TryPolicy, hasher: Hasher, client_ip: str) -> Staff:
    """The active staff member whose login this is, else InvalidLogin (or TooManyTries)."""
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
        raise InvalidLogin()
    name = username.strip()
    staff = db.session.scalar(select(Staff).where(Staff.program_id == program.id,
                                                  Staff.username == name))
    known = staff is not None and staff.active
    subject = f"staff:{staff.id}:{staff.password_hash[-12:]}" if known else f"name:{name}"
    place = f"ip:{client_ip}"
    throttles.refuse_if_throttled(policy, "login", subject, place)
    if not hasher.check_password(staff.password_hash if known else None, password) or not known:
        throttles.count_wrong_try(policy, "login", subject, place)
        raise InvalidLogin()
    throttles.forget_wrong_tries(policy, "login", subject, place)
    return staff


def open_session(staff: Staff, now: dt.datetime) -> str:
    """A new login session; its token goes in the signed cookie, only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(staff_id=staff.id, token_hash=hash_api_key(token),
                                created_at=now))
    db.session.flush()
    return token


def session_is_open(staff_id: int, token: str | None) -> bool:
    if not token:
        return False
    return db.session.scalar(select(StaffSession.id).where(
        StaffSession.staff_id == staff_id,
        StaffSession.token_hash == hash_api_key(token))) is not None


def close_session(token: str) -> None:
    db.session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_api_key(token)))


def end_sessions(staff: Staff) -> None:
    """Every login of this staff member ends (a copied cookie included)."""
    db.session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))


def find_staff(program: Program, username: str) -> Staff:
    staff = db.session.scalar(select(Staff).where(Staff.program_id == program.id,
                                                  Staff.username == username))
    if staff is None:
        raise NotFound(f"No staff login {username!r}.")
    return staff


def set_password(staff: Staff, password: str, hasher: Hasher) -> None:
    """A new password ends every session of the login."""
    if len(password) < 8:
        raise ValidationFailed("A password needs at least 8 characters.", field="password")
    staff.password_hash = hasher.hash_password(password)
    end_sessions(staff)


def set_active(staff: Staff, active: bool) -> None:
    """Deactivating a login ends its sessions; its history stays."""
    staff.active = active
    if not active:
        end_sessions(staff)


def stores_of(program: Program) -> list[Store]:
    return list(db.session.scalars(select(Store).where(Store.program_id == program.id)
                                   .order_by(Store.id)))


def store_for_login(program: Program, staff: Staff, chosen_store_id: int | None) -> Store | None:
    """The staff's home store; for staff without one, the chosen store, or the only store."""
    if staff.store_id is not None:
        return programs.get_store(program, staff.store_id)
    if chosen_store_id is not None:
        return programs.get_store(program, chosen_store_id)
    stores = stores_of(program)
    if not stores:
        raise NotFound("No store exists yet: an admin creates one with `pos-loyalty stores "
                       "create`.")
    return stores[0] if len(stores) == 1 else None


def web_till(program: Program, store_id: int) -> Terminal:
    """The store's browser till, made on first use (its API key is never shown: unused)."""
    terminal = db.session.scalar(select(Terminal).where(
        Terminal.program_id == program.id, Terminal.store_id == store_id,
        Terminal.name == WEB_TILL_NAME, Terminal.active.is_(True)).order_by(Terminal.id).limit(1))
    if terminal is not None:
        return terminal
    terminal, _key = programs.create_terminal(program, store_id, WEB_TILL_NAME)
    return terminal
