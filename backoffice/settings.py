"""Program settings in the back office: what the three pages (rules, the app's look, SMS
texts) share. Admin and marketing open them (`AREAS["settings"]`); marketing changes the
rules only, admin everything; the other pages show marketing what is set."""
from __future__ import annotations

from typing import Any

from flask import abort, g

from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.messages import error_sentence
from pos_loyalty.errors import LoyaltyError

# Who changes each part of the settings.
CHANGERS = {"rules": ("admin", "marketing"), "branding": ("admin",), "sms": ("admin",)}
# The pages: (endpoint, name, prefix of the endpoints that light the tab up).
TABS = (("backoffice.settings", lazy_gettext("Rules"), "backoffice.settings_rules"),
        ("backoffice.settings_branding", lazy_gettext("App and logo"),
         "backoffice.settings_branding"),
        ("backoffice.settings_sms", lazy_gettext("SMS texts"), "backoffice.settings_sms"))


def may_change(part: str) -> bool:
    return g.staff.role in CHANGERS[part]


def require_change(part: str) -> None:
    if not may_change(part):
        abort(403)


def problem_sentence(error: LoyaltyError, label: str) -> str:
    """A field's refusal by the core (`details.problem`), worded for the field `label`."""
    details: dict[str, Any] = error.details
    problem = details.get("problem")
    if problem == "range":
        return _("%(field)s must be between %(low)s and %(high)s.", field=label,
                 low=details["low"], high=details["high"])
    if problem in ("not_number", "not_whole"):
        return _("%(field)s must be a number.", field=label)
    if problem == "decimals":
        return _("%(field)s has too many decimals (at most %(places)s).", field=label,
                 places=details["places"])
    if problem == "choice":
        return _("%(field)s: choose one of the values offered.", field=label)
    if problem == "category":
        return _("%(field)s: “%(category)s” is not a category id (lowercase letters, digits, "
                 "- or _).", field=label, category=details["category"])
    if problem == "too_long":
        return _("%(field)s is too long: at most %(count)s characters.", field=label,
                 count=details["high"])
    if problem == "prefix":
        return _("%(field)s: digits only (capital letters too for Code 128), few enough to "
                 "leave room for the card's own digits.", field=label)
    if problem == "above_hold_max":
        return _("%(field)s cannot be longer than the longest hold a till may ask for.",
                 field=label)
    if problem == "time":
        return _("%(field)s is a time like 21:00, or leave both hours empty.", field=label)
    if problem == "color":
        return _("%(field)s is a colour like #1f2937.", field=label)
    if problem == "unknown_placeholder":
        return _("%(field)s: {%(placeholder)s} is not a placeholder of this text; it may use "
                 "%(allowed)s.", field=label, placeholder=details["placeholder"],
                 allowed=", ".join(f"{{{name}}}" for name in details["allowed"]))
    if problem == "braces":
        return _("%(field)s: a brace is not closed (write {{ or }} for a brace itself).",
                 field=label)
    if problem == "not_plain":
        return _("%(field)s cannot contain control or text-direction characters.",
                 field=label)
    if problem == "empty":
        return _("%(field)s: the text is empty.", field=label)
    return error_sentence(error)
