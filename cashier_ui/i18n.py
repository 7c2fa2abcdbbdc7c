"""Languages of the till: the chosen locale, our own message catalogue, and Babel formatting.

The catalogue is `cashier_ui/translations/<lang>/LC_MESSAGES/cashier.po`, compiled to the `.mo`
beside it and committed (no build step at install); a test checks the two agree.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import babel
import babel.dates
import babel.localedata
import flask_babel
from flask import current_app, g, has_request_context, request, session
from flask_babel import Domain

from pos_loyalty.brand import category_name as program_category_name
from pos_loyalty.rules import currency_exponent

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "fr": "Français"}
domain = Domain(translation_directories=[str(TRANSLATIONS_DIR)], domain="cashier")
gettext = domain.gettext
lazy_gettext = domain.lazy_gettext
_ = gettext
ROLE_NAMES = {"cashier": lazy_gettext("cashier"), "manager": lazy_gettext("manager"),
              "admin": lazy_gettext("admin")}


def default_language() -> str:
    """The program's locale when a till is logged in, else the configured one."""
    program = g.get("program")
    locale = program.locale if program is not None else \
        current_app.config["LOYALTY"]["program"]["locale"]
    language = str(locale).split("_")[0].lower()
    return language if language in LANGUAGES else "en"


def select_locale() -> str | None:
    """Flask-Babel's locale selector: the chosen language on /cashier and /admin, else
    Babel's default."""
    if not has_request_context() or request.blueprint not in ("cashier", "backoffice"):
        return None
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else default_language()


def select_timezone() -> str | None:
    program = g.get("program") if has_request_context() else None
    if program is not None:
        return program.timezone
    return current_app.config["LOYALTY"]["program"]["timezone"]


def money(amount_minor: int | None, currency: str) -> str:
    """Minor units as the locale writes money: 1234 EUR -> "12,34 €" in French."""
    value = Decimal(amount_minor or 0).scaleb(-currency_exponent(currency))
    return flask_babel.format_currency(value, currency)


def points(count: int | None) -> str:
    return flask_babel.format_decimal(count or 0)


def amount_field(amount_minor: int, currency: str) -> str:
    """Minor units written back into an input field, with the locale's decimal separator."""
    exponent = currency_exponent(currency)
    return flask_babel.format_decimal(Decimal(amount_minor).scaleb(-exponent),
                                      format="0." + "0" * exponent if exponent else "0")


def date_locale() -> str:
    """Dates follow the program's country, in the till's language: a Paris store in English
    writes 30/11/2026, 14:05 (en_FR), not the American 11/30/26, 2:05 PM."""
    language = current_language()
    chosen = current_app.config["LOYALTY"]["cashier_ui"].get("date_locales", {}).get(language)
    if chosen:
        return str(chosen)
    program = g.get("program")
    program_locale = program.locale if program is not None else \
        current_app.config["LOYALTY"]["program"]["locale"]
    territory = babel.Locale.parse(str(program_locale)).territory
    regional = f"{language}_{territory}"
    return regional if territory and babel.localedata.exists(regional) else language


def datetime(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return babel.dates.format_datetime(moment, "short", tzinfo=flask_babel.get_timezone(),
                                       locale=date_locale())


def date(day: dt.date) -> str:
    return babel.dates.format_date(day, "long", locale=date_locale())


def category_name(category: str) -> str:
    """A product category id in the till's language ("gift_card" -> "cartes cadeaux")."""
    return program_category_name(g.program, category, current_language())


def category_names(categories: Any) -> list[str]:
    return sorted((category_name(category) for category in categories), key=str.casefold)


def current_language() -> str:
    return str(flask_babel.get_locale() or "en").split("_")[0]


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def template_helpers() -> dict[str, Any]:
    return {"_": gettext, "role_name": role_name, "money": money, "points": points,
            "format_datetime": datetime, "format_date": date, "amount_field": amount_field,
            "category_name": category_name, "category_names": category_names,
            "LANGUAGES": LANGUAGES, "current_language": current_language()}
