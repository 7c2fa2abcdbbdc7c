"""The member measures: active members, purchase frequency, repeat purchases, retention and
churn, cohorts, customer lifetime value. They read only the member rollups (members.py).

A purchase is a sale of a member (not voided), counted in the local month of its receipt; with
a store filter, a member of the store is one who bought there, and only purchases there count.
Each reads a handful of small rows: distinct buyers over months come from the `member_reach`
histograms, never from the members' rows.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select

from pos_loyalty.analytics import Filters, Measure, measure
from pos_loyalty.analytics.rates import percent, ratio, to_decimal
from pos_loyalty.analytics.local_time import add_months, month_of, months_from
from pos_loyalty.analytics.members import ACTIVE_WINDOWS, ALL_STORES, activity_window_months
from pos_loyalty.db import db
from pos_loyalty.models import CohortMonth, MemberActivity, MemberReach
from pos_loyalty.programs import local_day

ACTIVE_COLUMNS = tuple(f"active_{days}" for days in ACTIVE_WINDOWS)


# --- reading the rollups ------------------------------------------------------------------

def store_of(filters: Filters) -> int:
    return ALL_STORES if filters.store_id is None else filters.store_id


def months_shown(filters: Filters) -> list[dt.date]:
    """The filter's months up to the current one (later months have no purchases yet)."""
    last = min(filters.last_month, month_of(local_day(filters.program, filters.now)))
    return months_from(filters.first_month, last)


def activity(filters: Filters, months: list[dt.date]) -> dict[dt.date, MemberActivity]:
    if not months:
        return {}
    rows = db.session.scalars(select(MemberActivity).where(
        MemberActivity.program_id == filters.program.id,
        MemberActivity.store_id == store_of(filters),
        MemberActivity.month >= months[0], MemberActivity.month <= months[-1]))
    return {row.month: row for row in rows}


class Reach:
    """The reach histograms as of a range of months: distinct and repeat buyers of any
    range of months ending one of them."""

    def __init__(self, filters: Filters, first_as_of: dt.date, last_as_of: dt.date,
                 earliest: dt.date) -> None:
        self.counts: dict[dt.date, list[tuple[dt.date, int, int]]] = defaultdict(list)
        for as_of, month, buyers, repeaters in db.session.execute(select(
                MemberReach.as_of_month, MemberReach.month, MemberReach.buyers,
                MemberReach.repeaters).where(
                MemberReach.program_id == filters.program.id,
                MemberReach.store_id == store_of(filters),
                MemberReach.as_of_month >= first_as_of, MemberReach.as_of_month <= last_as_of,
                MemberReach.month >= earliest)):
            self.counts[as_of].append((month, buyers, repeaters))

    def buyers(self, first: dt.date, last: dt.date) -> int:
        """Members with a purchase in the months `first` to `last`."""
        return sum(buyers for month, buyers, _ in self.counts[last] if month >= first)

    def repeat_buyers(self, first: dt.date, last: dt.date) -> int:
        """Members with two purchases or more in the months `first` to `last`."""
        return sum(repeaters for month, _, repeaters in self.counts[last] if month >= first)


# --- retention: customers at the start and end of a range of months ------------------------

def customers_at(reach: Reach, month: dt.date, window: int) -> int:
    """Customers at the end of `month`: members with a purchase in the `window` months
    ending it."""
    return reach.buyers(add_months(month, 1 - window), month)


def retention_terms(reach: Reach, first: dt.date, last: dt.date, new: int,
                    window: int) -> tuple[int, int, int]:
    """(S, N, E) of the seed formula for the months `first` to `last`."""
    return customers_at(reach, add_months(first, -1), window), new, \
        customers_at(reach, last, window)


def retention_rate(start: int, new: int, end: int) -> Decimal | None:
    return percent(end - new, start)


def churn_rate(start: int, new: int, end: int) -> Decimal | None:
    retention = retention_rate(start, new, end)
    return None if retention is None else Decimal(100) - retention


# --- the measures ---------------------------------------------------------------------------

@measure("active_members", "members", 30)
def active_members(filters: Filters) -> Measure:
    """Members with a purchase in the 30, 90 and 365 days ending each month's last day (today
    in the current month); the figures as of the filter's end."""
    months = months_shown(filters)
    rows_of = activity(filters, months)
    rows = tuple((month, *_active(rows_of.get(month))) for month in months)
    last = rows[-1][1:] if rows else (None,) * len(ACTIVE_WINDOWS)
    return Measure(
        "active_members", "members", ("month", *ACTIVE_COLUMNS),
        ("month",) + ("count",) * len(ACTIVE_WINDOWS), rows, "line", ACTIVE_COLUMNS,
        figures=tuple((key, "count", value) for key, value in zip(ACTIVE_COLUMNS, last)),
        note="active_members_note")


def _active(row: MemberActivity | None) -> tuple[int, ...]:
    if row is None:
        return (0,) * len(ACTIVE_WINDOWS)
    return row.active_30, row.active_90, row.active_365


@measure("purchase_frequency", "customers", 10)
def purchase_frequency(filters: Filters) -> Measure:
    """Purchases per buying member, each month and over the period (members counted once)."""
    months = months_shown(filters)
    rows_of = activity(filters, months)
    rows = []
    for month in months:
        buyers, purchases = _month_totals(rows_of.get(month))[:2]
        rows.append((month, buyers, purchases, ratio(purchases, buyers)))
    buyers = _period_buyers(filters, months)
    purchases = sum(row[2] for row in rows)
    spent = sum(_month_totals(rows_of.get(month))[2] for month in months)
    return Measure(
        "purchase_frequency", "customers", ("month", "buyers", "purchases", "frequency"),
        ("month", "count", "count", "decimal"), tuple(rows), "bar", ("frequency",),
        figures=(("buyers", "count", buyers), ("purchases", "count", purchases),
                 ("frequency", "decimal", ratio(purchases, buyers)),
                 ("average_basket", "minor", _minor(spent, purchases))),
        note="purchase_frequency_note")


def _month_totals(row: MemberActivity | None) -> tuple[int, int, int, int]:
    """(buyers, purchases, spent_minor, new members) of a month."""
    if row is None:
        return 0, 0, 0, 0
    return row.buyers, row.purchases, row.spent_minor, row.new_members


def _period_buyers(filters: Filters, months: list[dt.date]) -> int:
    if not months:
        return 0
    return Reach(filters, months[-1], months[-1], months[0]).buyers(months[0], months[-1])


def _minor(spent: int | Fraction, purchases: int | Fraction) -> int | None:
    """An amount in minor units, rounded to the nearest unit."""
    value = ratio(spent, purchases, "1")
    return None if value is None else int(value)


@measure("repeat_purchase_rate", "customers", 20)
def repeat_purchase_rate(filters: Filters) -> Measure:
    """The share of buying members with 2 purchases or more: within each month, and over the
    whole period."""
    months = months_shown(filters)
    rows = []
    if months:
        reach = Reach(filters, months[0], months[-1], months[0])
        for month in months:
            buyers, repeat = reach.buyers(month, month), reach.repeat_buyers(month, month)
            rows.append((month, buyers, repeat, percent(repeat, buyers)))
        buyers = reach.buyers(months[0], months[-1])
        repeat = reach.repeat_buyers(months[0], months[-1])
    else:
        buyers = repeat = 0
    return Measure(
        "repeat_purchase_rate", "customers", ("month", "buyers", "repeat_buyers", "repeat_rate"),
        ("month", "count", "count", "percent"), tuple(rows), "line", ("repeat_rate",),
        figures=(("buyers", "count", buyers), ("repeat_buyers", "count", repeat),
                 ("repeat_rate", "percent", percent(repeat, buyers))),
        note="repeat_purchase_rate_note")


RETENTION_COLUMNS = ("customers_start", "new_customers", "customers_end", "retention", "churn")


@measure("retention", "customers", 30)
def retention(filters: Filters) -> Measure:
    """The seed formula (E - N) / S x 100 for each month and for the period; churn = 100 -
    retention. A customer at a month's end bought in the activity window ending it."""
    months = months_shown(filters)
    rows, figures = [], []
    if months:
        window = activity_window_months()
        reach = Reach(filters, add_months(months[0], -1), months[-1],
                      add_months(months[0], -window))
        rows_of = activity(filters, months)
        for month in months:
            terms = retention_terms(reach, month, month, _month_totals(rows_of.get(month))[3],
                                    window)
            rows.append((month, *terms, retention_rate(*terms), churn_rate(*terms)))
        new = sum(row[2] for row in rows)
        terms = retention_terms(reach, months[0], months[-1], new, window)
        figures = list(zip(RETENTION_COLUMNS, terms + (retention_rate(*terms),
                                                        churn_rate(*terms))))
    return Measure(
        "retention", "customers", ("month", *RETENTION_COLUMNS),
        ("month", "count", "count", "count", "percent", "percent"), tuple(rows), "line",
        ("retention", "churn"),
        figures=tuple((key, "count" if index < 3 else "percent", value)
                      for index, (key, value) in enumerate(figures)),
        note="retention_note")


@measure("cohorts", "customers", 40)
def cohorts(filters: Filters) -> Measure:
    """Members by month of first purchase (cohort): the share of the cohort that bought in
    each following month (a triangle), and the cohort's churn at the period's end: the share
    with no purchase in the activity window ending it."""
    months = months_shown(filters)
    after = tuple(f"after_{index}" for index in range(len(months)))
    grid: dict[tuple[dt.date, dt.date], CohortMonth] = {}
    if months:
        grid = {(row.first_month, row.month): row for row in db.session.scalars(
            select(CohortMonth).where(
                CohortMonth.program_id == filters.program.id,
                CohortMonth.store_id == store_of(filters),
                CohortMonth.first_month >= months[0], CohortMonth.first_month <= months[-1],
                CohortMonth.month <= months[-1]))}
    rows = []
    for index, cohort in enumerate(months):
        size = grid[cohort, cohort].members if (cohort, cohort) in grid else 0
        if not size:
            continue
        at_end = grid.get((cohort, months[-1]))
        active = at_end.active_members if at_end else 0
        shares = [percent(grid[cohort, month].members if (cohort, month) in grid else 0, size)
                  for month in months[index:]]
        rows.append((cohort, size, percent(size - active, size),
                     *shares, *(None,) * index))
    return Measure(
        "cohorts", "customers", ("cohort", "members", "churn", *after),
        ("month", "count", "percent") + ("percent",) * len(after), tuple(rows), "bar",
        ("churn",), note="cohorts_note")


@measure("lifetime_value", "customers", 50)
def lifetime_value(filters: Filters) -> Measure:
    """Customer lifetime value = average basket x purchases per member per month x expected
    lifespan in months (1 / monthly churn, the period's months' lost customers over their
    customers at start, pooled). Undefined (None) when the period lost no customer."""
    months = months_shown(filters)
    rows = []
    spent = purchases = lost = at_start = 0
    if months:
        window = activity_window_months()
        reach = Reach(filters, add_months(months[0], -1), months[-1],
                      add_months(months[0], -window))
        rows_of = activity(filters, months)
        for month in months:
            buyers, bought, paid, new = _month_totals(rows_of.get(month))
            start, new, end = retention_terms(reach, month, month, new, window)
            rows.append((month, _minor(paid, bought), ratio(bought, buyers),
                         churn_rate(start, new, end)))
            spent, purchases = spent + paid, purchases + bought
            lost, at_start = lost + start - (end - new), at_start + start
    buyers = _period_buyers(filters, months)
    basket = Fraction(spent, purchases) if purchases else None
    frequency = Fraction(purchases, buyers * len(months)) if buyers else None
    churn = Fraction(lost, at_start) if at_start else None
    lifespan = 1 / churn if churn is not None and churn > 0 else None
    value = basket * frequency * lifespan if None not in (basket, frequency, lifespan) else None
    return Measure(
        "lifetime_value", "customers", ("month", "average_basket", "frequency", "churn"),
        ("month", "minor", "decimal", "percent"), tuple(rows), "bar", ("average_basket",),
        figures=(
            ("average_basket", "minor", None if basket is None else _minor(basket, 1)),
            ("monthly_frequency", "decimal", None if frequency is None
             else to_decimal(frequency, "0.01")),
            ("monthly_churn", "percent", None if churn is None else percent(churn, 1)),
            ("lifespan_months", "decimal", None if lifespan is None
             else to_decimal(lifespan, "0.1")),
            ("lifetime_value", "minor", None if value is None else _minor(value, 1))),
        note="lifetime_value_note")
