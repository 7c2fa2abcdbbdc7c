"""Languages of the back office: its own message catalogue; formatting as at the till.

The catalogue is `backoffice/translations/<lang>/LC_MESSAGES/backoffice.po`, compiled to the
`.mo` beside it and committed (no build step at install). Money, points and dates are written
by the till's helpers (`cashier_ui.i18n`): one way to write a euro amount in every face.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_babel import Domain

from cashier_ui import i18n as till_i18n

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGES = till_i18n.LANGUAGES
domain = Domain(translation_directories=[str(TRANSLATIONS_DIR)], domain="backoffice")
gettext = domain.gettext
lazy_gettext = domain.lazy_gettext
_ = gettext

ROLE_NAMES = {"admin": lazy_gettext("admin"), "marketing": lazy_gettext("marketing"),
              "support": lazy_gettext("support"), "finance": lazy_gettext("finance"),
              "cashier": lazy_gettext("cashier"), "manager": lazy_gettext("manager")}


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def template_helpers() -> dict[str, Any]:
    return {"_": gettext, "role_name": role_name, "money": till_i18n.money,
            "points": till_i18n.points, "format_datetime": till_i18n.datetime,
            "format_date": till_i18n.date, "amount_field": till_i18n.amount_field,
            "LANGUAGES": LANGUAGES, "current_language": till_i18n.current_language()}
