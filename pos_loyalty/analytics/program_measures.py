"""The dashboard's measures read from the daily rollups (analytics.daily): enrolments,
adoption and members, points and their rates, liability, baskets, tiers, campaigns and SMS,
month by month. Keys are those the back office has words for (backoffice.measure_words).

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
from pos_loyalty.analytics.local_time import month_end, months_from
from pos_loyalty.analytics.rates import average_minor, percent
from pos_loyalty.analytics.liability import expiry_label, month_of
from pos_loyalty.db import db
from pos_loyalty.models import (
    Account, Campaign, Program, RollupCampaignDay, RollupDay, RollupLiabilityDay, RollupSmsCostDay,
    RollupTierDay,
)
from pos_loyalty.models.account import ENROLMENT_CHANNELS
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for
from pos_loyalty.rules import points_value_minor

# Column keys of the enrolment channels; "not_recorded": accounts opened before 0014.
CHANNELS = (*ENROLMENT_CHANNELS, "not_recorded")
# Lift compares a campaign's days with the same weekdays of this many days before it.
LIFT_BASELINE_DAYS = 28


def months_of(filters: Filters) -> list[dt.date]:
    return months_from(filters.first_month, filters.last_month)


def last_day(filters: Filters) -> dt.date:
    return month_end(filters.last_month)


def by_month(filters: Filters, model: Any, *sums: Any,
             where: list[Any] | tuple[Any, ...] = ()) -> dict[dt.date, tuple]:
    """Sums of `model` rows (also meeting `where`) by month of the filters' months, at the
    filter's store."""
    month = month_of(model.day, db.session.get_bind().dialect.name)
    query = (select(month, *(func.coalesce(func.sum(column), 0) for column in sums))
             .where(model.program_id == filters.program.id, model.day >= filters.first_month,
                    model.day <= last_day(filters), *where).group_by(month))
    if filters.store_id is not None:
        query = query.where(model.store_id == filters.store_id)
    return {row[0]: tuple(int(value) for value in row[1:]) for row in db.session.execute(query)}


def monthly_rows(filters: Filters, model: Any, *sums: Any) -> list[tuple]:
    """(month, *sums) for every month of the filters, zeros for months without rows."""
    found = by_month(filters, model, *sums)
    return [(month, *found.get(month, (0,) * len(sums))) for month in months_of(filters)]


# --- members -------------------------------------------------------------------------------

def enrolled_on(channel: str) -> Any:
    return getattr(RollupDay, "enrolled_unknown" if channel == "not_recorded"
                   else f"enrolled_{channel}")


@measure("enrolments", "members", 10)
def enrolments(filters: Filters) -> Measure:
    rows = [(*row, sum(row[1:])) for row in monthly_rows(
        filters, RollupDay, *(enrolled_on(channel) for channel in CHANNELS))]
    return Measure("enrolments", "members", ("month", *CHANNELS, "enrolled"),
                   ("month", *("count",) * (len(CHANNELS) + 1)), tuple(rows), chart="stacked",
                   charted=CHANNELS, figures=(("enrolled", "count", sum(r[-1] for r in rows)),))


def members_before(filters: Filters, month: dt.date) -> int:
    """Accounts opened before `month` (closed ones included), at the filter's store."""
    enrolled = sum(enrolled_on(channel) for channel in CHANNELS)
    query = select(func.coalesce(func.sum(enrolled), 0)).where(
        RollupDay.program_id == filters.program.id, RollupDay.day < month)
    if filters.store_id is not None:
        query = query.where(RollupDay.store_id == filters.store_id)
    return int(db.session.scalar(query))


@measure("adoption", "members", 30)
def adoption(filters: Filters) -> Measure:
    """Receipts with a card (our sales) / all receipts (with those the tills reported
    without a card); and the members at each month's end (accounts opened by then)."""
    members = members_before(filters, filters.first_month)
    rows = []
    for month, with_card, without, *enrolled in monthly_rows(
            filters, RollupDay, RollupDay.sales, RollupDay.receipts_without_card,
            *(enrolled_on(channel) for channel in CHANNELS)):
        members += sum(enrolled)
        rows.append((month, members, with_card, without, percent(with_card, with_card + without)))
    with_card, without = sum(row[2] for row in rows), sum(row[3] for row in rows)
    return Measure("adoption", "members",
                   ("month", "members", "receipts_with_card", "receipts_without_card",
                    "adoption_rate"),
                   ("month", "count", "count", "count", "percent"), tuple(rows),
                   charted=("adoption_rate",),
                   figures=(("adoption_rate", "percent", percent(with_card, with_card + without)),
                            ("members", "count", members)),
                   note="adoption_formula")


# --- points --------------------------------------------------------------------------------

def points_rows(filters: Filters) -> list[tuple]:
    """(month, issued, redeemed, expired, taken back) of every month of the filters."""
    r = RollupDay
    return [(month, earned + campaign + bonus, redeemed, expired, taken_back)
            for month, earned, campaign, bonus, redeemed, expired, taken_back in monthly_rows(
                filters, r, r.points_earned, r.points_campaign, r.points_bonus,
                r.points_redeemed, r.points_expired, r.points_taken_back)]


def rate_figures(rows: list[tuple]) -> tuple[tuple[str, str, Any], ...]:
    issued, redeemed, expired = (sum(row[i] for row in rows) for i in (1, 2, 3))
    return (("redemption_rate", "percent", percent(redeemed, issued)),
            ("breakage_rate", "percent", percent(expired, issued)))


@measure("points_flow", "points", 10)
def points_flow(filters: Filters) -> Measure:
    """Issued: earned, campaigns and bonuses; redeemed net of what returns gave back. Expiry
    and bonuses from the app belong to no store."""
    rows = points_rows(filters)
    totals = [sum(row[i] for row in rows) for i in (1, 2, 3, 4)]
    keys = ("issued", "redeemed", "expired", "taken_back")
    return Measure("points_flow", "points", ("month", *keys), ("month", *("points",) * 4),
                   tuple(rows), chart="bar", charted=keys,
                   figures=(*((key, "points", total) for key, total in zip(keys, totals)),
                            *rate_figures(rows)),
                   note="redemption_formula")


@measure("redemption", "points", 20)
def redemption(filters: Filters) -> Measure:
    """Redeemed / issued and expired / issued, month by month and over the period."""
    rows = points_rows(filters)
    monthly = tuple((month, percent(redeemed, issued), percent(expired, issued))
                    for month, issued, redeemed, expired, _ in rows)
    return Measure("redemption", "points", ("month", "redemption_rate", "breakage_rate"),
                   ("month", "percent", "percent"), monthly,
                   charted=("redemption_rate", "breakage_rate"), figures=rate_figures(rows),
                   note="redemption_formula")


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
    outstanding = sum(row[1] + row[2] for row in rows)
    return Measure("liability", "liability",
                   ("expiry_month", "available", "pending", "value_minor"),
                   ("label", "points", "points", "minor"), rows, chart="stacked",
                   charted=("available", "pending"),
                   figures=(("liability_points", "points", outstanding),
                            ("liability_minor", "minor", points_value_minor(outstanding, rules))),
                   note="liability_as_of", program_wide=True)


# --- customers -----------------------------------------------------------------------------

@measure("average_basket", "customers", 10)
def average_basket(filters: Filters) -> Measure:
    """Average receipt of members, with points used and without."""
    r, rows = RollupDay, []
    for month, sales, minor, with_points, with_points_minor in monthly_rows(
            filters, r, r.sales, r.sales_minor, r.sales_with_points, r.sales_with_points_minor):
        rows.append((month, sales, minor, with_points, with_points_minor))
    sales, minor, with_points, with_points_minor = (sum(row[i] for row in rows)
                                                    for i in (1, 2, 3, 4))

    def averages(sales: int, minor: int, with_points: int, with_points_minor: int) -> tuple:
        return (average_minor(minor, sales), average_minor(with_points_minor, with_points),
                average_minor(minor - with_points_minor, sales - with_points))
    keys = ("basket_minor", "basket_with_points_minor", "basket_without_points_minor")
    return Measure("average_basket", "customers", ("month", *keys), ("month", *("minor",) * 3),
                   tuple((row[0], *averages(*row[1:])) for row in rows),
                   charted=keys[1:],
                   figures=tuple((key, "minor", value) for key, value in zip(
                       keys, averages(sales, minor, with_points, with_points_minor))))


# --- tiers ---------------------------------------------------------------------------------

@measure("tier_distribution", "tiers", 10)
def tier_distribution(filters: Filters) -> Measure:
    """Open accounts per tier now, in the ladder's order ("none": below the first rung)."""
    counts = dict(db.session.execute(
        select(Account.tier, func.count())
        .where(Account.program_id == filters.program.id, Account.status != "closed")
        .group_by(Account.tier)).all())
    ladder = [rung.key for rung in rules_for(filters.program).tiers]
    keys = [None, *ladder, *sorted(set(counts) - {None, *ladder})]
    rows = tuple((key or "none", counts.get(key, 0)) for key in keys)
    return Measure("tier_distribution", "tiers", ("tier", "members"), ("label", "count"), rows,
                   chart="bar", charted=("members",), program_wide=True)


@measure("tier_movements", "tiers", 20)
def tier_movements(filters: Filters) -> Measure:
    """Accounts that moved up or down the ladder each month (a tier kept is no move; a tier
    no longer on the ladder ranks below the first rung)."""
    ladder = {rung.key: rank for rank, rung in enumerate(rules_for(filters.program).tiers)}
    month = month_of(RollupTierDay.day, db.session.get_bind().dialect.name)
    moves: dict[tuple[dt.date, int], int] = {}
    for moved_in, from_tier, to_tier, count in db.session.execute(
            select(month, RollupTierDay.from_tier, RollupTierDay.to_tier,
                   func.sum(RollupTierDay.count))
            .where(RollupTierDay.program_id == filters.program.id,
                   RollupTierDay.day >= filters.first_month,
                   RollupTierDay.day <= last_day(filters))
            .group_by(month, RollupTierDay.from_tier, RollupTierDay.to_tier)):
        step = ladder.get(to_tier, -1) - ladder.get(from_tier, -1)
        if step:
            key = (moved_in, 1 if step > 0 else -1)
            moves[key] = moves.get(key, 0) + int(count)
    rows = tuple((month, moves.get((month, 1), 0), moves.get((month, -1), 0))
                 for month in months_of(filters))
    return Measure("tier_movements", "tiers", ("month", "promoted", "demoted"),
                   ("month", "count", "count"), rows, chart="bar",
                   charted=("promoted", "demoted"), program_wide=True)


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
        first_day, last_day_ = campaign_days(program, campaign)
        baseline, lift = campaign_lift(filters, campaign, max(first, first_day),
                                       min(last, yesterday, last_day_))
        rows.append((campaign.name, int(given), int(sales), int(sales_minor), baseline, lift))
    return Measure("campaigns", "campaigns",
                   ("campaign", "points", "sales", "sales_minor", "baseline_minor", "lift"),
                   ("label", "points", "count", "minor", "minor", "percent"), tuple(rows),
                   chart="bar", charted=("lift",), note="campaign_lift")


def campaign_days(program: Program, campaign: Campaign) -> tuple[dt.date, dt.date]:
    """The first and last local days the campaign runs (an early end included)."""
    ends_at = min(campaign.ends_at, campaign.ended_at or campaign.ends_at)
    return (local_day(program, campaign.starts_at),
            local_day(program, ends_at - dt.timedelta(microseconds=1)))


def campaign_lift(filters: Filters, campaign: Campaign, first: dt.date,
                  last: dt.date) -> tuple[int | None, Decimal | None]:
    """(baseline, lift). Baseline: the sales amount per day on the campaign's weekdays
    (every day when it names none) in the LIFT_BASELINE_DAYS before its first day. Lift: the
    sales amount per such day from `first` to `last` / the baseline - 1, in percent. Sales:
    every completed receipt with a card at the campaign's stores (every store when it names
    none) and the filter's store. None when a side has no day or the baseline is 0."""
    weekdays = set(campaign.weekdays or range(1, 8))
    start = campaign_days(filters.program, campaign)[0]
    during = [day for day in days_between(first, last) if day.isoweekday() in weekdays]
    before = [day for day in days_between(start - dt.timedelta(days=LIFT_BASELINE_DAYS),
                                          start - dt.timedelta(days=1))
              if day.isoweekday() in weekdays]
    stores = set(campaign.store_ids or ())
    if filters.store_id is not None:
        if stores and filters.store_id not in stores:
            return None, None
        stores = {filters.store_id}
    sales_before = sales_minor_on(filters.program, before, stores)
    baseline = average_minor(sales_before, len(before))
    if not during or not sales_before:
        return baseline, None
    ratio = (Decimal(sales_minor_on(filters.program, during, stores)) / len(during)) / (
        Decimal(sales_before) / len(before))
    return baseline, ((ratio - 1) * 100).quantize(Decimal("0.1"))


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def sales_minor_on(program: Program, days: list[dt.date], stores: set[int]) -> int:
    """What completed sales with a card came to on `days` at `stores` (every store when
    empty)."""
    if not days:
        return 0
    query = select(func.coalesce(func.sum(RollupDay.sales_minor), 0)).where(
        RollupDay.program_id == program.id, RollupDay.day.in_(days))
    if stores:
        query = query.where(RollupDay.store_id.in_(stores))
    return int(db.session.scalar(query))


# --- SMS -----------------------------------------------------------------------------------

@measure("sms", "sms", 10)
def sms(filters: Filters) -> Measure:
    """SMS written each month by what became of them, and what Twilio charged, in the
    currency it priced most of them in (often not the program's: a decimal amount, named)."""
    r = RollupDay
    counts = monthly_rows(filters, r, r.sms_sent, r.sms_delivered, r.sms_failed)
    currency = sms_currency(filters)
    costs = {} if currency is None else by_month(
        filters, RollupSmsCostDay, RollupSmsCostDay.cost_micros,
        where=[RollupSmsCostDay.price_unit == currency])

    def amount(micros: int) -> Decimal:
        return Decimal(micros).scaleb(-6).quantize(Decimal("0.01"), ROUND_HALF_UP)
    rows = tuple((month, sent, delivered, failed,
                  amount(costs[month][0]) if month in costs else None)
                 for month, sent, delivered, failed in counts)
    cost = amount(sum(micros for micros, in costs.values())) if currency else None
    return Measure("sms", "sms", ("month", "sent", "delivered", "failed", "cost"),
                   ("month", "count", "count", "count", "decimal"), rows, chart="bar",
                   charted=("sent", "delivered", "failed"),
                   figures=(("sms_sent", "count", sum(row[1] for row in rows)),
                            ("sms_cost", "decimal", cost),
                            ("sms_cost_currency", "label", currency)),
                   note="sms_cost")


def sms_currency(filters: Filters) -> str | None:
    """The currency Twilio priced most of the period's SMS in; None while none is priced."""
    query = (select(RollupSmsCostDay.price_unit, func.sum(RollupSmsCostDay.messages))
             .where(RollupSmsCostDay.program_id == filters.program.id,
                    RollupSmsCostDay.price_unit != "",
                    RollupSmsCostDay.day >= filters.first_month,
                    RollupSmsCostDay.day <= last_day(filters))
             .group_by(RollupSmsCostDay.price_unit))
    if filters.store_id is not None:
        query = query.where(RollupSmsCostDay.store_id == filters.store_id)
    messages = {unit: int(count) for unit, count in db.session.execute(query)}
    return max(messages, key=lambda unit: (messages[unit], unit)) if messages else None
