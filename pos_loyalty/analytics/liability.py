"""The points liability as of the end of any local day, aged by the local month its lots
expire: what finance books as deferred revenue.

A lot's content at the end of day D is worked out backwards from what it holds now: its
`remaining`, plus every draw (spends, take-backs, expiry, a debt paid at release) made after
D, minus every give-back (lot_give_back) made after D; only lots made by then count. A lot is
pending at D when it was not released by then (`released_at`, or `available_at` for lots
released when made or before migration 0016); else available. Lots past their expiry date
that the expiry job has not reached yet still count, in their expiry month: the customer can
still spend them.

One pass answers a whole window of days: the database sums lots and draws by (expiry month,
day made, day released, day drawn), the days before the window and after it each folded into
one, and the days are added up from those few sums (never a row per lot in Python).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Date, case, cast, func, insert, literal, select, type_coerce, union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from pos_loyalty.analytics.local_time import local_date_of
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import NotFound
from pos_loyalty.models import (
    LedgerEntry, LotDraw, LotGiveBack, PointLot, Program, RollupLiabilityDay,
)
from pos_loyalty.models.daily_rollups import NEVER_EXPIRES
from pos_loyalty.programs import local_day_start_utc
from pos_loyalty.rules import points_value_minor

# How far around the window expiry dates are read with the right clock offsets (outside,
# the nearest offset is used: a lot expiring within an hour of a month's start could be
# counted in the next or previous month).
EXPIRY_READ_BEFORE, EXPIRY_READ_AFTER = dt.timedelta(days=2 * 366), dt.timedelta(days=5 * 366)


@dataclass(frozen=True)
class AgedPoints:
    """Points outstanding at a day's end that expire in one local month."""
    expiry_month: dt.date          # NEVER_EXPIRES for lots that never expire
    available: int
    pending: int


def month_of(day: ColumnElement[dt.date], dialect: str) -> ColumnElement[dt.date]:
    """The first day of the month of `day`."""
    if dialect == "sqlite":
        return type_coerce(func.date(day, "start of month"), Date)
    return cast(func.date_trunc("month", day), Date)


def expiry_label(month: dt.date) -> str:
    """"2027-03", or "never" for lots that never expire."""
    return "never" if month == NEVER_EXPIRES else month.strftime("%Y-%m")


def liability_by_day(program: Program, first: dt.date,
                     last: dt.date) -> dict[dt.date, list[AgedPoints]]:
    """Each local day's liability from `first` to `last`, by expiry month (sorted)."""
    dialect = db.session.get_bind().dialect.name
    start = local_day_start_utc(program, first)
    end = local_day_start_utc(program, last + dt.timedelta(days=1))
    before, after = first - dt.timedelta(days=1), last + dt.timedelta(days=1)

    def day_of(column: Any, later: dt.date | None) -> ColumnElement[dt.date]:
        """The local day of `column`, days before the window as `before`, after as `later`."""
        return type_coerce(case((column < start, literal(before, Date)),
                                (column >= end, literal(later, Date)),
                                else_=local_date_of(program, column, start, end, dialect)), Date)
    expiry = month_of(local_date_of(
        program, PointLot.expires_at, start - EXPIRY_READ_BEFORE, end + EXPIRY_READ_AFTER,
        dialect), dialect)
    made = day_of(PointLot.created_at, after)
    released = case((PointLot.released.is_(True), day_of(
        func.coalesce(PointLot.released_at, PointLot.available_at), None)), else_=None)
    lot_keys = [expiry.label("expiry"), made.label("made"), released.label("released")]
    lots = (select(*lot_keys, literal(after, Date).label("changed"),
                   func.sum(PointLot.remaining).label("points"))
            .where(PointLot.program_id == program.id, PointLot.created_at < end,
                   PointLot.remaining > 0)
            .group_by(expiry, made, released))
    changed = day_of(LedgerEntry.created_at, after)

    def changes(table: Any, sign: int) -> Any:
        """Draws (+) or give-backs (-) made since the window's start, of lots made by its
        end: what they changed is undone for the days before them."""
        return (select(*lot_keys, changed.label("changed"), (sign * func.sum(table.points))
                       .label("points"))
                .select_from(LedgerEntry).join(table, table.entry_id == LedgerEntry.id)
                .join(PointLot, PointLot.id == table.lot_id)
                .where(LedgerEntry.program_id == program.id, LedgerEntry.created_at >= start,
                       PointLot.created_at < end)
                .group_by(expiry, made, released, changed))
    sums = db.session.execute(union_all(lots, changes(LotDraw, 1), changes(LotGiveBack, -1)))
    return _add_up_days(list(sums), first, last)


def _add_up_days(sums: list[Any], first: dt.date,
                 last: dt.date) -> dict[dt.date, list[AgedPoints]]:
    """Each day: what lots made by then hold, plus what was drawn from them after it."""
    days: dict[dt.date, list[AgedPoints]] = {}
    day = first
    while day <= last:
        available: dict[dt.date, int] = defaultdict(int)
        pending: dict[dt.date, int] = defaultdict(int)
        for expiry, made, released, changed, points in sums:
            if made <= day < changed:
                month = expiry or NEVER_EXPIRES
                if released is not None and released <= day:
                    available[month] += int(points)
                else:
                    pending[month] += int(points)
        days[day] = [AgedPoints(month, available[month], pending[month])
                     for month in sorted(available.keys() | pending.keys())
                     if available[month] or pending[month]]
        day += dt.timedelta(days=1)
    return days


def liability_at(program: Program, day: dt.date) -> list[AgedPoints]:
    """The liability at the end of the local `day`, by expiry month."""
    return liability_by_day(program, day, day)[day]


def store_days(program: Program, first: dt.date, last: dt.date) -> None:
    """Write each day's liability into rollup_liability_day (its rows were deleted)."""
    rows = [{"program_id": program.id, "day": day, "expiry_month": aged.expiry_month,
             "available": aged.available, "pending": aged.pending}
            for day, aged_points in liability_by_day(program, first, last).items()
            for aged in aged_points]
    if rows:
        db.session.execute(insert(RollupLiabilityDay), rows)


@dataclass(frozen=True)
class LiabilityReport:
    """The liability at the end of a day, for accounting: rows by expiry month, each with
    what its points (available and pending) pay at the redemption rate."""
    program: Program
    day: dt.date
    rows: list[tuple[AgedPoints, int]]
    total: AgedPoints
    total_minor: int


def liability_report(slug: str | None, day: dt.date) -> LiabilityReport:
    """The named program's (or the default one's) liability at the end of the local `day`."""
    def work() -> LiabilityReport:
        if slug is None:
            program = programs.default_program()
        else:
            program = db.session.scalar(select(Program).where(Program.slug == slug))
            if program is None:
                raise NotFound(f"No program {slug!r}.")
        rules = programs.rules_for(program)
        aged = liability_at(program, day)
        total = AgedPoints(NEVER_EXPIRES, sum(a.available for a in aged),
                           sum(a.pending for a in aged))
        return LiabilityReport(
            program, day, [(a, points_value_minor(a.available + a.pending, rules)) for a in aged],
            total, points_value_minor(total.available + total.pending, rules))
    return run_in_transaction(work)
