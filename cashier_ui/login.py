"""Logging in and out of the till, and switching its language."""
from __future__ import annotations

import secrets
import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for

from cashier_ui import forms
from cashier_ui.blueprint import bp, end_session
from cashier_ui.i18n import LANGUAGES
from cashier_ui.i18n import gettext as _
from cashier_ui.messages import login_error_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import staff


@bp.get("/login")
def login() -> Any:
    if session.get("staff_id") is not None:
        return redirect(url_for("cashier.index"))
    return _login_page()


def _login_page(error: str = "", status: int = 200, username: str = "") -> tuple[str, int]:
    stores = staff.stores()
    return render_template("cashier/login.html", error=error, username=username,
                           stores=stores if len(stores) > 1 else [],
                           chosen_store=session.get("store_choice")), status


@bp.post("/login")
def login_submit() -> Any:
    username = request.form.get("username", "").strip()
    chosen = request.form.get("store_id", type=int)
    try:
        forms.parse_text(username, _("Username"), required=False, max_length=100)
        till = staff.open_web_till(username, request.form.get("password", ""), chosen, now(),
                                   request.remote_addr or "")
    except LoyaltyError as error:
        page, status = _login_page(login_error_sentence(error), error.status, username)
        return page, status, error.http_headers()
    if till.terminal_id is None:
        return _login_page(_("Choose the store of this till."), 422, username)
    end_session()
    session.update(staff_id=till.staff_id, terminal_id=till.terminal_id, sid=till.session_token,
                   seen=int(time.time()), csrf=secrets.token_urlsafe(32))
    if chosen is not None:
        session["store_choice"] = chosen
    return redirect(url_for("cashier.index"))


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
