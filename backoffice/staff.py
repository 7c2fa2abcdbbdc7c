"""Staff logins (admin): created with a typed password, role and store changed, deactivated and
reactivated, a new password, two-factor reset. The program always keeps an active admin."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.messages import form_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError, ValidationFailed
from pos_loyalty.models.program import STAFF_ROLES, TILL_ROLES
from pos_loyalty.payloads import MAX_ID
from pos_loyalty.usecases import staff_admin

STAFF_URL = f"/staff/<int(max={MAX_ID}):staff_id>"
FIELD_SENTENCES = {
    "username": lazy_gettext("A username has 1 to 100 characters."),
    "role": lazy_gettext("Choose a role of the list."),
    "store": lazy_gettext("Choose a store of the list, or none."),
    "password": lazy_gettext("A password needs at least 8 characters."),
}


def _typed_store_id() -> int | None:
    """The chosen store ("" for none); the core checks that it is the program's."""
    text = request.form.get("store_id", "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise ValidationFailed("Choose a store of the list.", field="store")
    return int(text)


def _form_values() -> dict[str, str]:
    """What the admin typed, to show again (never the password)."""
    return {name: request.form.get(name, "").strip() for name in ("username", "role", "store_id")}


def _choices() -> dict[str, Any]:
    return {"roles": STAFF_ROLES, "till_roles": TILL_ROLES,
            "stores": staff_admin.stores(g.program)}


@bp.get("/staff")
@area("staff")
def staff_list() -> Any:
    return render_template("backoffice/staff_list.html", rows=staff_admin.staff_list(g.program))


@bp.get("/staff/new")
@area("staff")
def staff_new() -> Any:
    values = {"username": "", "role": "cashier", "store_id": ""}
    return render_template("backoffice/staff_new.html", values=values, invalid="",
                           **_choices())


@bp.post("/staff")
@area("staff")
def staff_create() -> Any:
    values = _form_values()
    try:
        member = staff_admin.create_staff(g.program, values["username"], values["role"],
                                          _typed_store_id(), request.form.get("password", ""),
                                          actor(), now())
    except LoyaltyError as error:
        page = render_template("backoffice/staff_new.html", values=values,
                               error=form_sentence(error, FIELD_SENTENCES),
                               invalid=error.details.get("field", ""), **_choices())
        return page, error.status
    flash(_("Login %(name)s created: give them their password.", name=member.username),
          "success")
    return redirect(url_for("backoffice.staff_member", staff_id=member.id))


@bp.get(STAFF_URL)
@area("staff")
def staff_member(staff_id: int) -> Any:
    return _member_page(staff_id)


def _member_page(staff_id: int, error: LoyaltyError | None = None,
                 values: dict[str, str] | None = None) -> Any:
    """The login's page, again with the refused change and why."""
    row = staff_admin.staff_member(g.program, staff_id)
    typed = values or {"role": row.staff.role, "store_id": str(row.staff.store_id or "")}
    body = render_template("backoffice/staff_member.html", row=row, values=typed,
                           error=form_sentence(error, FIELD_SENTENCES) if error else "",
                           invalid=error.details.get("field", "") if error else "",
                           is_me=row.staff.id == g.staff.id, **_choices())
    return body, error.status if error else 200


def _change(staff_id: int, change: Any, done: str, values: dict[str, str] | None = None) -> Any:
    """Run one change of the login's page: back to the page with `done` said, or the page
    again with the refusal (an unknown login is the 404 page)."""
    try:
        change()
    except LoyaltyError as error:
        if error.status == 404:
            raise
        return _member_page(staff_id, error, values)
    flash(done, "success")
    return redirect(url_for("backoffice.staff_member", staff_id=staff_id))


@bp.post(f"{STAFF_URL}/role")
@area("staff")
def staff_role(staff_id: int) -> Any:
    values = _form_values()
    return _change(staff_id, lambda: staff_admin.change_role(
        g.program, staff_id, values["role"], _typed_store_id(), g.staff.id, actor(), now()),
        _("The role and store are saved."), values)


@bp.post(f"{STAFF_URL}/active")
@area("staff")
def staff_active(staff_id: int) -> Any:
    active = request.form.get("active") == "1"
    done = (_("The login is active again.") if active
            else _("The login is deactivated: its sessions are ended."))
    return _change(staff_id, lambda: staff_admin.set_active(
        g.program, staff_id, active, g.staff.id, actor(), now()), done)


@bp.post(f"{STAFF_URL}/password")
@area("staff")
def staff_password(staff_id: int) -> Any:
    password = request.form.get("password", "")
    return _change(staff_id, lambda: staff_admin.set_password(
        g.program, staff_id, password, actor(), now()),
        _("The new password is set: the login's sessions are ended."))


@bp.post(f"{STAFF_URL}/two-factor")
@area("staff")
def staff_two_factor(staff_id: int) -> Any:
    return _change(staff_id, lambda: staff_admin.reset_two_factor(
        g.program, staff_id, actor(), now()),
        _("Two-factor sign-in is off for this login and its sessions are ended: it sets "
          "two-factor up again after signing in."))
