"""Staff at the web till: log in (wrong passwords throttled), find the store's till, log out;
and the admin's side: a new password, deactivation (both end the login's sessions)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pos_loyalty import back_office_auth, metrics, programs, staff_auth
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.models.program import TILL_ROLES
from pos_loyalty.security import app_hasher
from pos_loyalty.throttles import app_try_policy


@dataclass(frozen=True)
class OpenedTill:
    """Who logged in, the web till they sell on and their session's token for the cookie
    (terminal and token None: they must choose a store first)."""
    staff_id: int
    terminal_id: int | None
    session_token: str | None


def open_web_till(username: Any, password: Any, chosen_store_id: int | None,
                  now: dt.datetime, client_ip: str) -> OpenedTill:
    """Check the password (throttled per login and per address), then open a session on the
    web till of the staff's store."""
    def work() -> OpenedTill:
        program = programs.default_program()
        staff = staff_auth.authenticate_staff(program, username, password, now,
                                              app_try_policy(), app_hasher(), client_ip)
        back_office_auth.check_role_for_till(staff)
        store = staff_auth.store_for_login(program, staff, chosen_store_id)
        if store is None:
            return OpenedTill(staff.id, None, None)
        terminal = staff_auth.web_till(program, store.id)
        return OpenedTill(staff.id, terminal.id, staff_auth.open_session(staff, now))
    with metrics.lockouts_counted("staff"):
        return run_in_transaction(work)


def log_out(session_token: str) -> None:
    """End this login session: the cookie, and any copy of it, stops working."""
    run_in_transaction(lambda: staff_auth.close_session(session_token))


def set_password(username: str, password: str) -> None:
    """A new password for a login; every session of that login ends."""
    run_in_transaction(lambda: staff_auth.set_password(
        staff_auth.find_staff(programs.default_program(), username), password, app_hasher()))


def set_active(username: str, active: bool) -> None:
    """Deactivate (ending every session) or reactivate a login."""
    run_in_transaction(lambda: staff_auth.set_active(
        staff_auth.find_staff(programs.default_program(), username), active))


def reset_two_factor(username: str, actor: str, now: dt.datetime) -> None:
    """Two-factor off for a login (its authenticator lost); every session of it ends."""
    def work() -> None:
        program = programs.default_program()
        staff = staff_auth.find_staff(program, username)
        back_office_auth.turn_off_two_factor(program, staff, actor, now)
        staff_auth.end_sessions(staff)
    run_in_transaction(work)


@dataclass(frozen=True)
class WebTill:
    """Who is at a web till, on which terminal, of which store and program."""
    staff: Staff
    terminal: Terminal
    store: Store
    program: Program


def web_till_of(staff_id: int, terminal_id: int | None,
                session_token: str | None) -> WebTill | None:
    """The logged-in till, re-read on every request so that a logout, a new password or a
    deactivated login stops at once; None when the session, the staff or the terminal is
    gone or switched off."""
    def read() -> WebTill | None:
        if not staff_auth.session_is_open(staff_id, session_token):
            return None
        staff = db.session.get(Staff, staff_id)
        terminal = db.session.get(Terminal, terminal_id) if terminal_id is not None else None
        if (staff is None or not staff.active or staff.role not in TILL_ROLES
                or terminal is None or not terminal.active):
            return None
        return WebTill(staff, terminal, db.session.get(Store, terminal.store_id),
                       db.session.get(Program, staff.program_id))
    return run_in_transaction(read)


def stores() -> list[Store]:
    """The program's stores, for a login screen that serves several."""
    return run_in_transaction(lambda: staff_auth.stores_of(programs.default_program()))
