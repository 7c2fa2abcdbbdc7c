"""Errors in the back office's words; the core's errors the till also meets are worded once,
by the till (`cashier_ui.messages`), in the same language."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cashier_ui import messages as till_messages
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from pos_loyalty.errors import LoyaltyError

SENTENCES = {
    "invalid_login": lazy_gettext("Wrong username or password."),
    "invalid_second_factor": lazy_gettext("Wrong or already used code: type the code the app shows "
                                 "now."),
    "login_not_for_here": lazy_gettext(
        "This login is for the till: the back office is for admin, marketing, support and "
        "finance logins."),
    "forbidden": lazy_gettext("Your role does not allow this."),
    "offer_ended": lazy_gettext("This has ended: it can no longer change."),
    "account_erased": lazy_gettext("This customer's data was erased on their request: the "
                                   "account can no longer be changed."),
    "adjustment_already_decided": lazy_gettext(
        "This adjustment was already approved or rejected: its points moved once at most."),
    "too_many_codes": lazy_gettext("Too many codes were texted to this phone in the last hour: "
                                   "try again later."),
    "idempotency_conflict": lazy_gettext(
        "This form was already sent with other values: reload the page and try again."),
    # stores and staff
    "username_taken": lazy_gettext("Another login has this username: choose another."),
    "store_has_history": lazy_gettext(
        "This store has sales or points history: it cannot be deleted."),
    "store_has_staff": lazy_gettext(
        "Logins still belong to this store: move them to another store first."),
    "last_admin": lazy_gettext(
        "The program must keep an active admin: make another login admin first."),
    "own_login": lazy_gettext(
        "You cannot demote or deactivate your own login: another admin can."),
    "import_file_unreadable": lazy_gettext(
        "This file cannot be read as members: save it as CSV UTF-8, its first line naming "
        "the columns, one of them the phone."),
    "import_file_changed": lazy_gettext(
        "This is not the file that was checked: check it again before importing."),
}


def error_sentence(error: LoyaltyError) -> str:
    if error.code == "too_many_tries":
        return _("Too many tries: wait %(minutes)s min.",
                 minutes=till_messages.minutes_to_wait(error))
    if error.code in SENTENCES:
        return str(SENTENCES[error.code])
    return till_messages.error_sentence(error)


def form_sentence(error: LoyaltyError, field_sentences: Mapping[str, Any]) -> str:
    """The sentence of a refused form: the form's own for the field the core names, when it
    has one, else the error's."""
    field = error.details.get("field")
    if error.code == "validation_error" and field in field_sentences:
        return str(field_sentences[field])
    return error_sentence(error)


def unexpected_sentence(database_down: bool) -> str:
    if database_down:
        return _("The connection to the database failed: nothing was saved. Retry in a moment.")
    return _("Something went wrong on our side: nothing was saved. Retry.")
