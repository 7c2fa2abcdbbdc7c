"""The dashboard's measures read from the daily rollups (analytics.daily): enrolments,
adoption, points, liability, baskets, tiers, campaigns and SMS, month by month.

Each reads rollup rows only (tiers now: the accounts' tier column), honours the store filter
when the figure belongs to a store (else says `program_wide`), and states money in minor
units, points as points and rates as percent with one decimal (None when nothing to divide).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from pos_loyalty.analytics import Filters, Measure, measure
from pos_loyalty.analytics.liability import expiry_label, month_of
from pos_loyalty.db import db
from pos_loyalty.models import (
    Account, Campaign, Program, RollupCampaignDay, RollupDay, RollupLiabilityDay, RollupSmsCostDay,
    RollupTierDay,
)
from pos_loyalty.models.account import ENROLMENT_CHANNELS
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for
from pos_loyalty.rules import points_value_minor

CHANNELS = (*ENROLMENT_CHANNELS, "unknown")
TIER_REASONS = ("reached", "kept", "lowered", "return", "set")
# Lift compares a campaign's days with the same weekdays of this many days before it.
LIFT_BASELINE_DAYS = 28


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole in percent, one decimal; None when whole is 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def average_minor(total_minor: int, count: int) -> int | None:
    """An average amount, to the nearest minor unit; None when there is nothing to average."""
    if count == 0:
        return None
    return int((Decimal(total_minor) / count).quantize(Decimal(1), ROUND_HALF_UP))


def months_of(filters: Filters) -> list[dt.date]:
    months, month = [], filters.first_month
    while month <= filters.last_month:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def last_day(filters: Filters) -> dt.date:
    return (filters.last_month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def by_month(filters: Filters, model: Any, *sums: Any, store: bool = True) -> dict[dt.date, tuple]:
    """Sums of `model` rows by month of the filters' months; the store filter applies when
    `store` (and the model keeps a store)."""
    month = month_of(model.day, db.session.get_bind().dialect.name)
    query = (select(month, *(func.coalesce(func.sum(column), 0) for column in sums))
             .where(model.program_id == filters.program.id, model.day >= filters.first_month,
                    model.day <= last_day(filters)).group_by(month))
    if store and filters.store_id is not None:
        query = query.where(model.store_id == filters.store_id)
    return {row[0]: tuple(int(value) for value in row[1:]) for row in db.session.execute(query)}


def monthly_rows(filters: Filters, model: Any, *sums: Any, store: bool = True) -> list[tuple]:
    """(month, *sums) for every month of the filters, zeros for months without rows."""
    found = by_month(filters, model, *sums, store=store)
    return [(month, *found.get(month, (0,) * len(sums))) for month in months_of(filters)]


def totals(rows: list[tuple]) -> list[int]:
    return [sum(row[index] for row in rows) for index in range(1, len(rows[0]))] if rows else []


# --- members -------------------------------------------------------------------------------

@measure("enrolments", "members", 10)
def enrolments(filters: Filters) -> Measure:
    rows = [(*row, sum(row[1:])) for row in monthly_rows(
        filters, RollupDay, *(getattr(RollupDay, f"enrolled_{c}") for c in CHANNELS))]
    return Measure("enrolments", "members", ("month", *CHANNELS, "enrolled"),
                   ("month", *("count",) * (len(CHANNELS) + 1)), tuple(rows), chart="stacked",
                   charted=CHANNELS, figures=(("enrolled", "count", sum(r[-1] for r in rows)),),
                   note="enrolments_note")


@measure("members", "members", 20)
def members(filters: Filters) -> Measure:
    """Accounts opened by each month's end (closed ones included): a running sum of the
    enrolments from the program's first day."""
    enrolled = sum(getattr(RollupDay, f"enrolled_{c}") for c in CHANNELS)
    before = select(func.coalesce(func.sum(enrolled), 0)).where(
        RollupDay.program_id == filters.program.id, RollupDay.day < filters.first_month)
    if filters.store_id is not None:
        before = before.where(RollupDay.store_id == filters.store_id)
    running, rows = int(db.session.scalar(before)), []
    for month, new in monthly_rows(filters, RollupDay, enrolled):
        running += new
        rows.append((month, new, running))
    return Measure("members", "members", ("month", "new_members", "members"),
                   ("month", "count", "count"), tuple(rows), charted=("members",),
                   figures=(("members", "count", running),), note="members_note")


@measure("adoption", "members", 30)
def adoption(filters: Filters) -> Measure:
    """Receipts with a card (our sales) / all receipts (with those the tills reported
    without a card)."""
    rows = [(month, with_card, without, percent(with_card, with_card + without))
            for month, with_card, without in monthly_rows(
                filters, RollupDay, RollupDay.sales, RollupDay.receipts_without_card)]
    with_card, without = (sum(row[1] for row in rows), sum(row[2] for row in rows))
    return Measure("adoption", "members",
                   ("month", "receipts_with_card", "receipts_without_card", "adoption_rate"),
                   ("month", "count", "count", "percent"), tuple(rows),
                   charted=("adoption_rate",),
                   figures=(("adoption_rate", "percent", percent(with_card, with_card + without)),),
                   note="adoption_note")


# --- points --------------------------------------------------------------------------------

@measure("points", "points", 10)
def points(filters: Filters) -> Measure:
    r = RollupDay
    rows = [(month, earned + campaign + bonus, redeemed, expired, taken_back)
            for month, earned, campaign, bonus, redeemed, expired, taken_back in monthly_rows(
                filters, r, r.points_earned, r.points_campaign, r.points_bonus,
                r.points_redeemed, r.points_expired, r.points_taken_back)]
    issued, redeemed, expired, taken_back = totals(rows) or (0, 0, 0, 0)
    return Measure("points", "points", ("month", "issued", "redeemed", "expired", "taken_back"),
                   ("month", "points", "points", "points", "points"), tuple(rows), chart="bar",
                   charted=("issued", "redeemed", "expired", "taken_back"),
                   figures=(("issued", "points", issued), ("redeemed", "points", redeemed),
                            ("expired", "points", expired), ("taken_back", "points", taken_back),
                            ("redemption_rate", "percent", percent(redeemed, issued)),
                            ("breakage", "percent", percent(expired, issued))),
                   note="points_note")


@measure("points_issued", "points", 20)
def points_issued(filters: Filters) -> Measure:
    r = RollupDay
    rows = monthly_rows(filters, r, r.points_earned, r.points_campaign, r.points_bonus)
    return Measure("points_issued", "points", ("month", "earned", "campaign", "bonus"),
                   ("month", "points", "points", "points"), tuple(rows), chart="stacked",
                   charted=("earned", "campaign", "bonus"))


# --- liability -----------------------------------------------------------------------------

def liability_day(filters: Filters) -> dt.date | None:
    """The last day kept at or before the end of the filters' last month (or yesterday)."""
    until = min(last_day(filters), local_day(filters.program, filters.now))
    return db.session.scalar(select(func.max(RollupLiabilityDay.day)).where(
        RollupLiabilityDay.program_id == filters.program.id, RollupLiabilityDay.day <= until))


@measure("liability", "liability", 10)
def liability(filters: Filters) -> Measure:
    """The points outstanding at the end of a day by the month they expire, and their value
    at the redemption rate (available and pending both: pending points are owed unless a
    return takes them back)."""
    day, rules = liability_day(filters), rules_for(filters.program)
    kept = [] if day is None else db.session.execute(
        select(RollupLiabilityDay.expiry_month, RollupLiabilityDay.available,
               RollupLiabilityDay.pending)
        .where(RollupLiabilityDay.program_id == filters.program.id,
               RollupLiabilityDay.day == day)
        .order_by(RollupLiabilityDay.expiry_month)).all()
    rows = tuple((expiry_label(month), available, pending,
                  points_value_minor(available + pending, rules))
                 for month, available, pending in kept)
    available, pending = sum(r[1] for r in rows), sum(r[2] for r in rows)
    return Measure("liability", "liability", ("expiry_month", "available", "pending", "value"),
                   ("label", "points", "points", "minor"), rows, chart="stacked",
                   charted=("available", "pending"),
                   figures=(("as_of", "day", day), ("available", "points", available),
                            ("pending", "points", pending),
                            ("value", "minor", points_value_minor(available + pending, rules))),
                   note="liability_note", program_wide=True)


# --- customers -----------------------------------------------------------------------------

@measure("basket", "customers", 10)
def basket(filters: Filters) -> Measure:
    """Average receipt of members, with points used and without."""
    r, rows = RollupDay, []
    for month, sales, minor, with_points, with_points_minor in monthly_rows(
            filters, r, r.sales, r.sales_minor, r.sales_with_points, r.sales_with_points_minor):
        rows.append((month, average_minor(minor, sales),
                     average_minor(with_points_minor, with_points),
                     average_minor(minor - with_points_minor, sales - with_points)))
    sums = by_month(filters, r, r.sales, r.sales_minor).values()
    sales, minor = sum(s for s, _ in sums), sum(m for _, m in sums)
    return Measure("basket", "customers",
                   ("month", "average_basket", "with_points", "without_points"),
                   ("month", "minor", "minor", "minor"), tuple(rows),
                   charted=("with_points", "without_points"),
                   figures=(("average_basket", "minor", average_minor(minor, sales)),),
                   note="basket_note")


# --- tiers ---------------------------------------------------------------------------------

@measure("tiers", "tiers", 10)
def tiers(filters: Filters) -> Measure:
    """Open accounts per tier now, in the ladder's order ("none": below the first rung)."""
    counts = dict(db.session.execute(
        select(Account.tier, func.count())
        .where(Account.program_id == filters.program.id, Account.status != "closed")
        .group_by(Account.tier)).all())
    ladder = [rung.key for rung in rules_for(filters.program).tiers]
    keys = [None, *ladder, *sorted(set(counts) - {None, *ladder})]
    rows = tuple((key or "none", counts.get(key, 0)) for key in keys)
    return Measure("tiers", "tiers", ("tier", "accounts"), ("label", "count"), rows,
                   chart="bar", charted=("accounts",), program_wide=True)


@measure("tier_moves", "tiers", 20)
def tier_moves(filters: Filters) -> Measure:
    found: dict[tuple[dt.date, str], int] = {}
    month = month_of(RollupTierDay.day, db.session.get_bind().dialect.name)
    for moved_in, reason, count in db.session.execute(
            select(month, RollupTierDay.reason, func.sum(RollupTierDay.count))
            .where(RollupTierDay.program_id == filters.program.id,
                   RollupTierDay.day >= filters.first_month,
                   RollupTierDay.day <= last_day(filters))
            .group_by(month, RollupTierDay.reason)):
        found[(moved_in, reason)] = int(count)
    rows = tuple((month, *(found.get((month, reason), 0) for reason in TIER_REASONS))
                 for month in months_of(filters))
    columns = tuple(f"tier_{reason}" for reason in TIER_REASONS)
    return Measure("tier_moves", "tiers", ("month", *columns),
                   ("month", *("count",) * len(columns)), rows, chart="stacked",
                   charted=columns, note="tier_moves_note", program_wide=True)


# --- campaigns -----------------------------------------------------------------------------

@measure("campaigns", "campaigns", 10)
def campaigns(filters: Filters) -> Measure:
    """Each campaign running in the period: its points and the sales it gave points on, and
    its lift (see `lift`)."""
    program, first, last = filters.program, filters.first_month, last_day(filters)
    yesterday = local_day(program, filters.now) - dt.timedelta(days=1)
    running = db.session.scalars(select(Campaign).where(
        Campaign.program_id == program.id,
        Campaign.starts_at < local_day_start_utc(program, last + dt.timedelta(days=1)),
        Campaign.ends_at > local_day_start_utc(program, first))
        .order_by(Campaign.starts_at, Campaign.id)).all()
    rows = []
    for campaign in running:
        query = (select(*(func.coalesce(func.sum(column), 0) for column in (
            RollupCampaignDay.points, RollupCampaignDay.sales, RollupCampaignDay.sales_minor)))
            .where(RollupCampaignDay.campaign_id == campaign.id,
                   RollupCampaignDay.day >= first, RollupCampaignDay.day <= last))
        if filters.store_id is not None:
            query = query.where(RollupCampaignDay.store_id == filters.store_id)
        given, sales, sales_minor = db.session.execute(query).one()
        rows.append((campaign.name, int(given), int(sales), int(sales_minor),
                     lift(filters, campaign, max(first, campaign_days(program, campaign)[0]),
                          min(last, yesterday, campaign_days(program, campaign)[1]))))
    return Measure("campaigns", "campaigns",
                   ("campaign", "points", "sales", "sales_minor", "lift"),
                   ("label", "points", "count", "minor", "percent"), tuple(rows),
                   chart="bar", charted=("lift",), note="lift_note")


def campaign_days(program: Program, campaign: Campaign) -> tuple[dt.date, dt.date]:
    """The first and last local days the campaign runs (an early end included)."""
    ends_at = min(campaign.ends_at, campaign.ended_at or campaign.ends_at)
    return (local_day(program, campaign.starts_at),
            local_day(program, ends_at - dt.timedelta(microseconds=1)))


def lift(filters: Filters, campaign: Campaign, first: dt.date, last: dt.date) -> Decimal | None:
    """(Sales per matching day from `first` to `last`) / (sales per day on the same weekdays
    in the LIFT_BASELINE_DAYS before the campaign's first day) - 1, in percent. Sales: every
    completed receipt with a card at the campaign's stores (and the store filter); matching
    days: the campaign's weekdays (every day when it names none). None when either side has
    no day or the weekdays before it had no sale."""
    program = filters.program
    weekdays = set(campaign.weekdays or range(1, 8))
    start = campaign_days(program, campaign)[0]
    during = [day for day in days_between(first, last) if day.isoweekday() in weekdays]
    before = [day for day in days_between(start - dt.timedelta(days=LIFT_BASELINE_DAYS),
                                          start - dt.timedelta(days=1))
              if day.isoweekday() in weekdays]
    stores = set(campaign.store_ids or ())
    if filters.store_id is not None:
        if stores and filters.store_id not in stores:
            return None
        stores = {filters.store_id}
    sales_during, sales_before = sales_on(program, during, stores), sales_on(program, before, stores)
    if not during or sales_before == 0:
        return None
    ratio = (Decimal(sales_during) / len(during)) / (Decimal(sales_before) / len(before))
    return ((ratio - 1) * 100).quantize(Decimal("0.1"))


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def sales_on(program: Program, days: list[dt.date], stores: set[int]) -> int:
    """Completed sales on `days` at `stores` (every store when empty)."""
    if not days:
        return 0
    query = select(func.coalesce(func.sum(RollupDay.sales), 0)).where(
        RollupDay.program_id == program.id, RollupDay.day.in_(days))
    if stores:
        query = query.where(RollupDay.store_id.in_(stores))
    return int(db.session.scalar(query))


# --- SMS -----------------------------------------------------------------------------------

@measure("sms", "sms", 10)
def sms(filters: Filters) -> Measure:
    r = RollupDay
    rows = monthly_rows(filters, r, r.sms_sent, r.sms_delivered, r.sms_failed)
    sent, delivered, failed = totals(rows) or (0, 0, 0)
    unit, cost = sms_cost(filters)
    return Measure("sms", "sms", ("month", "sent", "delivered", "failed"),
                   ("month", "count", "count", "count"), tuple(rows), chart="bar",
                   charted=("sent", "delivered", "failed"),
                   figures=(("sent", "count", sent), ("delivered", "count", delivered),
                            ("failed", "count", failed), ("sms_cost", "decimal", cost),
                            ("sms_cost_unit", "label", unit)),
                   note="sms_note")


def sms_cost(filters: Filters) -> tuple[str | None, Decimal | None]:
    """(currency, cost) of the period's SMS in the currency Twilio priced most of them in;
    (None, None) while no price is known."""
    query = (select(RollupSmsCostDay.price_unit, func.sum(RollupSmsCostDay.messages),
                    func.sum(RollupSmsCostDay.cost_micros))
             .where(RollupSmsCostDay.program_id == filters.program.id,
                    RollupSmsCostDay.price_unit != "",
                    RollupSmsCostDay.day >= filters.first_month,
                    RollupSmsCostDay.day <= last_day(filters))
             .group_by(RollupSmsCostDay.price_unit))
    if filters.store_id is not None:
        query = query.where(RollupSmsCostDay.store_id == filters.store_id)
    by_unit = {unit: (int(messages), int(micros)) for unit, messages, micros
               in db.session.execute(query)}
    if not by_unit:
        return None, None
    unit = max(by_unit, key=lambda unit: (by_unit[unit][0], unit))
    return unit, Decimal(by_unit[unit][1]).scaleb(-6)
