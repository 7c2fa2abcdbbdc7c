"""Staff at the web till: log in (wrong passwords counted) and find the store's till."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pos_loyalty import programs, staff_auth
from pos_loyalty.db import run_in_transaction
from pos_loyalty.models import Store
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
    return run_in_transaction(work)


def stores() -> list[Store]:
    """The program's stores, for a login screen that serves several."""
    return run_in_transaction(lambda: staff_auth.stores_of(programs.default_program()))
