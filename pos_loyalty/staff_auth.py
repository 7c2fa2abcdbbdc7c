"""Staff logins for the cashier terminal: password check with lockout, and the store's web till.

The wrong-password counter lives in the staff row, so every app server agrees on it; the lockout
policy is the one [security] sets for PINs (pin_max_attempts, pin_lockout_minutes).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.db import db
from pos_loyalty.errors import InvalidLogin, NotFound, Refusal, StaffLocked
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.security import LockoutPolicy, record_failed_attempt, verify_secret

# The terminal that sales made in the browser are recorded on: one per store, made on first use.
WEB_TILL_NAME = "Web till (cashier UI)"


def authenticate_staff(program: Program, username: Any, password: Any, now: dt.datetime,
                       policy: LockoutPolicy, hasher: Any) -> Staff:
    """The staff member; a wrong password is counted (`Refusal`) and too many lock the login."""
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
        raise InvalidLogin()
    staff = db.session.scalar(select(Staff).where(Staff.program_id == program.id,
                                                  Staff.username == username.strip()))
    if staff is None or not staff.active:
        raise InvalidLogin()
    if staff.locked_until and staff.locked_until > now:
        raise StaffLocked(locked_until=staff.locked_until.isoformat())
    if verify_secret(hasher, staff.password_hash, password):
        staff.failed_logins, staff.locked_until = 0, None
        db.session.flush()
        return staff
    left = record_failed_attempt(Staff, staff.id, Staff.failed_logins, now, policy)
    raise Refusal(InvalidLogin(attempts_left=left) if left else StaffLocked())


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
