"""Signing in (password, then the TOTP code), setting two-factor up, signing out, language."""
from __future__ import annotations

import secrets
import time
from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for

from backoffice.blueprint import (
    bp, end_login, login_state, safe_next, setting, update_login_state,
)
from backoffice.i18n import LANGUAGES
from backoffice.i18n import gettext as _
from backoffice.messages import error_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import back_office_login


@bp.get("/login")
def login() -> Any:
    if login_state().get("sid"):
        return redirect(url_for("backoffice.home"))
    return _login_page()


def _login_page(error: str = "", status: int = 200, username: str = "") -> tuple[str, int]:
    return render_template("backoffice/login.html", error=error, username=username,
                           next=request.args.get("next", "")), status


@bp.post("/login")
def login_submit() -> Any:
    username = request.form.get("username", "").strip()[:100]
    target = safe_next(request.form.get("next"))
    try:
        signed = back_office_login.sign_in(username, request.form.get("password", ""), now(),
                                           request.remote_addr or "")
    except LoyaltyError as error:
        page, status = _login_page(error_sentence(error), error.status, username)
        return page, status, error.http_headers()
    end_login()
    if signed.session_token is None:   # two-factor: the code comes next
        update_login_state(pending_staff_id=signed.staff_id, pending_since=int(time.time()),
                           next=target, csrf=secrets.token_urlsafe(32))
        return redirect(url_for("backoffice.code"))
    _open(signed.staff_id, signed.session_token, signed.must_set_up_two_factor)
    if signed.must_set_up_two_factor:
        return redirect(url_for("backoffice.two_factor"))
    return redirect(target)


def _open(staff_id: int, token: str, must_set_up_two_factor: bool = False) -> None:
    session["admin"] = {"staff_id": staff_id, "sid": token, "seen": int(time.time()),
                        "csrf": secrets.token_urlsafe(32),
                        "must_set_up_two_factor": must_set_up_two_factor}


def _pending_staff_id() -> int | None:
    state = login_state()
    waited = time.time() - float(state.get("pending_since", 0))
    if state.get("pending_staff_id") is None or waited > setting("code_wait_minutes") * 60:
        return None
    return int(state["pending_staff_id"])


@bp.get("/login/code")
def code() -> Any:
    if _pending_staff_id() is None:
        return redirect(url_for("backoffice.login"))
    return render_template("backoffice/code.html", error="")


@bp.post("/login/code")
def code_submit() -> Any:
    staff_id = _pending_staff_id()
    if staff_id is None:
        flash(_("The sign-in took too long: type your password again."), "info")
        return redirect(url_for("backoffice.login"))
    try:
        token = back_office_login.confirm_code(staff_id, request.form.get("code", ""), now(),
                                               request.remote_addr or "")
    except LoyaltyError as error:
        page = render_template("backoffice/code.html", error=error_sentence(error))
        return page, error.status, error.http_headers()
    target = safe_next(login_state().get("next"))
    _open(staff_id, token)
    return redirect(target)


@bp.get("/two-factor")
def two_factor() -> Any:
    set_up = back_office_login.start_two_factor(g.staff, g.program)
    return render_template("backoffice/two_factor.html", set_up=set_up, error="")


@bp.post("/two-factor")
def two_factor_submit() -> Any:
    encrypted = request.form.get("secret", "")
    try:
        back_office_login.finish_two_factor(g.staff.id, encrypted, request.form.get("code", ""),
                                            now())
    except LoyaltyError as error:
        set_up = back_office_login.start_two_factor(g.staff, g.program, encrypted)
        page = render_template("backoffice/two_factor.html", set_up=set_up,
                               error=error_sentence(error))
        return page, error.status
    update_login_state(must_set_up_two_factor=False)
    flash(_("Two-factor sign-in is on: from now on, sign in with a code from the app."),
          "success")
    return redirect(url_for("backoffice.home"))


@bp.post("/logout")
def logout() -> Any:
    end_login()
    flash(_("You are signed out."), "info")
    return redirect(url_for("backoffice.login"))


@bp.post("/language")
def set_language() -> Any:
    language = request.form.get("lang", "")
    if language in LANGUAGES:
        session["lang"] = language
    return redirect(safe_next(request.form.get("next", "")))
