"""Measures for the dashboard's tests, registered alone while a test runs (`only_these`):
the dashboard draws whatever is registered, so its tests bring their own measures and do not
depend on (nor disturb) the program's real ones.

`points_by_month` reads the ledger directly (the real measures read rollups): points earned
and redeemed per local month of the chosen months, at the chosen store, with the redemption
rate as a headline figure. `store_values` is a hand-made table of money, program-wide.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import select

from pos_loyalty import analytics
from pos_loyalty.analytics import Filters, Measure
from pos_loyalty.db import db
from pos_loyalty.models import LedgerEntry, Program
from pos_loyalty.programs import local_day, local_day_start_utc, utc_to_local


def months(filters: Filters) -> list[dt.date]:
    found, month = [], filters.first_month
    while month <= filters.last_month:
        found.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return found


def points_by_month(filters: Filters) -> Measure:
    program, chosen = filters.program, months(filters)
    after_last = (filters.last_month + dt.timedelta(days=32)).replace(day=1)
    query = select(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.points).where(
        LedgerEntry.program_id == program.id, LedgerEntry.kind.in_(("earn", "redeem")),
        LedgerEntry.created_at >= local_day_start_utc(program, filters.first_month),
        LedgerEntry.created_at < local_day_start_utc(program, after_last))
    if filters.store_id is not None:
        query = query.where(LedgerEntry.store_id == filters.store_id)
    totals = {month: [0, 0] for month in chosen}
    for created_at, kind, points in db.session.execute(query):
        month = utc_to_local(program, created_at).date().replace(day=1)
        totals[month][0 if kind == "earn" else 1] += abs(points)
    issued = sum(earned for earned, _ in totals.values())
    redeemed = sum(spent for _, spent in totals.values())
    rate = (Decimal(redeemed) * 100 / issued).quantize(Decimal("0.001")) if issued else None
    return Measure(
        "points_flow", "points", ("month", "issued", "redeemed"), ("month", "points", "points"),
        tuple((month, *totals[month]) for month in chosen), chart="line",
        charted=("issued", "redeemed"),
        figures=(("issued", "points", issued), ("redemption_rate", "percent", rate)),
        note="redemption_formula")


def store_values(filters: Filters) -> Measure:
    return Measure(
        "liability", "liability", ("expiry_month", "points", "value_minor"),
        ("month", "points", "minor"),
        ((dt.date(2026, 4, 1), 1500, 15000), (dt.date(2026, 5, 1), 250, None)),
        chart="table", figures=(("liability_minor", "minor", 150000),), program_wide=True)


def yesterday_step(program: Program, since: dt.date, now: dt.datetime) -> dt.date:
    """A rollup step with nothing to keep: it finishes yesterday, as a real one does."""
    return local_day(program, now) - dt.timedelta(days=1)


@contextmanager
def only_these(*functions) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The registry holds only these measures (and the no-op rollup step) inside the block,
    and what it held before, after. The real ones are imported first, so that a module
    first imported inside the block (an app built there) cannot add them back."""
    analytics.load()
    kept_measures = dict(analytics.registry.measures)
    kept_steps = dict(analytics.registry.steps)
    analytics.registry.measures.clear()
    analytics.registry.steps.clear()
    try:
        analytics.rollup_step("test_nothing", 1)(yesterday_step)
        for order, (function, key, section) in enumerate(functions):
            analytics.measure(key, section, order)(function)
        yield
    finally:
        analytics.registry.measures.clear()
        analytics.registry.measures.update(kept_measures)
        analytics.registry.steps.clear()
        analytics.registry.steps.update(kept_steps)


TEST_MEASURES = ((points_by_month, "points_flow", "points"),
                 (store_values, "liability", "liability"))


def legend_names(svg: str) -> list[str]:
    """The series a pygal chart names in its legend, in order."""
    return re.findall(r'class="legend reactive activate-serie">.*?<text[^>]*>([^<]+)</text>',
                      svg)
