"""The /admin blueprint: who is signed in, CSRF, roles, the idle limit, error pages.

The back office keeps its login under one key of Flask's signed session cookie, "admin": the
staff id, the login's session token (`sid`), its own CSRF token and the time of the last
request; the till's keys are beside it and neither face's sign-out touches the other's. The
session and the staff are checked in the database on every request, so a sign-out, a new
password, a deactivation or a role change stops at once, copied cookies included.
"""
from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext, template_helpers
from backoffice.messages import error_sentence, unexpected_sentence
from cashier_ui.page_headers import protect_page
from pos_loyalty.db import db, discard_transaction, is_database_unavailable, retry_after
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import back_office_login

bp = Blueprint("backoffice", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")

# What each role opens; "finance" reads and never changes (every POST but signing out is 403).
AREAS: dict[str, tuple[str, ...]] = {
    "settings": ("admin", "marketing"),
    "stores": ("admin",),
    "staff": ("admin",),
    "customers": ("admin", "support"),
    "approvals": ("admin",),
    "offers": ("admin", "marketing"),
    "cards": ("admin", "support"),
    "imports": ("admin",),
    "reports": ("admin", "marketing", "finance"),
    "analytics": ("admin", "marketing", "finance"),
    "exports": ("admin", "finance"),
    "audit": ("admin", "finance"),
}
READ_ONLY_ROLES = ("finance",)


@dataclass(frozen=True)
class NavItem:
    area: str
    endpoint: str
    label: Any
    prefix: str   # endpoints that start with it light this item up


# The menu, in order; an item shows once its page exists and the role may open its area.
NAV_ITEMS = (
    NavItem("settings", "backoffice.settings", lazy_gettext("Program settings"),
            "backoffice.settings"),
    NavItem("stores", "backoffice.stores", lazy_gettext("Stores and terminals"),
            "backoffice.store"),
    NavItem("staff", "backoffice.staff_list", lazy_gettext("Staff"), "backoffice.staff"),
    NavItem("customers", "backoffice.customers", lazy_gettext("Customers"),
            "backoffice.customer"),
    NavItem("approvals", "backoffice.approvals", lazy_gettext("Approvals"),
            "backoffice.approval"),
    NavItem("offers", "backoffice.campaigns", lazy_gettext("Campaigns"),
            "backoffice.campaign"),
    NavItem("offers", "backoffice.tiers", lazy_gettext("Tiers"), "backoffice.tier"),
    NavItem("offers", "backoffice.promotions", lazy_gettext("Promotions"),
            "backoffice.promotion"),
    NavItem("offers", "backoffice.broadcasts", lazy_gettext("Messages"), "backoffice.broadcast"),
    NavItem("cards", "backoffice.card_batches", lazy_gettext("Card batches"),
            "backoffice.card_batch"),
    NavItem("imports", "backoffice.imports", lazy_gettext("Import members"),
            "backoffice.import"),
    NavItem("reports", "backoffice.reports", lazy_gettext("Reports"), "backoffice.report"),
    NavItem("analytics", "backoffice.analytics", lazy_gettext("Analytics"),
            "backoffice.analytics"),
    NavItem("exports", "backoffice.exports", lazy_gettext("Exports"), "backoffice.export"),
)
PUBLIC_ENDPOINTS = {"backoffice.login", "backoffice.login_submit", "backoffice.code",
                    "backoffice.code_submit", "backoffice.set_language", "backoffice.static"}
# Pages an admin who must set up two-factor may open before doing so.
SET_UP_ENDPOINTS = {"backoffice.two_factor", "backoffice.two_factor_submit",
                    "backoffice.logout"}

View = TypeVar("View", bound=Callable[..., Any])


def setting(name: str) -> Any:
    """A key of [back_office] in the config (config/default.toml holds every default)."""
    return current_app.config["LOYALTY"]["back_office"][name]


def login_state() -> dict[str, Any]:
    """The back office's part of the session cookie (mutable: mark the session modified)."""
    state = session.get("admin")
    if not isinstance(state, dict):
        state = session["admin"] = {}
    return state


def update_login_state(**values: Any) -> None:
    state = login_state()
    state.update(values)
    session["admin"] = state
    session.modified = True


def csrf_token() -> str:
    token = login_state().get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        update_login_state(csrf=token)
    return token


def end_login() -> None:
    """Sign out: the session ends on the server too; the till's login, if any, stays."""
    sid = login_state().get("sid")
    if sid:
        back_office_login.sign_out(sid)
    session.pop("admin", None)


REQUEST_VALUES = ("_flask_babel", "staff", "program", "store", "terminal")


@bp.before_request
def check_request() -> Any:
    for name in REQUEST_VALUES:
        g.pop(name, None)
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        expected = login_state().get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="csrf")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return _load_login()


def _load_login() -> Any:
    state = login_state()
    staff_id = state.get("staff_id")
    if staff_id is None or not state.get("sid"):
        return redirect(url_for("backoffice.login", next=_here()))
    if time.time() - float(state.get("seen", 0)) > setting("idle_minutes") * 60:
        end_login()
        flash(_("You were signed out after inactivity: sign in again."), "info")
        return redirect(url_for("backoffice.login", next=_here()))
    user = back_office_login.user_of(staff_id, state.get("sid"))
    if user is None:
        end_login()
        return redirect(url_for("backoffice.login"))
    g.staff, g.program = user.staff, user.program
    update_login_state(seen=int(time.time()))
    if state.get("must_set_up_two_factor") and request.endpoint not in SET_UP_ENDPOINTS:
        return redirect(url_for("backoffice.two_factor"))
    if (request.method == "POST" and g.staff.role in READ_ONLY_ROLES
            and request.endpoint not in ("backoffice.logout",)):
        abort(403)
    return None


def _here() -> str:
    return request.full_path.rstrip("?") if request.method == "GET" else ""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the back office, never another site."""
    if target and target.startswith("/admin") and "//" not in target and "\\" not in target:
        return target
    return url_for("backoffice.home")


# Pages load only their own files and no other site may frame them; no inline script or
# style, so a script injected into a page would not run. Images: the program's uploaded logo
# is served from here too (data: for the QR code of the two-factor set-up is inline SVG).
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'; object-src 'none'")


@bp.after_request
def protect_response(response: Response) -> Response:
    return protect_page(response, CONTENT_SECURITY_POLICY, "backoffice.static")


def may_open(area: str) -> bool:
    person = g.get("staff")
    return person is not None and person.role in AREAS[area]


def area(name: str) -> Callable[[View], View]:
    """Only the roles of AREAS[name] open this view (403 for the others)."""
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not may_open(name):
                abort(403)
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def actor() -> str:
    """How the audit trail and the ledger name the signed-in user."""
    return f"staff:{g.staff.username}"


@bp.context_processor
def inject_helpers() -> dict[str, Any]:
    built = current_app.view_functions
    return {**template_helpers(), "csrf_token": csrf_token, "may_open": may_open,
            "nav_items": [item for item in NAV_ITEMS if item.endpoint in built],
            "has_page": lambda endpoint: endpoint in built}


def error_page(sentence: str, status: int) -> tuple[str, int]:
    return render_template("backoffice/error.html", sentence=sentence), status


@bp.errorhandler(LoyaltyError)
def loyalty_error(error: LoyaltyError) -> Any:
    db.session.rollback()
    return (*error_page(error_sentence(error), error.status), error.http_headers())


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 400 and error.description == "csrf":
        return error_page(_("This form has expired: reload the page and try again."), 400)
    sentences = {403: _("Your role does not allow this."), 404: _("Nothing was found."),
                 405: _("This page cannot be used like this."),
                 413: _("The file is too large.")}
    return error_page(sentences.get(status, error.name), status)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception) -> Any:
    """A bug or an outage: log it, roll back, and say so in a sentence, never a trace."""
    discard_transaction()
    current_app.logger.exception("back office: unhandled error")
    if is_database_unavailable(error):
        return (*error_page(unexpected_sentence(True), 503), retry_after())
    return error_page(unexpected_sentence(False), 500)
