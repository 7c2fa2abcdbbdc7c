"""SMS settings per program and the texts: templates per language, numbers and money per locale.

Besides the balance SMS, the events of the program's mechanics have texts of their own: the
sign-up, birthday and referral bonuses (`bonus_text`), a tier reached or lost (`tier_text`),
and the campaigns a sale's points came from (`offers_text`, inside the balance SMS).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from pos_loyalty.db import db
from pos_loyalty.models import Account, Campaign, Program
from pos_loyalty.programs import rules_for, settings
from pos_loyalty.rules import currency_exponent, points_value_minor, rung_named

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
    return money_text(program, points_value_minor(max(points, 0), rules_for(program)), locale)


def money_text(program: Program, amount_minor: int, locale: Locale | str) -> str:
    amount = Decimal(amount_minor).scaleb(-currency_exponent(program.currency))
    return format_currency(amount, program.currency, locale=locale)


# --- the program's mechanics ----------------------------------------------------------------

def bonus_text(program: Program, account: Account | None, kind: str, payload: dict[str, Any],
               config: dict[str, Any]) -> str:
    """A sign-up, birthday or referral bonus (payload: points, balance; a referral's role,
    "referrer" or "newcomer"; `available_on`, the local date, while the points are pending).
    Pending points are not in the balance yet, so that text says when they can be used."""
    template = kind if kind != "referral" else f"referral_{payload['role']}"
    values: dict[str, Any] = {"points": payload["points"], "balance": payload["balance"]}
    if payload.get("available_on"):
        template += "_pending"
        values["date"] = dt.date.fromisoformat(payload["available_on"])
    return render(program, account, template, config, **values)


# Which text a tier change gets: up (reached, or set by hand), kept, down; an account left
# with no tier gets "ended", naming the tier it had.
TIER_TEMPLATES = {"reached": "tier_up", "set": "tier_up", "kept": "tier_kept",
                  "lowered": "tier_down", "return": "tier_down"}


def tier_text(program: Program, account: Account | None, payload: dict[str, Any],
              config: dict[str, Any]) -> str:
    """A tier change (payload: tier and from, keys of the ladder or null; reason), the tiers
    named in the customer's language from the program's ladder (a key no longer in it is
    shown as it is)."""
    language = language_of(program, account)
    ladder = rules_for(program).tiers

    def name(key: str | None) -> str:
        rung = rung_named(ladder, key)
        return rung.name(language) if rung is not None else str(key or "")
    if payload.get("tier") is None:
        if payload.get("from") is None:
            raise ValueError("a tier change from no tier to no tier tells nothing")
        return render(program, account, "tier_ended", config, tier=name(payload["from"]))
    return render(program, account, TIER_TEMPLATES[payload["reason"]], config,
                  tier=name(payload["tier"]), previous=name(payload.get("from")))


def offers_text(program: Program, account: Account | None, offers: list[dict[str, Any]],
                config: dict[str, Any]) -> str:
    """The campaigns that gave a sale points, "Double points : +23, ...": each campaign's
    label in the customer's language (its name when it has none)."""
    language = language_of(program, account)
    parts = []
    for offer in offers:
        campaign = db.session.get(Campaign, offer["campaign_id"])
        if campaign is not None:
            parts.append(render(program, account, "offer", config, points=offer["points"],
                                label=campaign_label(campaign.labels, campaign.name, language)))
    return ", ".join(parts)


def campaign_label(labels: Mapping[str, str] | None, name: str, language: str) -> str:
    """What a customer reads for a campaign: its label in their language, else its English
    one, else its name (as the till's `rules.CampaignTerms.label`)."""
    labels = labels or {}
    return labels.get(language) or labels.get("en") or name
