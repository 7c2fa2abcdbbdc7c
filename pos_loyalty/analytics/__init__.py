"""Program analytics (PRODUCT rule 10): the measures a brand watches, kept in rollups.

Two halves meet here:

* **Rollups.** `pos-loyalty rollup` (cron) runs every registered step (`rollup_step`) for
  every program. A step recomputes whole local days (or months) from the ledger, the sales and
  the outbox, from the day after the last one it finished (minus an overlap for late changes
  such as SMS delivery reports) up to today, replacing what it wrote before: a re-run changes
  nothing and a missed day is caught up. `RollupRun` keeps, per program and step, the last day
  finished.
* **Measures.** Each measure (`measure`) reads only rollups (never the ledger) and answers a
  `Measure`: a table whose first column labels the rows, the columns charted, and each
  column's unit. The back office draws it as an SVG chart with the same numbers as an
  accessible table and a CSV download; `Filters` says which months and store.

Each measure also has a direct computation from the ledger and the sales in the tests, and
the two must agree.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pos_loyalty.models import Program

# Units of a Measure's columns: how the back office writes and charts the numbers.
UNITS = ("label", "day", "month", "count", "points", "minor", "percent", "decimal")
CHARTS = ("line", "bar", "stacked", "table")


@dataclass(frozen=True)
class Filters:
    """What the dashboard asks: the local months from `first_month` to `last_month` (first
    days of months, both included), one store or every store (None), as of `now`."""
    program: Program
    first_month: dt.date
    last_month: dt.date
    store_id: int | None
    now: dt.datetime


@dataclass(frozen=True)
class Measure:
    """One chart and its table. `columns` are keys (the back office names them in French and
    English); the first labels the rows. `charted` names the columns drawn as series."""
    key: str
    section: str
    columns: tuple[str, ...]
    units: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    chart: str = "line"
    charted: tuple[str, ...] = ()
    # Headline figures shown above the chart: (key, unit, value or None when undefined).
    figures: tuple[tuple[str, str, Any], ...] = ()
    # A note key the page shows under the chart (a formula, what a figure leaves out).
    note: str = ""
    # Measures that ignore the store filter say so (points are the program's, not a store's).
    program_wide: bool = False

    def __post_init__(self) -> None:
        assert len(self.columns) == len(self.units), self.key
        assert self.chart in CHARTS and all(unit in UNITS for unit in self.units), self.key
        assert all(len(row) == len(self.columns) for row in self.rows), self.key
        assert set(self.charted) <= set(self.columns[1:]), self.key


MeasureFunction = Callable[[Filters], Measure]
RollupStep = Callable[[Program, dt.date, dt.datetime], dt.date]


@dataclass
class _Registry:
    # (section, order, key) -> function; sections in SECTIONS order on the dashboard.
    measures: dict[str, tuple[str, int, MeasureFunction]] = field(default_factory=dict)
    steps: dict[str, tuple[int, RollupStep]] = field(default_factory=dict)


SECTIONS = ("members", "points", "liability", "customers", "tiers", "campaigns", "sms")
registry = _Registry()


def measure(key: str, section: str, order: int) -> Callable[[MeasureFunction], MeasureFunction]:
    """Register a measure for the dashboard, in `section`, sorted by `order`."""
    assert section in SECTIONS, section

    def register(function: MeasureFunction) -> MeasureFunction:
        registry.measures[key] = (section, order, function)
        return function
    return register


def rollup_step(name: str, order: int) -> Callable[[RollupStep], RollupStep]:
    """Register a rollup step. It is called as step(program, since, now) and recomputes from
    the local day `since` to today; it returns the last local day it finished (usually the
    day before today: today is redone on the next run)."""
    def register(function: RollupStep) -> RollupStep:
        registry.steps[name] = (order, function)
        return function
    return register


def measures_in_order() -> list[tuple[str, str, MeasureFunction]]:
    """(key, section, function) in the dashboard's order."""
    ranked = sorted(registry.measures.items(),
                    key=lambda item: (SECTIONS.index(item[1][0]), item[1][1], item[0]))
    return [(key, section, function) for key, (section, _, function) in ranked]


def steps_in_order() -> list[tuple[str, RollupStep]]:
    return [(name, step) for name, (_, step) in
            sorted(registry.steps.items(), key=lambda item: (item[1][0], item[0]))]


# The modules that register steps and measures, imported by `load()` (they import this one).
MODULES: tuple[str, ...] = (
    "pos_loyalty.analytics.members",
    "pos_loyalty.analytics.member_measures",
    "pos_loyalty.analytics.daily",
    "pos_loyalty.analytics.program_measures",
)


def load() -> None:
    """Import every module that registers steps and measures (the app factory calls it)."""
    import importlib
    for name in MODULES:
        importlib.import_module(name)
