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
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from pos_loyalty import programs
from pos_loyalty.campaign_specs import campaign_columns
from pos_loyalty.db import TryAgain, db
from pos_loyalty.errors import (
    CampaignTermLocked, NotFound, OfferEnded, ValidationFailed,
)
from pos_loyalty.models import Campaign, LedgerEntry
from pos_loyalty.models.program import Program
from pos_loyalty.rules import AppliedCampaign, CampaignTerms
from pos_loyalty.statements import Step, Writes

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


# --- made, changed, listed, ended --------------------------------------------------------------

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
    campaign = Campaign(program_id=program.id, **campaign_columns(program, spec),
                        points_given=0, created_by=actor, created_at=now)
    db.session.add(campaign)
    db.session.flush()
    forget_cached(program)
    return campaign


# What may change once a campaign has started: the sales it already gave points to were
# judged on its earning terms, so those stay; the name, labels, end and budget may move.
CHANGEABLE_WHEN_STARTED = ("name", "labels", "ends_at", "budget_points")
# The spec's field that names each column in an error.
COLUMN_FIELDS = {"starts_at": "starts", "ends_at": "ends", "hours_from": "hours",
                 "hours_until": "hours", "effect": "multiplier"}


def update_campaign(program: Program, campaign_id: int, spec: Mapping[str, Any],
                    now: dt.datetime) -> Campaign:
    """Change a campaign from a whole spec, checked as at creation. A scheduled campaign
    may change every term; a started one only CHANGEABLE_WHEN_STARTED, its end not before
    now (end it instead) and its budget only upwards (none stays none: its sales charged no
    counter); an ended one nothing."""
    campaign = db.session.scalar(select(Campaign).where(
        Campaign.id == campaign_id, Campaign.program_id == program.id).with_for_update())
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id} in this program.")
    if status_of(campaign, now) == "ended":
        raise OfferEnded("This campaign has ended: it can no longer change.")
    columns = campaign_columns(program, spec)
    if campaign.starts_at <= now:
        _check_started_change(campaign, columns, now)
    for column, value in columns.items():
        if getattr(campaign, column) != value:
            setattr(campaign, column, value)
    db.session.flush()
    forget_cached(program)
    return campaign


def _check_started_change(campaign: Campaign, columns: Mapping[str, Any],
                          now: dt.datetime) -> None:
    for column, value in columns.items():
        if column not in CHANGEABLE_WHEN_STARTED and getattr(campaign, column) != value:
            field = COLUMN_FIELDS.get(column, column)
            if column in ("multiplier", "bonus_points"):
                field = "multiplier" if columns["effect"] == "multiplier" else "bonus_points"
            raise CampaignTermLocked(f"{field} cannot change once the campaign has started: "
                                     "end it and create another.", field=field)
    if columns["ends_at"] <= now:
        raise ValidationFailed("A running campaign must end later than now: to stop it now, "
                               "end it.", field="ends")
    old, new = campaign.budget_points, columns["budget_points"]
    if (old == 0 and new != 0) or (old and new < old):
        raise CampaignTermLocked("A started campaign's budget may only rise (none stays "
                                 "none).", field="budget_points")


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


