"""The "members" rollup step: the sales of each local month, member by member, and what the
member measures read (models/member_rollups.py says what each table holds).

A month is built from its own sales and the month before it, never from older sales: each
member's month row carries what their previous row said (`previous_month`, ...), so the
histograms of month M are those of month M-1 moved by the members who bought in M. The cost of
a run is the sales of the months it rebuilds plus the size of a month's rows. Months are built
in order, one transaction each: the month of `since` to the current month.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from flask import current_app
from sqlalchemy import (
    Column, MetaData, Subquery, Table, and_, case, delete, func, insert, literal, or_, select,
    text, true, union_all,
)
from sqlalchemy.orm import aliased

from pos_loyalty.analytics import rollup_step
from pos_loyalty.analytics.local_time import add_months, local_date_of, month_end, month_of
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import (
    CohortMonth, MemberActivity, MemberLastDay, MemberMonth, MemberReach, Program, Sale, Store,
)
from pos_loyalty.programs import local_day, local_day_start_utc

ALL_STORES = 0
# Members active over the 30, 90 and 365 days ending a day (the three windows).
ACTIVE_WINDOWS = (30, 90, 365)


def activity_window_months() -> int:
    """Months a member stays a customer after a purchase, for retention and cohort churn."""
    return current_app.config["LOYALTY"]["analytics"]["activity_window_months"]


def _give_the_month_memory() -> None:
    """On PostgreSQL, let this transaction hash and sort a month of members in memory (the
    default 4 MB spilled every month to temporary files), and skip JIT compilation (1.4 s of
    each 7.5 s insert, for plans that only read and write rows)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    work_mem = current_app.config["LOYALTY"]["analytics"]["rollup_work_mem"]
    db.session.execute(text("SELECT set_config('work_mem', :work_mem, true), "
                            "set_config('jit', 'off', true)"), {"work_mem": work_mem})


@rollup_step("members", 20)
def rollup_members(program: Program, since: dt.date, now: dt.datetime) -> dt.date:
    """Rebuild every month from the month of `since` to the current one (as of today)."""
    today = local_day(program, now)
    current = month_of(today)
    first = run_in_transaction(lambda: first_month_to_build(program, month_of(since)))
    run_in_transaction(lambda: _forget_months_after(program, current))
    month = first
    while month <= current:
        as_of = today if month == current else month_end(month)
        run_in_transaction(lambda: build_month(program, month, as_of))
        month = add_months(month, 1)
    return today - dt.timedelta(days=1)


def first_month_to_build(program: Program, start: dt.date) -> dt.date:
    """`start`, or the month of the program's first sale when the month before `start` was
    never built (a month is built on the one before it)."""
    built = db.session.scalar(select(MemberActivity.month).where(
        MemberActivity.program_id == program.id, MemberActivity.store_id == ALL_STORES,
        MemberActivity.month == add_months(start, -1)))
    if built is not None:
        return start
    earliest = db.session.scalar(select(func.min(Sale.created_at)).where(
        Sale.program_id == program.id))
    if earliest is None:
        return start
    return min(start, month_of(local_day(program, earliest)))


def _forget_months_after(program: Program, month: dt.date) -> None:
    """Rows of months after `month` (a clock set back, a rebuild) are not kept."""
    for table, column in _MONTH_COLUMNS:
        db.session.execute(delete(table).where(table.program_id == program.id,
                                               column > month))


_MONTH_COLUMNS = ((MemberMonth, MemberMonth.month), (MemberReach, MemberReach.as_of_month),
                  (MemberLastDay, MemberLastDay.as_of_month),
                  (MemberActivity, MemberActivity.month), (CohortMonth, CohortMonth.month))


def build_month(program: Program, month: dt.date, as_of: dt.date) -> None:
    """Replace everything kept of `month`, its members' activity counted as of `as_of`."""
    _give_the_month_memory()
    for table, column in _MONTH_COLUMNS:
        db.session.execute(delete(table).where(table.program_id == program.id,
                                               column == month))
    _insert_member_months(program, month)
    _insert_reach(program.id, month)
    _insert_last_days(program.id, month, as_of)
    _insert_activity(program.id, month, as_of)
    _insert_cohorts(program.id, month)


def _insert_member_months(program: Program, month: dt.date) -> None:
    """One row per member and store (and store 0) who bought in the month, with what their
    previous row said."""
    start_utc = local_day_start_utc(program, month)
    end_utc = local_day_start_utc(program, add_months(month, 1))
    dialect = db.session.get_bind().dialect.name
    day = local_date_of(program, Sale.created_at, start_utc, end_utc, dialect)
    # The stores named so that PostgreSQL reads the month through (store_id, created_at).
    stores = db.session.scalars(select(Store.id).where(Store.program_id == program.id)).all()
    by_store = select(
        Sale.store_id.label("store_id"), Sale.account_id.label("account_id"),
        func.count().label("purchases"), func.sum(Sale.total_minor).label("spent_minor"),
        func.max(day).label("last_day"),
    ).where(
        Sale.program_id == program.id,
        Sale.store_id.in_(stores),
        Sale.created_at >= start_utc, Sale.created_at < end_utc,
        Sale.kind == "sale", Sale.status != "voided",
    ).group_by(Sale.store_id, Sale.account_id).cte("by_store")
    every_store = select(
        literal(ALL_STORES).label("store_id"), by_store.c.account_id,
        func.sum(by_store.c.purchases).label("purchases"),
        func.sum(by_store.c.spent_minor).label("spent_minor"),
        func.max(by_store.c.last_day).label("last_day"),
    ).group_by(by_store.c.account_id)
    bought = union_all(select(by_store), every_store).subquery("bought")
    if dialect == "postgresql":
        # In index order: each member's probe for their previous row, and the row's entry in
        # ix_member_month_member, land next to the one before instead of anywhere in an index
        # of every month.
        bought = select(bought).order_by(bought.c.store_id, bought.c.account_id).subquery(
            "bought")
    joined, member, prior = _with_previous_rows(bought, program.id, month, dialect)
    this_month = literal(month, MemberMonth.month.type)
    rows = select(
        literal(program.id), this_month, member.store_id, member.account_id,
        member.purchases, member.spent_minor, member.last_day,
        func.coalesce(prior.first_month, this_month), prior.month,
        case((member.purchases >= 2, this_month), else_=prior.month),
        prior.repeat_month, prior.last_day,
    ).select_from(joined)
    if dialect != "postgresql":
        db.session.execute(insert(MemberMonth).from_select(_MEMBER_MONTH_COLUMNS, rows))
        return
    # Staged first, so that no statement reads the table it fills: PostgreSQL plans the
    # probes before inserting, and on a member_month still empty (the first month ever
    # built) it chose a sequential scan per member, which then read every row the statement
    # had inserted so far: quadratic (a month of a million members ran for hours).
    staged = Table("member_month_staged", MetaData(),
                   *(Column(column.name, column.type) for column in MemberMonth.__table__.c),
                   prefixes=["TEMPORARY"])
    connection = db.session.connection()
    staged.create(connection)
    db.session.execute(insert(staged).from_select(_MEMBER_MONTH_COLUMNS, rows))
    db.session.execute(insert(MemberMonth).from_select(
        _MEMBER_MONTH_COLUMNS, select(*(staged.c[name] for name in _MEMBER_MONTH_COLUMNS))))
    staged.drop(connection)


_MEMBER_MONTH_COLUMNS = [
    "program_id", "month", "store_id", "account_id", "purchases", "spent_minor", "last_day",
    "first_month", "previous_month", "repeat_month", "previous_repeat_month",
    "previous_last_day"]


def _with_previous_rows(bought: Subquery, program_id: int, month: dt.date,
                        dialect: str) -> tuple[Any, Any, Any]:
    """`bought` outer-joined to each member's previous row (before `month`): the join, the
    member's columns, the previous row's columns (month, first_month, repeat_month,
    last_day)."""
    earlier = aliased(MemberMonth)
    same_member = (earlier.program_id == program_id, earlier.store_id == bought.c.store_id,
                   earlier.account_id == bought.c.account_id, earlier.month < month)
    if dialect == "postgresql":
        # One backward index probe per member (joining on a max made PostgreSQL hash every
        # earlier row of the program: a run's cost grew with the history).
        prior = select(earlier.month, earlier.first_month, earlier.repeat_month,
                       earlier.last_day).where(*same_member).order_by(
            earlier.month.desc()).limit(1).lateral("prior")
        return bought.outerjoin(prior, true()), bought.c, prior.c
    # SQLite has no LATERAL: the max month by the index, then that row by its key.
    previous = select(func.max(earlier.month)).where(*same_member).scalar_subquery()
    found = select(bought, previous.label("previous_month")).subquery("found")
    prior = aliased(MemberMonth, name="prior")
    joined = found.outerjoin(prior, and_(
        prior.program_id == program_id, prior.store_id == found.c.store_id,
        prior.account_id == found.c.account_id, prior.month == found.c.previous_month))
    return joined, found.c, prior


def _this_month(program_id: int, month: dt.date) -> tuple:
    return MemberMonth.program_id == program_id, MemberMonth.month == month


def _insert_reach(program_id: int, month: dt.date) -> None:
    """The month before's histograms, each member who bought moved from their previous
    month (and repeat month) to this one."""
    row = MemberMonth
    this = _this_month(program_id, month)
    one, none, minus_one = literal(1), literal(0), literal(-1)
    moves = union_all(
        select(MemberReach.store_id, MemberReach.month, MemberReach.buyers,
               MemberReach.repeaters).where(MemberReach.program_id == program_id,
                                            MemberReach.as_of_month == add_months(month, -1)),
        select(row.store_id, row.previous_month, minus_one, none).where(
            *this, row.previous_month.is_not(None)),
        select(row.store_id, row.month, one, none).where(*this),
        select(row.store_id, row.previous_repeat_month, none, minus_one).where(
            *this, row.previous_repeat_month.is_not(None)),
        select(row.store_id, row.repeat_month, none, one).where(
            *this, row.repeat_month.is_not(None)),
    ).subquery("moves")
    buyers, repeaters = func.sum(moves.c.buyers), func.sum(moves.c.repeaters)
    db.session.execute(insert(MemberReach).from_select(
        ["program_id", "store_id", "as_of_month", "month", "buyers", "repeaters"],
        select(literal(program_id), moves.c.store_id, literal(month, MemberReach.month.type),
               moves.c.month, buyers, repeaters)
        .group_by(moves.c.store_id, moves.c.month).having(or_(buyers != 0, repeaters != 0))))


def _insert_last_days(program_id: int, month: dt.date, as_of: dt.date) -> None:
    """Members by last purchase day, for the days of the longest window ending `as_of`."""
    row = MemberMonth
    cut = as_of - dt.timedelta(days=max(ACTIVE_WINDOWS))
    moves = union_all(
        select(MemberLastDay.store_id, MemberLastDay.day, MemberLastDay.members).where(
            MemberLastDay.program_id == program_id,
            MemberLastDay.as_of_month == add_months(month, -1), MemberLastDay.day > cut),
        select(row.store_id, row.previous_last_day, literal(-1)).where(
            *_this_month(program_id, month), row.previous_last_day > cut),
        select(row.store_id, row.last_day, literal(1)).where(*_this_month(program_id, month)),
    ).subquery("moves")
    members = func.sum(moves.c.members)
    db.session.execute(insert(MemberLastDay).from_select(
        ["program_id", "store_id", "as_of_month", "day", "members"],
        select(literal(program_id), moves.c.store_id, literal(month, MemberLastDay.day.type),
               moves.c.day, members)
        .group_by(moves.c.store_id, moves.c.day).having(members != 0)))


def _insert_activity(program_id: int, month: dt.date, as_of: dt.date) -> None:
    """Each store's month (store 0 always, so a built month is known to be built)."""
    row = MemberMonth
    totals = db.session.execute(select(
        row.store_id, func.count(), func.sum(row.purchases), func.sum(row.spent_minor),
        func.sum(case((row.first_month == month, 1), else_=0)),
    ).where(*_this_month(program_id, month)).group_by(row.store_id)).all()
    windows = [func.sum(case((MemberLastDay.day > as_of - dt.timedelta(days=days),
                              MemberLastDay.members), else_=0)) for days in ACTIVE_WINDOWS]
    active = db.session.execute(select(MemberLastDay.store_id, *windows).where(
        MemberLastDay.program_id == program_id, MemberLastDay.as_of_month == month,
    ).group_by(MemberLastDay.store_id)).all()
    def nothing() -> dict[str, int]:
        return {"buyers": 0, "purchases": 0, "spent_minor": 0, "new_members": 0,
                "active_30": 0, "active_90": 0, "active_365": 0}
    stores: dict[int, dict[str, int]] = defaultdict(nothing, {ALL_STORES: nothing()})
    for store_id, buyers, purchases, spent, new in totals:
        stores[store_id].update(buyers=buyers, purchases=purchases, spent_minor=spent,
                                new_members=new)
    for store_id, *counts in active:
        stores[store_id].update(zip(("active_30", "active_90", "active_365"), counts))
    db.session.execute(insert(MemberActivity), [
        {"program_id": program_id, "store_id": store_id, "month": month, "as_of_day": as_of,
         **figures} for store_id, figures in stores.items()])


def _insert_cohorts(program_id: int, month: dt.date) -> None:
    """Per cohort: its members who bought this month, and those active in the window."""
    row = MemberMonth
    bought = db.session.execute(select(row.store_id, row.first_month, func.count()).where(
        *_this_month(program_id, month)).group_by(row.store_id, row.first_month)).all()
    # A member active in the window is counted on their first row in it (no previous month,
    # or one before the window): a count of rows, where DISTINCT sorted the window's rows.
    window_start = add_months(month, -activity_window_months())
    active = db.session.execute(select(row.store_id, row.first_month, func.count()).where(
        row.program_id == program_id, row.month > window_start, row.month <= month,
        or_(row.previous_month.is_(None), row.previous_month <= window_start),
    ).group_by(row.store_id, row.first_month)).all()
    cohorts: dict[tuple[int, dt.date], dict[str, int]] = defaultdict(
        lambda: {"members": 0, "active_members": 0})
    for store_id, first_month, members in bought:
        cohorts[store_id, first_month]["members"] = members
    for store_id, first_month, members in active:
        cohorts[store_id, first_month]["active_members"] = members
    if cohorts:
        db.session.execute(insert(CohortMonth), [
            {"program_id": program_id, "store_id": store_id, "first_month": first_month,
             "month": month, **counts} for (store_id, first_month), counts in cohorts.items()])
