"""Campaigns: made, listed and ended by the people who run the program; read by every sale.

What a campaign gives is decided by `rules.applied_campaigns` (pure); this module turns rows
into `rules.CampaignTerms`, keeps the running ones in each app server's memory (every sale
asks, and they change a few times a month), counts a customer's uses, and charges budgets.

A budget is charged under the campaign row's lock, with the condition in the UPDATE itself
and a CHECK behind it, so concurrent sales can never give more than the budget: the last
sale that fits gets what is left, the next ones get nothing from that campaign. A sale whose
budgets surely have room charges them with its other writes, right before the commit, as the
program's daily cap is charged (`caps`).
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from pos_loyalty import programs
from pos_loyalty.db import TryAgain, db
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Campaign, LedgerEntry, Store
from pos_loyalty.models.program import Program
from pos_loyalty.payloads import plain_text
from pos_loyalty.rules import AppliedCampaign, CampaignTerms, rung_named
from pos_loyalty.statements import Step, Writes

MAX_MULTIPLIER = Decimal(10)
MAX_BONUS_POINTS = 1_000_000


# --- what every sale reads ------------------------------------------------------------------

def terms_of(campaign: Campaign) -> CampaignTerms:
    """A row as the rules read it."""
    return CampaignTerms(
        id=campaign.id, name=campaign.name, labels=dict(campaign.labels or {}),
        starts_at=campaign.starts_at,
        ends_at=min(campaign.ends_at, campaign.ended_at or campaign.ends_at),
        weekdays=frozenset(campaign.weekdays or ()),
        hours_from=_clock(campaign.hours_from), hours_until=_clock(campaign.hours_until),
        store_ids=frozenset(campaign.store_ids or ()),
        categories=frozenset(c.lower() for c in campaign.categories or ()),
        skus=frozenset(campaign.skus or ()), tiers=frozenset(campaign.tiers or ()),
        min_basket_minor=campaign.min_basket_minor,
        first_purchase_only=campaign.first_purchase_only, effect=campaign.effect,
        multiplier=Decimal(campaign.multiplier or "1"), bonus_points=campaign.bonus_points,
        per_customer_limit=campaign.per_customer_limit, budget_points=campaign.budget_points)


def _clock(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


def running_campaigns(program: Program, now: dt.datetime) -> tuple[CampaignTerms, ...]:
    """Campaigns not ended nor spent, as of at most [service] auth_cache_seconds ago.

    Kept in the app server's memory like the terminal keys: a campaign made or ended reaches
    every server within that time (at once on the server that made it). A stale list never
    gives more than a budget: budgets are charged in the database.
    """
    cache = current_app.extensions.setdefault("pos_loyalty.campaign_cache", {})
    cached = cache.get(program.id)
    if cached is None or cached[0] < time.monotonic():
        rows = db.session.scalars(
            select(Campaign).where(Campaign.program_id == program.id,
                                   Campaign.ended_at.is_(None), Campaign.ends_at > now,
                                   (Campaign.budget_points == 0)
                                   | (Campaign.points_given < Campaign.budget_points))
            .order_by(Campaign.id)).all()
        ttl = float(programs.settings()["service"]["auth_cache_seconds"])
        cached = cache[program.id] = (time.monotonic() + ttl, tuple(terms_of(c) for c in rows))
    return tuple(t for t in cached[1] if t.ends_at > now)


def forget_cached(program: Program) -> None:
    """This server sees a change at once (others within auth_cache_seconds)."""
    current_app.extensions.setdefault("pos_loyalty.campaign_cache", {}).pop(program.id, None)


def limited_ids(campaigns: Iterable[CampaignTerms]) -> list[int]:
    """Campaigns with a per-customer limit: a sale must count the customer's uses of them."""
    return [c.id for c in campaigns if c.per_customer_limit]


USES_OF_ACCOUNT = (
    select(LedgerEntry.campaign_id, func.count())
    .where(LedgerEntry.account_id == bindparam("uses_account"), LedgerEntry.kind == "campaign",
           LedgerEntry.campaign_id.in_(bindparam("uses_campaigns", expanding=True)))
    .group_by(LedgerEntry.campaign_id))


def uses_of(account_id: int, campaign_ids: Sequence[int]) -> dict[int, int]:
    """How many times the customer got each campaign (a sale each; returns do not undo it)."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(USES_OF_ACCOUNT, {"uses_account": account_id,
                                                "uses_campaigns": list(campaign_ids)})
    return {campaign_id: count for campaign_id, count in rows}


def has_budget(campaigns: Iterable[CampaignTerms]) -> bool:
    """Whether a sale may charge a budget: it then reads what the budgets have left."""
    return any(c.budget_points for c in campaigns)


def charge_budgets(applied: Sequence[AppliedCampaign], terms: Mapping[int, CampaignTerms],
                   left: Mapping[int, int], writes: Writes) -> tuple[AppliedCampaign, ...]:
    """Take the points of campaigns with a budget from it; a campaign whose budget has less
    left gives what is left (perhaps nothing, and then it is not applied).

    `left` is what each budget had when the sale began, read without the lock
    (`BUDGETS_LEFT`). When every budget the sale charges surely has room, the charges join
    the sale's `writes`, each an UPDATE with its condition, so the campaign rows are locked
    only from the sale's last statement to its commit; if concurrent sales took the room
    meanwhile, the whole sale runs again (TryAgain) and, seeing a budget near its end,
    charges them all now, under their locks (`_charge`). Either way a sale charges its
    campaigns in id order, before the program's daily counter (`caps`): sales that lock hot
    rows in the same order never wait on each other in a circle.
    """
    budgeted = sorted((c for c in applied if terms[c.id].budget_points), key=lambda c: c.id)
    if all(c.points <= left.get(c.id, 0) for c in budgeted):
        for campaign in budgeted:
            writes.add(Step(CHARGE_IF_ROOM, {"c_id": campaign.id, "c_points": campaign.points}),
                       expect_rows=1, error=TryAgain)
        return tuple(applied)
    granted = {c.id: _charge(c.id, c.points) for c in budgeted}
    return tuple(AppliedCampaign(c.id, c.name, c.labels, granted.get(c.id, c.points))
                 for c in applied if granted.get(c.id, c.points) > 0)


_campaign = Campaign.__table__
CHARGE_IF_ROOM = (update(_campaign)
                  .where(_campaign.c.id == bindparam("c_id"),
                         _campaign.c.points_given + bindparam("c_points")
                         <= _campaign.c.budget_points)
                  .values(points_given=_campaign.c.points_given + bindparam("c_points"))
                  .returning(_campaign.c.id))
BUDGET_LOCKED = (select(_campaign.c.budget_points - _campaign.c.points_given)
                 .where(_campaign.c.id == bindparam("c_id")).with_for_update())
CHARGE = (update(_campaign).where(_campaign.c.id == bindparam("c_id"))
          .values(points_given=_campaign.c.points_given + bindparam("c_points")))
UNCHARGE = (update(_campaign).where(_campaign.c.id == bindparam("c_id"))
            .values(points_given=_campaign.c.points_given - bindparam("c_points")))
# What the program's running budgets have left, read without their locks in a sale's first
# round trip (`sale_reads`): it only tells whether a charge surely fits.
BUDGETS_LEFT = (select(_campaign.c.id, _campaign.c.budget_points - _campaign.c.points_given)
                .where(_campaign.c.program_id == bindparam("program_id"),
                       _campaign.c.budget_points > 0, _campaign.c.ended_at.is_(None),
                       _campaign.c.ends_at > bindparam("now")))


def return_to_budgets(charged: Sequence[AppliedCampaign], kept: Sequence[AppliedCampaign],
                      terms: Mapping[int, CampaignTerms]) -> None:
    """Give back to their budgets the points of charged campaigns that a later cap cut (the
    charges were sent by then, and the sale holds their rows' locks), so that a budget counts
    only points given."""
    kept_points = {campaign.id: campaign.points for campaign in kept}
    for campaign in charged:
        unused = campaign.points - kept_points.get(campaign.id, 0)
        if unused > 0 and terms[campaign.id].budget_points:
            db.session.execute(UNCHARGE, {"c_id": campaign.id, "c_points": unused})


def _charge(campaign_id: int, points: int) -> int:
    """The points the budget grants, charged under the campaign row's lock (held until the
    sale commits: sales of one budgeted campaign charge it one at a time; on SQLite every
    writer runs alone anyway). The CHECK within_budget stands behind it.

    While the budget has room, one UPDATE charges it whole (its WHERE is checked again on
    the row it waited for); only a budget near its end is read under the lock first, to
    give what is left.
    """
    connection = db.session.connection()
    params = {"c_id": campaign_id, "c_points": points}
    if connection.execute(CHARGE_IF_ROOM, params).first() is not None:
        return points
    left = connection.execute(BUDGET_LOCKED, {"c_id": campaign_id}).scalar()
    granted = max(0, min(points, left or 0))
    if granted:
        connection.execute(CHARGE, {"c_id": campaign_id, "c_points": granted})
    return granted


# --- made, listed, ended ----------------------------------------------------------------------

WEEKDAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
                 "lun": 1, "mar": 2, "mer": 3, "jeu": 4, "ven": 5, "sam": 6, "dim": 7}


def create_campaign(program: Program, spec: Mapping[str, Any], now: dt.datetime,
                    actor: str) -> Campaign:
    """A campaign from its terms, each checked and named in the error when wrong.

    `spec` is what the CLI or the back office read: name, labels {fr, en}, starts and ends
    (the program's local time, "2026-12-05" or "2026-12-05T18:00"; a date alone for ends
    includes that day), weekdays, hours
    ("18:00-20:00"), store_ids, categories, skus, tiers, min_basket_minor,
    first_purchase_only, and either multiplier ("2") or bonus_points; per_customer_limit and
    budget_points (0 = none).
    """
    starts = _local_moment(program, spec.get("starts"), "starts")
    ends = _local_moment(program, spec.get("ends"), "ends")
    if ends <= starts:
        raise ValidationFailed("A campaign must end after it starts.", field="ends")
    effect, multiplier, bonus = _effect(spec)
    hours_from, hours_until = _hours(spec.get("hours"))
    campaign = Campaign(
        program_id=program.id, name=_name(spec.get("name")), labels=_labels(spec.get("labels")),
        starts_at=starts, ends_at=ends, weekdays=_weekdays(spec.get("weekdays")),
        hours_from=hours_from, hours_until=hours_until,
        store_ids=_store_ids(program, spec.get("store_ids")),
        categories=_words(spec.get("categories"), "categories", lower=True),
        skus=_words(spec.get("skus"), "skus"), tiers=_tier_keys(program, spec.get("tiers")),
        min_basket_minor=_count(spec, "min_basket_minor", 10**12),
        first_purchase_only=_flag(spec, "first_purchase_only"), effect=effect,
        multiplier=multiplier, bonus_points=bonus,
        per_customer_limit=_count(spec, "per_customer_limit", 10**6),
        budget_points=_count(spec, "budget_points", 10**12), points_given=0,
        created_by=actor, created_at=now)
    db.session.add(campaign)
    db.session.flush()
    forget_cached(program)
    return campaign


def end_campaign(program: Program, campaign_id: int, now: dt.datetime) -> Campaign:
    """Stop a campaign now (it stays listed, with what it gave)."""
    campaign = find_campaign(program, campaign_id)
    if campaign.ended_at is None:
        campaign.ended_at = now
        db.session.flush()
    forget_cached(program)
    return campaign


def find_campaign(program: Program, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.program_id != program.id:
        raise NotFound(f"No campaign {campaign_id} in this program.")
    return campaign


def list_campaigns(program: Program, now: dt.datetime, *,
                   include_past: bool = False) -> list[Campaign]:
    """Campaigns running or to come (and past ones when asked), soonest first."""
    query = select(Campaign).where(Campaign.program_id == program.id)
    if not include_past:
        query = query.where(Campaign.ended_at.is_(None), Campaign.ends_at > now)
    return list(db.session.scalars(query.order_by(Campaign.starts_at, Campaign.id)))


def status_of(campaign: Campaign, now: dt.datetime) -> str:
    """scheduled, running, spent (budget used up), ended."""
    if campaign.ended_at is not None or campaign.ends_at <= now:
        return "ended"
    if campaign.budget_points and campaign.points_given >= campaign.budget_points:
        return "spent"
    return "running" if campaign.starts_at <= now else "scheduled"


def campaign_view(program: Program, campaign: Campaign, now: dt.datetime,
                  language: str) -> dict[str, Any]:
    """A campaign as every face shows it: its terms in the program's local time."""
    terms = terms_of(campaign)
    return {
        "id": campaign.id, "name": campaign.name, "label": terms.label(language),
        "status": status_of(campaign, now),
        "starts_at": _local_iso(program, campaign.starts_at),
        "ends_at": _local_iso(program, terms.ends_at),
        "weekdays": list(campaign.weekdays or []),
        "hours": (f"{campaign.hours_from}-{campaign.hours_until}"
                  if campaign.hours_from else None),
        "store_ids": list(campaign.store_ids or []),
        "categories": list(campaign.categories or []), "skus": list(campaign.skus or []),
        "tiers": list(campaign.tiers or []), "min_basket_minor": campaign.min_basket_minor,
        "first_purchase_only": campaign.first_purchase_only, "effect": campaign.effect,
        "multiplier": campaign.multiplier, "bonus_points": campaign.bonus_points,
        "per_customer_limit": campaign.per_customer_limit,
        "budget_points": campaign.budget_points, "points_given": points_given(campaign),
    }


def points_given(campaign: Campaign) -> int:
    """What the campaign gave so far: its budget's counter, or, without a budget (whose
    counter nobody charges, so that its sales never wait on one row), its entries' sum."""
    if campaign.budget_points:
        return campaign.points_given
    return int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0))
        .where(LedgerEntry.campaign_id == campaign.id)) or 0)


def _local_iso(program: Program, moment: dt.datetime) -> str:
    return programs.utc_to_local(program, moment).isoformat(timespec="minutes")


def _local_moment(program: Program, value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(0)) + _whole_day(field)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
            if len(value.strip()) == len("2026-12-24"):
                moment += _whole_day(field)
        except ValueError:
            raise ValidationFailed(f"{field} must be a date or a date and time, e.g. "
                                   "2026-12-05 or 2026-12-05T18:00.", field=field) from None
    else:
        raise ValidationFailed(f"A campaign needs its {field} date.", field=field)
    if moment.tzinfo is not None:
        raise ValidationFailed(f"{field} is read in the program's time zone: give no offset.",
                               field=field)
    return programs.local_to_utc(program, moment)


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
