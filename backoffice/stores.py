"""Stores and their terminals (admin): the details the phone's /stores shows; terminals made
with their API key shown once, revoked, and when each was last seen."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.messages import form_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.models import Store
from pos_loyalty.payloads import MAX_ID
from pos_loyalty.usecases import store_admin

STORE_URL = f"/stores/<int(max={MAX_ID}):store_id>"
# What each field of the store's form must be, said once per field whatever was wrong.
STORE_FIELD_SENTENCES = {
    "name": lazy_gettext("A store needs a name, of at most 200 characters."),
    "address": lazy_gettext("The address has at most 400 characters."),
    "phone": lazy_gettext("The phone number has at most 32 characters."),
    "opening_hours": lazy_gettext("The opening hours have at most 400 characters."),
    "latitude": lazy_gettext("The latitude is a number from -90 to 90, given with the "
                             "longitude; or leave both empty."),
    "longitude": lazy_gettext("The longitude is a number from -180 to 180, given with the "
                              "latitude; or leave both empty."),
}
TERMINAL_FIELD_SENTENCES = {
    "name": lazy_gettext("A terminal name has at most 100 characters, and the cashier UI's "
                         "name is taken."),
    "terminal": lazy_gettext("The cashier UI's till has no key to revoke: deactivate the "
                             "cashier's login instead."),
}
FORM_FIELD_SENTENCES = {"details": STORE_FIELD_SENTENCES, "terminal": TERMINAL_FIELD_SENTENCES}


def _typed_store() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in store_admin.STORE_FIELDS}


def _values_of(store: Store) -> dict[str, str]:
    return {name: "" if getattr(store, name) is None else str(getattr(store, name))
            for name in store_admin.STORE_FIELDS}


@bp.get("/stores")
@area("stores")
def stores() -> Any:
    return render_template("backoffice/stores.html", rows=store_admin.store_list(g.program))


@bp.get("/stores/new")
@area("stores")
def store_new() -> Any:
    return render_template("backoffice/store_new.html",
                           values=dict.fromkeys(store_admin.STORE_FIELDS, ""), invalid="")


@bp.post("/stores")
@area("stores")
def store_create() -> Any:
    values = _typed_store()
    try:
        store = store_admin.create_store(g.program, values, actor(), now())
    except LoyaltyError as error:
        page = render_template("backoffice/store_new.html", values=values,
                               error=form_sentence(error, STORE_FIELD_SENTENCES),
                               invalid=error.details.get("field", ""))
        return page, error.status
    flash(_("Store %(name)s created: now give it a terminal.", name=store.name), "success")
    return redirect(url_for("backoffice.store", store_id=store.id))


@bp.get(STORE_URL)
@area("stores")
def store(store_id: int) -> Any:
    return _store_page(store_id)


def _store_page(store_id: int, error: LoyaltyError | None = None, *, form: str = "",
                values: dict[str, str] | None = None, terminal_name: str = "") -> Any:
    """The store's page, again with what was typed in `form` ("details" or "terminal") and
    why it was refused."""
    page = store_admin.store_page(g.program, store_id)
    field = error.details.get("field", "") if error else ""
    sentences = FORM_FIELD_SENTENCES.get(form, {})
    body = render_template("backoffice/store.html", page=page,
                           values=values or _values_of(page.store),
                           error=form_sentence(error, sentences) if error else "",
                           invalid=field if form == "details" else "",
                           terminal_invalid=form == "terminal" and field == "name",
                           terminal_name=terminal_name)
    return body, error.status if error else 200


@bp.post(STORE_URL)
@area("stores")
def store_update(store_id: int) -> Any:
    values = _typed_store()
    try:
        store_admin.update_store(g.program, store_id, values, actor(), now())
    except LoyaltyError as error:
        if error.status == 404:
            raise
        return _store_page(store_id, error, form="details", values=values)
    flash(_("The store's details are saved."), "success")
    return redirect(url_for("backoffice.store", store_id=store_id))


@bp.post(f"{STORE_URL}/delete")
@area("stores")
def store_delete(store_id: int) -> Any:
    try:
        store_admin.delete_store(g.program, store_id, actor(), now())
    except LoyaltyError as error:
        if error.status == 404:
            raise
        return _store_page(store_id, error)
    flash(_("The store is deleted."), "success")
    return redirect(url_for("backoffice.stores"))


@bp.post(f"{STORE_URL}/terminals")
@area("stores")
def store_terminal_create(store_id: int) -> Any:
    """The key is on this answer only (never in a redirect, the cookie or a log)."""
    name = request.form.get("name", "")
    try:
        new = store_admin.create_terminal(g.program, store_id, name, actor(), now())
    except LoyaltyError as error:
        if error.status == 404:
            raise
        return _store_page(store_id, error, form="terminal", terminal_name=name)
    return render_template("backoffice/terminal_key.html", new=new), 201


@bp.post(f"{STORE_URL}/terminals/<int(max={MAX_ID}):terminal_id>/revoke")
@area("stores")
def store_terminal_revoke(store_id: int, terminal_id: int) -> Any:
    try:
        terminal = store_admin.revoke_terminal(g.program, store_id, terminal_id, actor(), now())
    except LoyaltyError as error:
        if error.status == 404:
            raise
        return _store_page(store_id, error, form="terminal")
    flash(_("Terminal %(name)s is revoked: its key no longer works.", name=terminal.name),
          "success")
    return redirect(url_for("backoffice.store", store_id=store_id))
