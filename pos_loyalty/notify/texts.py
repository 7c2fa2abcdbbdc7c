"""SMS settings per program and the texts: templates per language, numbers and money per locale."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from pos_loyalty.models import Account, Program
from pos_loyalty.programs import rules_for, settings
from pos_loyalty.rules import currency_exponent, points_value_minor

# Babel puts no-break spaces in numbers and before currency signs; GSM-7 has none.
SPACES_TO_PLAIN = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def sms_config(program: Program | None = None) -> dict[str, Any]:
    """Config [sms] (Twilio's variables are read by pos_loyalty.config), program overrides on top.

    Every sale asks, so nothing is deep-copied: callers read the answer and never change it.
    """
    base = settings()["sms"]
    override = ((program.branding or {}).get("sms") or {}) if program is not None else {}
    if not override:
        return base
    config = {**base, **{key: value for key, value in override.items() if key != "templates"}}
    extra_texts = override.get("templates") or {}
    config["templates"] = {language: {**base["templates"].get(language, {}),
                                      **extra_texts.get(language, {})}
                           for language in {*base["templates"], *extra_texts}}
    return config


def language_of(program: Program, account: Account | None) -> str:
    locale = (account.locale if account is not None and account.locale else program.locale)
    return locale.replace("-", "_").split("_")[0].lower()


def babel_locale(program: Program, account: Account | None) -> Locale:
    locale = (account.locale if account is not None and account.locale else program.locale)
    return _parsed_locale(locale.replace("-", "_"))


@lru_cache(maxsize=64)
def _parsed_locale(code: str) -> Locale:
    """Parsed once: Babel would parse the code again for every number of every SMS."""
    return Locale.parse(code)


def render(program: Program, account: Account | None, template: str, config: dict[str, Any],
           **values: Any) -> str:
    """One text in the customer's language; `balance` (points) also fills in {value}."""
    language = language_of(program, account)
    templates = config["templates"].get(language) or config["templates"]["en"]
    locale = babel_locale(program, account)
    fields = {"program": program.name, "store": program.name}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, dt.date)):
            fields[name] = value
        elif isinstance(value, dt.date):
            fields[name] = format_date(value, format="long", locale=locale)
        else:
            fields[name] = format_decimal(value, locale=locale)
    if "balance" in values:
        fields["value"] = money_of_points(program, values["balance"], locale)
    return templates[template].format(**fields).translate(SPACES_TO_PLAIN)


def money_of_points(program: Program, points: int, locale: Locale | str) -> str:
    minor = points_value_minor(max(points, 0), rules_for(program))
    amount = Decimal(minor).scaleb(-currency_exponent(program.currency))
    return format_currency(amount, program.currency, locale=locale)
