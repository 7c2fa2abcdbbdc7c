"""What each program rule of `[rules]` holds and the values it may take (the back office's
rules form): the checks of one value, then the checks between values.

The tier ladder and how tiers are reached (`tiers.TIER_SETTINGS`) are set on their own page
(`tiers.set_ladder`), which places the accounts again; they are not listed here.
`ProgramRules.from_settings` still checks the whole merged set once these checks pass.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pos_loyalty import cards
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.payloads import MAX_HOLD_TTL_SECONDS, MAX_MINOR, MAX_POINTS
from pos_loyalty.rules import CAMPAIGN_COMBINATIONS, ProgramRules

DECIMAL_PLACES = 4            # a rate or share written with more places is refused
CATEGORY_FORMAT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_CATEGORIES = 100


@dataclass(frozen=True)
class RuleField:
    """`kind`: a Decimal "rate" ("1.5"), a "share" of a bill (Decimal 0 to 1), "money" in minor
    units, a "whole" number, a "flag", "categories" (a list), "multipliers" by category, a
    "choice" of a few words, the "prefix" of new card numbers."""
    key: str
    kind: str
    group: str                           # the section of the form it is shown in
    low: Decimal | int = 0
    high: Decimal | int = 0
    choices: tuple[str, ...] = ()


RULE_FIELDS: tuple[RuleField, ...] = (
    RuleField("earn_points_per_unit", "rate", "earning", Decimal(0), Decimal(1000)),
    RuleField("excluded_categories", "categories", "earning"),
    RuleField("category_multipliers", "multipliers", "earning", Decimal(0), Decimal(10)),
    RuleField("pending_days", "whole", "earning", 0, 365),
    RuleField("expiry_months", "whole", "earning", 0, 120),
    RuleField("campaign_combination", "choice", "earning", choices=CAMPAIGN_COMBINATIONS),
    RuleField("redeem_points_per_unit", "rate", "paying", Decimal("0.0001"), Decimal(1_000_000)),
    RuleField("min_cash_minor", "money", "paying", 0, MAX_MINOR),
    RuleField("max_redeem_share", "share", "paying", Decimal(0), Decimal(1)),
    RuleField("daily_program_cap_points", "whole", "limits", 0, MAX_POINTS),
    RuleField("daily_customer_cap_points", "whole", "limits", 0, MAX_POINTS),
    RuleField("max_receipt_total_minor", "money", "limits", 0, MAX_MINOR),
    RuleField("max_points_per_sale", "whole", "limits", 0, MAX_POINTS),
    RuleField("allow_negative_balance", "flag", "limits"),
    RuleField("bonuses_count_towards_caps", "flag", "limits"),
    RuleField("signup_bonus_points", "whole", "bonuses", 0, MAX_POINTS),
    RuleField("birthday_bonus_points", "whole", "bonuses", 0, MAX_POINTS),
    RuleField("birthday_min_days_known", "whole", "bonuses", 0, 3660),
    RuleField("referral_bonus_points", "whole", "bonuses", 0, MAX_POINTS),
    RuleField("referral_newcomer_points", "whole", "bonuses", 0, MAX_POINTS),
    RuleField("referral_min_basket_minor", "money", "bonuses", 0, MAX_MINOR),
    RuleField("referral_max_per_month", "whole", "bonuses", 0, 1000),
    RuleField("card_prefix", "prefix", "tills"),
    RuleField("card_symbology", "choice", "tills", choices=("ean13", "code128")),
    RuleField("hold_default_ttl_seconds", "whole", "tills", 1, MAX_HOLD_TTL_SECONDS),
    RuleField("hold_max_ttl_seconds", "whole", "tills", 1, MAX_HOLD_TTL_SECONDS),
    RuleField("void_window_hours", "whole", "tills", 0, 24 * 30),
)
FIELDS_BY_KEY = {field.key: field for field in RULE_FIELDS}


def refuse(key: str, problem: str, message: str, **details: Any) -> ValidationFailed:
    """The error of one field: `problem` says what is wrong, for the faces to word it."""
    return ValidationFailed(f"{key}: {message}", field=key, problem=problem, **details)


def checked_value(key: str, value: Any) -> Any:
    """The value as it is stored in `Program.rules` (JSON: Decimals as strings, ints,
    booleans, a sorted list, a dict), or ValidationFailed naming the field and the problem."""
    field = FIELDS_BY_KEY.get(key)
    if field is None:
        raise refuse(key, "unknown", "not a rule of this form")
    return _CHECKS[field.kind](field, value)


def _decimal(field: RuleField, value: Any) -> str:
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise refuse(field.key, "not_number", "a number written as text, like \"1.5\"")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise refuse(field.key, "not_number", f"not a number: {value!r}") from None
    if not number.is_finite():
        raise refuse(field.key, "not_number", f"not a number: {value!r}")
    if not field.low <= number <= field.high:
        raise refuse(field.key, "range", f"between {field.low} and {field.high}",
                     low=str(field.low), high=str(field.high))
    if -number.normalize().as_tuple().exponent > DECIMAL_PLACES:
        raise refuse(field.key, "decimals", f"at most {DECIMAL_PLACES} decimal places",
                     places=DECIMAL_PLACES)
    return _plain(number)


def _plain(number: Decimal) -> str:
    """"1.50" -> "1.5", "2.0" -> "2", "1E+1" -> "10": one way to write each value."""
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def _whole(field: RuleField, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise refuse(field.key, "not_whole", "a whole number")
    if not field.low <= value <= field.high:
        raise refuse(field.key, "range", f"between {field.low} and {field.high}",
                     low=field.low, high=field.high)
    return value


def _flag(field: RuleField, value: Any) -> bool:
    if not isinstance(value, bool):
        raise refuse(field.key, "not_flag", "true or false")
    return value


def _choice(field: RuleField, value: Any) -> str:
    if value not in field.choices:
        raise refuse(field.key, "choice", f"one of {', '.join(field.choices)}",
                     choices=list(field.choices))
    return str(value)


def _category(field: RuleField, value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not CATEGORY_FORMAT.fullmatch(text):
        raise refuse(field.key, "category", f"{value!r} is not a category id (1 to 40 "
                     "lowercase letters, digits, - or _)", category=str(value)[:40])
    return text


def _categories(field: RuleField, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_CATEGORIES:
        raise refuse(field.key, "not_list", f"a list of at most {MAX_CATEGORIES} categories")
    return sorted({_category(field, item) for item in value})


def _multipliers(field: RuleField, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > MAX_CATEGORIES:
        raise refuse(field.key, "not_list", f"at most {MAX_CATEGORIES} categories")
    return {_category(field, category): _decimal(field, multiplier)
            for category, multiplier in sorted(value.items())}


def _prefix(field: RuleField, value: Any) -> str:
    """Checked against the symbology with the other rules (`check_together`)."""
    if not isinstance(value, str) or not value.strip():
        raise refuse(field.key, "prefix", "digits (and capital letters for code128)")
    return value.strip()


_CHECKS = {"rate": _decimal, "share": _decimal, "money": _whole, "whole": _whole,
           "flag": _flag, "choice": _choice, "categories": _categories,
           "multipliers": _multipliers, "prefix": _prefix}


def check_together(merged: Mapping[str, Any], exponent: int) -> ProgramRules:
    """The checks between rules, then the whole set as the sales read it."""
    try:
        cards.make_card_number(merged["card_prefix"], 0, merged["card_symbology"])
    except ValueError:
        raise refuse("card_prefix", "prefix", "digits (and capital letters for code128) "
                     "that leave room for the card's own digits") from None
    if merged["hold_default_ttl_seconds"] > merged["hold_max_ttl_seconds"]:
        raise refuse("hold_default_ttl_seconds", "above_hold_max",
                     "at most hold_max_ttl_seconds")
    try:
        return ProgramRules.from_settings(merged, exponent)
    except (ValueError, TypeError, KeyError) as error:
        raise ValidationFailed(str(error), field="rules", problem="inconsistent") from None
