"""The /cashier blueprint: who is logged in, CSRF, the inactivity lock, roles, error pages.

The session is Flask's signed cookie, holding the staff id, the store and its web till, the
login's session token (`sid`), the CSRF token, the chosen language and the customer being
served. The session and the staff are checked in the database on every request, so a logout,
a new password or a deactivated login stops at once, copied cookies included.
"""
from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from cashier_ui.i18n import gettext as _
from cashier_ui.i18n import template_helpers
from cashier_ui.messages import error_sentence, unexpected_sentence
from cashier_ui.page_headers import protect_page
from pos_loyalty.db import db, discard_transaction, is_database_unavailable, retry_after
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import staff

bp = Blueprint("cashier", __name__, url_prefix="/cashier", template_folder="templates",
               static_folder="static", static_url_path="/static")

MANAGER_ROLES = ("manager", "admin")
# Keys that outlive a logout: the till keeps its language and the store chosen at login.
# The back office's login ("admin") is its own and stays too.
KEPT_ON_LOGOUT = ("lang", "store_choice", "admin")
PUBLIC_ENDPOINTS = {"cashier.login", "cashier.login_submit", "cashier.logout",
                    "cashier.set_language", "cashier.static"}

View = TypeVar("View", bound=Callable[..., Any])


def ui_setting(name: str) -> Any:
    """A key of [cashier_ui] in the config (config/default.toml holds every default)."""
    return current_app.config["LOYALTY"]["cashier_ui"][name]


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def end_session() -> None:
    """Log out: the login's session ends on the server too, then the cookie is emptied."""
    if session.get("sid"):
        staff.log_out(session["sid"])
    kept = {key: session[key] for key in KEPT_ON_LOGOUT if key in session}
    session.clear()
    session.update(kept)


# Per-request values on `g`, cleared first: tests run many requests in one app context, and
# Flask-Babel caches the locale on `g` (and answers nothing while `g` is empty).
REQUEST_VALUES = ("_flask_babel", "staff", "terminal", "program", "store")


@bp.before_request
def check_request() -> Any:
    for name in REQUEST_VALUES:
        g.pop(name, None)
    g.cashier_request = True
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="csrf")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return _load_login()


def _load_login() -> Any:
    staff_id = session.get("staff_id")
    if staff_id is None:
        return redirect(url_for("cashier.login"))
    idle = time.time() - float(session.get("seen", 0))
    if idle > ui_setting("idle_lock_minutes") * 60:
        end_session()
        flash(_("The screen was locked after inactivity: log in again."), "info")
        return redirect(url_for("cashier.login"))
    till = staff.web_till_of(staff_id, session.get("terminal_id"), session.get("sid"))
    if till is None:
        end_session()
        return redirect(url_for("cashier.login"))
    g.staff, g.terminal, g.store, g.program = till.staff, till.terminal, till.store, till.program
    session["seen"] = int(time.time())
    return None


# The till's pages load only its own files, and no other site may frame them. Its script and
# stylesheet are static files (no inline code, no style attributes), so none needs
# 'unsafe-inline', and a script or style injected into a page would not run.
CONTENT_SECURITY_POLICY = ("default-src 'self'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'; object-src 'none'")


@bp.after_request
def protect_response(response: Response) -> Response:
    return protect_page(response, CONTENT_SECURITY_POLICY, "cashier.static")


def is_manager() -> bool:
    person = g.get("staff")
    return person is not None and person.role in MANAGER_ROLES


def manager_required(view: View) -> View:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_manager():
            abort(403)
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def actor() -> str:
    return f"staff:{g.staff.username}"


@bp.context_processor
def inject_helpers() -> dict[str, Any]:
    return {**template_helpers(), "csrf_token": csrf_token, "is_manager": is_manager(),
            "idle_seconds": ui_setting("idle_lock_minutes") * 60}


def error_page(sentence: str, status: int) -> tuple[str, int]:
    return render_template("cashier/error.html", sentence=sentence), status


@bp.errorhandler(LoyaltyError)
def loyalty_error(error: LoyaltyError) -> tuple[str, int]:
    db.session.rollback()
    return error_page(error_sentence(error), error.status)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 400 and error.description == "csrf":
        return error_page(_("This form has expired: reload the page and try again."), 400)
    sentences = {403: _("This page is for managers only."), 404: _("Nothing was found."),
                 405: _("This page cannot be used like this.")}
    return error_page(sentences.get(status, error.name), status)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception) -> Any:
    """A bug or an outage: log it, roll back, and say so in a sentence, never a trace."""
    discard_transaction()
    current_app.logger.exception("cashier UI: unhandled error")
    if is_database_unavailable(error):
        return (*error_page(unexpected_sentence(True), 503), retry_after())
    return error_page(unexpected_sentence(False), 500)
