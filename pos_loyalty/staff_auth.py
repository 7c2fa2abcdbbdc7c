"""Staff logins for the cashier terminal: password check with lockout, and the store's web till.

The wrong-password counter lives in the staff row, so every app server agrees on it; the lockout
policy is the one [security] sets for PINs (pin_max_attempts, pin_lockout_minutes).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.db import db
from pos_loyalty.errors import LoyaltyError, NotFound
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.security import LockoutPolicy, record_failed_attempt, verify_secret

# The terminal that sales made in the browser are recorded on: one per store, made on first use.
WEB_TILL_NAME = "Web till (cashier UI)"


class InvalidLogin(LoyaltyError):
    """Wrong username or password (the message never says which)."""
    code = "invalid_login"
    status = 401
    message = "Wrong username or password."


class StaffLocked(LoyaltyError):
    """Too many wrong passwords in a row."""
    code = "staff_locked"
    status = 423
    message = "Too many wrong passwords: this login is locked for a while."


@dataclass(frozen=True)
class StaffLogin:
    """The outcome of a login; the caller commits the counter, then shows the error if any."""
    staff: Staff | None
    error: LoyaltyError | None


def authenticate_staff(program: Program, username: Any, password: Any, now: dt.datetime,
                       policy: LockoutPolicy, hasher: Any) -> StaffLogin:
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip():
        return StaffLogin(None, InvalidLogin())
    staff = db.session.scalar(select(Staff).where(Staff.program_id == program.id,
                                                  Staff.username == username.strip()))
    if staff is None or not staff.active:
        return StaffLogin(None, InvalidLogin())
    if staff.locked_until and staff.locked_until > now:
        return StaffLogin(None, StaffLocked(locked_until=staff.locked_until.isoformat()))
    if verify_secret(hasher, staff.password_hash, password):
        staff.failed_logins, staff.locked_until = 0, None
        db.session.flush()
        return StaffLogin(staff, None)
    return StaffLogin(None, _count_failure(staff, now, policy))


def _count_failure(staff: Staff, now: dt.datetime, policy: LockoutPolicy) -> LoyaltyError:
    left = record_failed_attempt(Staff, staff.id, Staff.failed_logins, now, policy)
    return InvalidLogin(attempts_left=left) if left else StaffLocked()


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
