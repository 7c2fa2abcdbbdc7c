"""The back office's analytics dashboard: the chosen months and store as `Filters`, then every
registered measure, read from the rollups, with how fresh they are."""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from pos_loyalty import analytics
from pos_loyalty.analytics import Filters, Measure, rollups
from pos_loyalty.analytics.local_time import add_months
from pos_loyalty.db import db, retry_read
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Program, Store
from pos_loyalty.programs import local_day

MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class Dashboard:
    """What the page shows: the measures in the dashboard's order, each with the seconds it
    took (the page reports them as Server-Timing), and when the rollups last ran."""
    filters: Filters
    measures: tuple[tuple[Measure, float], ...]
    stores: tuple[tuple[int, str], ...]
    last_run_at: dt.datetime | None

    @property
    def store_name(self) -> str | None:
        return dict(self.stores).get(self.filters.store_id)


@dataclass(frozen=True)
class MeasureRead:
    """One measure (its chart, its CSV file) and the filters it was read with."""
    measure: Measure
    filters: Filters
    store_name: str | None


def settings() -> dict:
    return current_app.config["LOYALTY"]["analytics"]


def default_months(program: Program, now: dt.datetime) -> tuple[str, str]:
    """The last `dashboard_months` local months, this one included, as YYYY-MM."""
    this_month = local_day(program, now).replace(day=1)
    first = add_months(this_month, 1 - settings()["dashboard_months"])
    return first.strftime("%Y-%m"), this_month.strftime("%Y-%m")


def read_month(value: str, field: str) -> dt.date:
    """The first day of the month written YYYY-MM, or ValidationFailed naming the field."""
    if MONTH.fullmatch(value) and 1 <= int(value[5:]) <= 12 and 2000 <= int(value[:4]) <= 2100:
        return dt.date(int(value[:4]), int(value[5:]), 1)
    raise ValidationFailed("Write the month as YYYY-MM.", field=field, reason="format")


def read_filters(program: Program, first: str | None, last: str | None, store: str | None,
                 stores: tuple[tuple[int, str], ...], now: dt.datetime) -> Filters:
    """The form's months and store (empty or missing: the default months, every store).
    ValidationFailed naming the field: a month that cannot be read, an end before the start,
    more than `dashboard_max_months` months, a start after this month, a store that is not
    one of the program's."""
    default_first, default_last = default_months(program, now)
    first_month = read_month(first or default_first, "from")
    last_month = read_month(last or default_last, "to")
    if last_month < first_month:
        raise ValidationFailed("The period ends before it starts.", field="to", reason="order")
    most = settings()["dashboard_max_months"]
    if add_months(first_month, most) <= last_month:
        raise ValidationFailed(f"A period is at most {most} months.", field="to",
                               reason="too_long", most=most)
    if first_month > local_day(program, now):
        raise ValidationFailed("The period starts after this month.", field="from",
                               reason="future")
    return Filters(program, first_month, last_month, read_store(store, stores), now)


def read_store(value: str | None, stores: tuple[tuple[int, str], ...]) -> int | None:
    if not value or value == "all":
        return None
    if value.isdigit() and int(value) in dict(stores):
        return int(value)
    raise ValidationFailed("Choose one of the program's stores, or every store.",
                           field="store", reason="unknown_store")


def stores_of(program: Program) -> tuple[tuple[int, str], ...]:
    """The program's stores (id, name) by name, in one query."""
    return tuple(retry_read(lambda: [tuple(row) for row in db.session.execute(
        select(Store.id, Store.name).where(Store.program_id == program.id)
        .order_by(Store.name, Store.id))]))


def dashboard(program: Program, first: str | None, last: str | None, store: str | None,
              now: dt.datetime) -> Dashboard:
    """Every registered measure for the filters, read-only, each timed."""
    stores = stores_of(program)
    filters = read_filters(program, first, last, store, stores, now)
    measures = []
    for _key, _section, function in analytics.measures_in_order():
        started = time.perf_counter()
        found = retry_read(lambda: function(filters))
        measures.append((found, time.perf_counter() - started))
    return Dashboard(filters, tuple(measures), stores,
                     retry_read(lambda: rollups.last_run_at(program)))


def one_measure(program: Program, key: str, first: str | None, last: str | None,
                store: str | None, now: dt.datetime) -> MeasureRead:
    """One measure for the filters; NotFound for an unknown key."""
    found = dict((name, function) for name, _section, function in analytics.measures_in_order())
    if key not in found:
        raise NotFound(f"No measure {key!r}.")
    stores = stores_of(program)
    filters = read_filters(program, first, last, store, stores, now)
    return MeasureRead(retry_read(lambda: found[key](filters)), filters,
                       dict(stores).get(filters.store_id))
