"""Errors in the back office's words; the core's errors the till also meets are worded once,
by the till (`cashier_ui.messages`), in the same language."""
from __future__ import annotations

from cashier_ui import messages as till_messages
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from pos_loyalty.errors import LoyaltyError

SENTENCES = {
    "invalid_login": lazy_gettext("Wrong username or password."),
    "invalid_code": lazy_gettext("Wrong or already used code: type the code the app shows "
                                 "now."),
    "login_not_for_here": lazy_gettext(
        "This login is for the till: the back office is for admin, marketing, support and "
        "finance logins."),
    "forbidden": lazy_gettext("Your role does not allow this."),
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


def unexpected_sentence(database_down: bool) -> str:
    if database_down:
        return _("The connection to the database failed: nothing was saved. Retry in a moment.")
    return _("Something went wrong on our side: nothing was saved. Retry.")
