"""The program's local calendar day of a stored moment, computed by the database.

Moments are stored in naive UTC; measures count by the program's local day and month. SQLite
has no time zones, so the day is computed from the UTC offsets in force over the range read:
one `CASE` arm per stretch between two clock changes (two a year in Europe), each adding its
offset. The same expression runs on PostgreSQL, so both engines count the same days.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal_column, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from pos_loyalty.models import Program

STEP = dt.timedelta(minutes=15)   # every offset change in the tz database falls on a quarter hour


def offset_stretches(timezone: str, start_utc: dt.datetime,
                     end_utc: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """(naive UTC from which it holds, offset in seconds) for each stretch of one UTC
    offset between `start_utc` and `end_utc`, first one from `start_utc`."""
    zone = ZoneInfo(timezone)

    def offset_at(moment: dt.datetime) -> int:
        return int(moment.replace(tzinfo=dt.UTC).astimezone(zone).utcoffset().total_seconds())

    stretches = [(start_utc, offset_at(start_utc))]
    moment = start_utc
    # Offsets change at most a few times a year: test each hour, then find the quarter hour.
    while moment < end_utc:
        following = min(moment + dt.timedelta(hours=1), end_utc)
        if offset_at(following) != stretches[-1][1]:
            changes_at = moment + STEP
            while offset_at(changes_at) == stretches[-1][1]:
                changes_at += STEP
            stretches.append((changes_at, offset_at(changes_at)))
        moment = following
    return stretches


def shifted_date(column: Any, seconds: int, dialect: str) -> ColumnElement[dt.date]:
    """The calendar date of `column` + `seconds`."""
    if dialect == "sqlite":
        return type_coerce(func.date(column, f"{seconds:+d} seconds"), Date)
    return cast(column + literal_column(f"interval '{seconds} seconds'"), Date)


def local_date_of(program: Program, column: Any, start_utc: dt.datetime,
                  end_utc: dt.datetime, dialect: str) -> ColumnElement[dt.date]:
    """The program's local date of `column`, right for moments between `start_utc` and
    `end_utc` (outside, the nearest stretch's offset is used)."""
    stretches = offset_stretches(program.timezone, start_utc, end_utc)
    if len(stretches) == 1:
        return shifted_date(column, stretches[0][1], dialect)
    arms = [(column < stretches[index + 1][0], shifted_date(column, offset, dialect))
            for index, (_, offset) in enumerate(stretches[:-1])]
    return case(*arms, else_=shifted_date(column, stretches[-1][1], dialect))


def month_of(day: dt.date) -> dt.date:
    """The first day of the day's month: how measures name a month."""
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def months_from(first: dt.date, last: dt.date) -> list[dt.date]:
    """The months from `first` to `last`, both included (first days of months)."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months
