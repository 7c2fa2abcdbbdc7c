"""Staff at the web till: log in (wrong passwords counted) and find the store's till."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pos_loyalty import metrics, programs, staff_auth
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.security import app_hasher, app_lockout_policy


@dataclass(frozen=True)
class OpenedTill:
    """Who logged in, and the web till they sell on (None: they must choose a store)."""
    staff_id: int
    terminal_id: int | None


def open_web_till(username: Any, password: Any, chosen_store_id: int | None,
                  now: dt.datetime) -> OpenedTill:
    """Check the password, then find the web till of the staff's store."""
    def work() -> OpenedTill:
        program = programs.default_program()
        staff = staff_auth.authenticate_staff(program, username, password, now,
                                              app_lockout_policy(), app_hasher())
        store = staff_auth.store_for_login(program, staff, chosen_store_id)
        if store is None:
            return OpenedTill(staff.id, None)
        return OpenedTill(staff.id, staff_auth.web_till(program, store.id).id)
    with metrics.lockouts_counted("staff"):
        return run_in_transaction(work)


@dataclass(frozen=True)
class WebTill:
    """Who is at a web till, on which terminal, of which store and program."""
    staff: Staff
    terminal: Terminal
    store: Store
    program: Program


def web_till_of(staff_id: int, terminal_id: int | None) -> WebTill | None:
    """The logged-in till, re-read on every request so a deactivated login stops at once;
    None when the staff or the terminal is gone or switched off."""
    def read() -> WebTill | None:
        staff = db.session.get(Staff, staff_id)
        terminal = db.session.get(Terminal, terminal_id) if terminal_id is not None else None
        if staff is None or not staff.active or terminal is None or not terminal.active:
            return None
        return WebTill(staff, terminal, db.session.get(Store, terminal.store_id),
                       db.session.get(Program, staff.program_id))
    return run_in_transaction(read)


def stores() -> list[Store]:
    """The program's stores, for a login screen that serves several."""
    return run_in_transaction(lambda: staff_auth.stores_of(programs.default_program()))
