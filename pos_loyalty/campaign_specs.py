"""A campaign's terms as people write them (the CLI's TOML, the back office's form) and back.

`campaign_columns` reads a spec into Campaign columns, each term checked and the wrong one
named in the error (`field`); `campaign_spec` writes a campaign back as the spec that makes
it, for the back office's form and the audit trail.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Campaign, Store
from pos_loyalty.models.program import Program
from pos_loyalty.payloads import plain_text
from pos_loyalty.rules import rung_named

MAX_MULTIPLIER = Decimal(10)
MAX_BONUS_POINTS = 1_000_000
WEEKDAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
                 "lun": 1, "mar": 2, "mer": 3, "jeu": 4, "ven": 5, "sam": 6, "dim": 7}


def campaign_columns(program: Program, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Campaign columns a spec gives, every term checked (see `create_campaign`)."""
    starts = local_moment(program, spec.get("starts"), "starts")
    ends = local_moment(program, spec.get("ends"), "ends")
    if ends <= starts:
        raise ValidationFailed("A campaign must end after it starts.", field="ends")
    effect, multiplier, bonus = _effect(spec)
    hours_from, hours_until = _hours(spec.get("hours"))
    return dict(
        name=_name(spec.get("name")), labels=_labels(spec.get("labels")),
        starts_at=starts, ends_at=ends, weekdays=_weekdays(spec.get("weekdays")),
        hours_from=hours_from, hours_until=hours_until,
        store_ids=_store_ids(program, spec.get("store_ids")),
        categories=_words(spec.get("categories"), "categories", lower=True),
        skus=_words(spec.get("skus"), "skus"), tiers=_tier_keys(program, spec.get("tiers")),
        min_basket_minor=_count(spec, "min_basket_minor", 10**12),
        first_purchase_only=_flag(spec, "first_purchase_only"), effect=effect,
        multiplier=multiplier, bonus_points=bonus,
        per_customer_limit=_count(spec, "per_customer_limit", 10**6),
        budget_points=_count(spec, "budget_points", 10**12))


def campaign_spec(program: Program, campaign: Campaign) -> dict[str, Any]:
    """A campaign as the spec that makes it (what `create_campaign` reads): the back
    office's form and the audit trail's before and after. A date alone where a moment
    falls at midnight, local time (for the end, the day before: that day included)."""
    spec: dict[str, Any] = {
        "name": campaign.name, "labels": dict(campaign.labels or {}),
        "starts": local_spec(program, campaign.starts_at, "starts"),
        "ends": local_spec(program, campaign.ends_at, "ends"),
        "weekdays": list(campaign.weekdays or []),
        "hours": (f"{campaign.hours_from}-{campaign.hours_until}"
                  if campaign.hours_from else ""),
        "store_ids": list(campaign.store_ids or []),
        "categories": list(campaign.categories or []), "skus": list(campaign.skus or []),
        "tiers": list(campaign.tiers or []), "min_basket_minor": campaign.min_basket_minor,
        "first_purchase_only": campaign.first_purchase_only,
        "per_customer_limit": campaign.per_customer_limit,
        "budget_points": campaign.budget_points}
    if campaign.effect == "multiplier":
        spec["multiplier"] = campaign.multiplier
    else:
        spec["bonus_points"] = campaign.bonus_points
    return spec


def local_spec(program: Program, moment: dt.datetime, field: str) -> str:
    """A naive UTC moment as a spec writes it in the program's time: a date alone at local
    midnight (for "ends", the day before, which a date alone includes)."""
    local = programs.utc_to_local(program, moment)
    if local.time() != dt.time(0):
        return local.isoformat(timespec="minutes")
    return (local - _whole_day(field)).date().isoformat()


def local_moment(program: Program, value: Any, field: str) -> dt.datetime:
    """A spec's date, or date and time, in the program's time zone, as naive UTC."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
        whole_day = True
    elif isinstance(value, str):
        whole_day = len(value.strip()) == len("2026-12-24")
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed(f"{field} must be a date or a date and time, e.g. "
                                   "2026-12-05 or 2026-12-05T18:00.", field=field) from None
    elif isinstance(value, dt.datetime):
        whole_day = False
    else:
        raise ValidationFailed(f"{field}: a date is needed.", field=field)
    if value.tzinfo is not None:
        raise ValidationFailed(f"{field} is read in the program's time zone: give no offset.",
                               field=field)
    try:
        return programs.local_to_utc(program, value + (_whole_day(field) if whole_day
                                                       else dt.timedelta(0)))
    except (OverflowError, ValueError):
        raise ValidationFailed(f"{field} is out of the calendar.", field=field) from None


def _whole_day(field: str) -> dt.timedelta:
    """A date alone starts at the beginning of that day, and, for "ends", ends at the end of
    it (as for promotions): "ends 2026-12-31" includes the 31st."""
    return dt.timedelta(days=1) if field == "ends" else dt.timedelta(0)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 120:
        raise ValidationFailed("A campaign needs a name of 1 to 120 characters.", field="name")
    return plain_text(value.strip(), "name")


def _labels(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and len(k) <= 8 and isinstance(v, str) and len(v) <= 120
            for k, v in value.items()):
        raise ValidationFailed("labels are texts per language, e.g. {fr = \"Points doublés\", "
                               "en = \"Double points\"}, 120 characters at most.", field="labels")
    return {k: plain_text(v.strip(), "labels") for k, v in value.items() if v.strip()}


def _effect(spec: Mapping[str, Any]) -> tuple[str, str | None, int]:
    multiplier, bonus = spec.get("multiplier"), spec.get("bonus_points")
    if (multiplier is None) == (bonus is None):
        raise ValidationFailed("A campaign gives either a multiplier (\"2\" = double points) or "
                               "bonus_points per receipt.", field="multiplier")
    if bonus is not None:
        if isinstance(bonus, bool) or not isinstance(bonus, int) \
                or not 1 <= bonus <= MAX_BONUS_POINTS:
            raise ValidationFailed(f"bonus_points must be 1 to {MAX_BONUS_POINTS}.",
                                   field="bonus_points")
        return "fixed", None, bonus
    try:
        factor = Decimal(str(multiplier)) if not isinstance(multiplier, float) else None
    except InvalidOperation:
        factor = None
    if factor is None or not factor.is_finite() or not Decimal(1) < factor <= MAX_MULTIPLIER:
        raise ValidationFailed(f"multiplier must be a number above 1 and at most "
                               f"{MAX_MULTIPLIER}, written as text (\"2\", \"1.5\").",
                               field="multiplier")
    return "multiplier", str(factor), 0


def _hours(value: Any) -> tuple[str | None, str | None]:
    if value in (None, ""):
        return None, None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in str(value).split("-"))
    except ValueError:
        raise ValidationFailed("hours are \"HH:MM-HH:MM\" in the program's time, e.g. "
                               "\"18:00-20:00\" (\"22:00-02:00\" runs over midnight).",
                               field="hours") from None
    if start == end:
        raise ValidationFailed("hours must not start and end at the same time.", field="hours")
    return start.strftime("%H:%M"), end.strftime("%H:%M")


def _weekdays(value: Any) -> list[int]:
    days = set()
    for item in _list(value, "weekdays"):
        day = WEEKDAY_NAMES.get(item.strip().lower()[:3]) if isinstance(item, str) else item
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            raise ValidationFailed("weekdays are 1 (Monday) to 7 (Sunday), or names (sat, sun).",
                                   field="weekdays")
        days.add(day)
    return sorted(days)


def _store_ids(program: Program, value: Any) -> list[int]:
    ids = sorted({_store_id(item) for item in _list(value, "store_ids")})
    if ids:
        known = set(db.session.scalars(select(Store.id).where(Store.program_id == program.id,
                                                              Store.id.in_(ids))))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValidationFailed(f"No store {unknown[0]} in this program.", field="store_ids")
    return ids


def _store_id(item: Any) -> int:
    if isinstance(item, str) and item.strip().isdigit():
        return int(item)
    if isinstance(item, bool) or not isinstance(item, int):
        raise ValidationFailed("store_ids are store numbers.", field="store_ids")
    return item


def _words(value: Any, field: str, lower: bool = False) -> list[str]:
    words = []
    for item in _list(value, field):
        if not isinstance(item, str) or not 1 <= len(item.strip()) <= 64:
            raise ValidationFailed(f"{field} are texts of 1 to 64 characters.", field=field)
        words.append(plain_text(item.strip().lower() if lower else item.strip(), field))
    return sorted(set(words))


def _tier_keys(program: Program, value: Any) -> list[str]:
    ladder = programs.rules_for(program).tiers
    keys = _words(value, "tiers", lower=True)
    for key in keys:
        if rung_named(ladder, key) is None:
            raise ValidationFailed(f"No tier {key!r} in this program's ladder.", field="tiers")
    return keys


def _list(value: Any, field: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or len(value) > 1000:
        raise ValidationFailed(f"{field} must be a list.", field=field)
    return list(value)


def _count(spec: Mapping[str, Any], field: str, maximum: int) -> int:
    value = spec.get(field, 0) or 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValidationFailed(f"{field} must be a whole number from 0 to {maximum}.",
                               field=field)
    return value


def _flag(spec: Mapping[str, Any], field: str) -> bool:
    value = spec.get(field, False)
    if not isinstance(value, bool):
        raise ValidationFailed(f"{field} must be true or false.", field=field)
    return value
