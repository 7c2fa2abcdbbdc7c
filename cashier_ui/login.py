"""Logging in and out of the till, and switching its language."""
from __future__ import annotations

import secrets
import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for

from cashier_ui.blueprint import bp, end_session
from cashier_ui.i18n import LANGUAGES
from cashier_ui.i18n import gettext as _
from cashier_ui.messages import error_sentence
from pos_loyalty import programs, staff_auth
from pos_loyalty.clock import now
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.security import app_hasher, app_lockout_policy


@bp.get("/login")
def login() -> Any:
    if session.get("staff_id") is not None:
        return redirect(url_for("cashier.index"))
    return _login_page()


def _login_page(error: str = "", status: int = 200, username: str = "") -> tuple[str, int]:
    stores = run_in_transaction(lambda: staff_auth.stores_of(programs.default_program()))
    return render_template("cashier/login.html", error=error, username=username,
                           stores=stores if len(stores) > 1 else [],
                           chosen_store=session.get("store_choice")), status


@bp.post("/login")
def login_submit() -> Any:
    username = request.form.get("username", "").strip()
    chosen = request.form.get("store_id", type=int)
    try:
        staff_id, terminal_id, refused = run_in_transaction(lambda: _open_till(username, chosen))
    except LoyaltyError as error:
        refused = error
    if refused is not None:
        return _login_page(error_sentence(refused), refused.status, username)
    if terminal_id is None:
        return _login_page(_("Choose the store of this till."), 422, username)
    end_session()
    session.update(staff_id=staff_id, terminal_id=terminal_id, seen=int(time.time()),
                   csrf=secrets.token_urlsafe(32))
    if chosen is not None:
        session["store_choice"] = chosen
    return redirect(url_for("cashier.index"))


def _open_till(username: str, chosen_store: int | None
               ) -> tuple[int | None, int | None, LoyaltyError | None]:
    """Check the password and find the store's web till; a refusal is returned, not raised,
    so that the wrong-password counter is committed."""
    program = programs.default_program()
    check = staff_auth.authenticate_staff(program, username, request.form.get("password", ""),
                                          now(), app_lockout_policy(), app_hasher())
    if check.staff is None:
        return None, None, check.error
    store = staff_auth.store_for_login(program, check.staff, chosen_store)
    if store is None:
        return check.staff.id, None, None
    return check.staff.id, staff_auth.web_till(program, store.id).id, None


@bp.post("/logout")
def logout() -> Any:
    reason = request.form.get("reason")
    end_session()
    if reason == "idle":
        flash(_("The screen was locked after inactivity: log in again."), "info")
    else:
        flash(_("You are logged out."), "info")
    return redirect(url_for("cashier.login"))


@bp.post("/language")
def set_language() -> Any:
    language = request.form.get("lang", "")
    if language in LANGUAGES:
        session["lang"] = language
    target = request.form.get("next", "")
    if not target.startswith("/cashier") or "//" in target or "\\" in target:
        target = url_for("cashier.index")
    return redirect(target)
