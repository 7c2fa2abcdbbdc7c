"""After random purchase histories, every member measure read from the rollups equals the same
figures computed directly from the sales, for random periods and stores, both engines.

Sales go through the till's use case (checkout.sell, some voided at once): a history of a few
dozen sales costs a second. The examples of a test share its database, so the history grows
from one example to the next and each rollup run restarts from a month at or before the
example's earliest new sale, as cron's runs do.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.analytics import Filters
from pos_loyalty.analytics import member_measures as measures
from pos_loyalty.analytics.local_time import add_months, month_end, month_of
from pos_loyalty.analytics.members import rollup_members
from pos_loyalty.analytics.rates import percent, ratio, to_decimal
from pos_loyalty.db import db
from pos_loyalty.models import Sale
from tests.integration.member_history import History

NOW = dt.datetime(2026, 6, 20, 9, 0)
FIRST_DAY = dt.date(2025, 1, 1)
WINDOW = 3   # [analytics] activity_window_months

purchases = st.lists(st.tuples(
    st.integers(0, 7),                         # member
    st.integers(0, (NOW.date() - FIRST_DAY).days - 1),   # day
    st.integers(0, 23),                        # UTC hour
    st.sampled_from([1, 2]),                   # store
    st.integers(100, 5000),                    # total
    st.booleans() | st.just(False),            # voided at once (one in four)
), min_size=1, max_size=14)


@pytest.fixture
def history(shop) -> History:
    return History(shop)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(purchases=purchases, back=st.integers(0, 2), first=st.integers(0, 17),
       length=st.integers(1, 8), store=st.sampled_from([None, 1, 2]))
def test_rollup_figures_equal_the_direct_computation(history: History, purchases, back, first,
                                                     length, store):
    shop = history.shop
    for member, day, hour, where, total, voided in purchases:
        moment = dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time(hour))
        sale = history.buy(f"r{member}", moment, total, store=where)
        if voided:
            history.void(sale, where)
    program = history.program()
    earliest = min(programs.local_day(program, dt.datetime.combine(
        FIRST_DAY + dt.timedelta(days=day), dt.time(hour))) for _, day, hour, *_ in purchases)
    rollup_members(program, add_months(month_of(earliest), -back), NOW)

    store_id = {None: None, 1: shop.till.store_id, 2: history.second_store()[0]}[store]
    first_month = add_months(month_of(FIRST_DAY), first)
    filters = Filters(program, first_month, add_months(first_month, length - 1), store_id, NOW)
    expected = Direct(filters)
    for name in ("active_members", "purchase_frequency", "repeat_purchase_rate", "retention",
                 "cohorts", "lifetime_value"):
        measure = getattr(measures, name)(filters)
        assert (measure.rows, measure.figures) == getattr(expected, name)(), name


class Direct:
    """The member measures computed from the sales themselves, member by member."""

    def __init__(self, filters: Filters) -> None:
        program = filters.program
        self.today = programs.local_day(program, filters.now)
        self.purchases = [
            (account, programs.local_day(program, moment), total)
            for account, store, moment, total in db.session.execute(select(
                Sale.account_id, Sale.store_id, Sale.created_at, Sale.total_minor).where(
                Sale.program_id == program.id, Sale.kind == "sale", Sale.status != "voided"))
            if filters.store_id is None or store == filters.store_id]
        self.first_of: dict[int, dt.date] = {}
        for account, day, _ in self.purchases:
            self.first_of[account] = min(self.first_of.get(account, month_of(day)), month_of(day))
        self.months = []
        month = filters.first_month
        while month <= min(filters.last_month, month_of(self.today)):
            self.months.append(month)
            month = add_months(month, 1)

    def in_months(self, first: dt.date, last: dt.date) -> list[tuple[int, dt.date, int]]:
        return [row for row in self.purchases if first <= month_of(row[1]) <= last]

    def buyers(self, first: dt.date, last: dt.date) -> set[int]:
        return {account for account, _, _ in self.in_months(first, last)}

    def repeat_buyers(self, first: dt.date, last: dt.date) -> set[int]:
        accounts = [account for account, _, _ in self.in_months(first, last)]
        return {account for account in accounts if accounts.count(account) >= 2}

    def new(self, first: dt.date, last: dt.date) -> int:
        return sum(1 for month in self.first_of.values() if first <= month <= last)

    def customers(self, month: dt.date) -> int:
        return len(self.buyers(add_months(month, 1 - WINDOW), month))

    def terms(self, first: dt.date, last: dt.date) -> tuple[int, int, int]:
        return self.customers(add_months(first, -1)), self.new(first, last), \
            self.customers(last)

    def active_members(self) -> tuple:
        rows = []
        for month in self.months:
            as_of = min(month_end(month), self.today)
            rows.append((month, *(len({account for account, day, _ in self.purchases
                                       if as_of - dt.timedelta(days=days) < day <= as_of})
                                  for days in (30, 90, 365))))
        last = rows[-1][1:] if rows else (None, None, None)
        return tuple(rows), tuple(zip(("active_30", "active_90", "active_365"),
                                      ("count",) * 3, last))

    def purchase_frequency(self) -> tuple:
        rows = tuple((month, len(self.buyers(month, month)), len(self.in_months(month, month)),
                      ratio(len(self.in_months(month, month)), len(self.buyers(month, month))))
                     for month in self.months)
        bought = self.in_months(self.months[0], self.months[-1]) if self.months else []
        buyers = len({account for account, _, _ in bought})
        spent = sum(total for _, _, total in bought)
        basket = ratio(spent, len(bought), "1")
        return rows, (("buyers", "count", buyers), ("purchases", "count", len(bought)),
                      ("frequency", "decimal", ratio(len(bought), buyers)),
                      ("average_basket", "minor", None if basket is None else int(basket)))

    def repeat_purchase_rate(self) -> tuple:
        rows = tuple((month, len(self.buyers(month, month)),
                      len(self.repeat_buyers(month, month)),
                      percent(len(self.repeat_buyers(month, month)),
                              len(self.buyers(month, month)))) for month in self.months)
        if self.months:
            buyers = len(self.buyers(self.months[0], self.months[-1]))
            repeat = len(self.repeat_buyers(self.months[0], self.months[-1]))
        else:
            buyers = repeat = 0
        return rows, (("buyers", "count", buyers), ("repeat_buyers", "count", repeat),
                      ("repeat_rate", "percent", percent(repeat, buyers)))

    def retention(self) -> tuple:
        def rates(start: int, new: int, end: int) -> tuple:
            rate = percent(end - new, start)
            return rate, None if rate is None else 100 - rate
        rows = tuple((month, *self.terms(month, month), *rates(*self.terms(month, month)))
                     for month in self.months)
        if not self.months:
            return rows, ()
        terms = self.terms(self.months[0], self.months[-1])
        keys = ("customers_start", "new_customers", "customers_end", "retention", "churn")
        units = ("count",) * 3 + ("percent",) * 2
        return rows, tuple(zip(keys, units, terms + rates(*terms)))

    def cohorts(self) -> tuple:
        rows = []
        for index, cohort in enumerate(self.months):
            members = {account for account, month in self.first_of.items() if month == cohort}
            if not members:
                continue
            active = members & self.buyers(add_months(self.months[-1], 1 - WINDOW),
                                           self.months[-1])
            shares = [percent(len(members & self.buyers(month, month)), len(members))
                      for month in self.months[index:]]
            rows.append((cohort, len(members), percent(len(members) - len(active),
                                                       len(members)),
                         *shares, *(None,) * index))
        return tuple(rows), ()

    def lifetime_value(self) -> tuple:
        from fractions import Fraction
        rows, lost, at_start = [], 0, 0
        for month in self.months:
            bought = self.in_months(month, month)
            basket = ratio(sum(total for _, _, total in bought), len(bought), "1")
            start, new, end = self.terms(month, month)
            churn = percent(end - new, start)
            rows.append((month, None if basket is None else int(basket),
                         ratio(len(bought), len(self.buyers(month, month))),
                         None if churn is None else 100 - churn))
            lost, at_start = lost + start - end + new, at_start + start
        bought = self.in_months(self.months[0], self.months[-1]) if self.months else []
        buyers = len({account for account, _, _ in bought})
        basket = Fraction(sum(total for _, _, total in bought), len(bought)) if bought else None
        frequency = Fraction(len(bought), buyers * len(self.months)) if buyers else None
        churn = Fraction(lost, at_start) if at_start else None
        lifespan = 1 / churn if churn else None
        lifespan = lifespan if lifespan is None or lifespan > 0 else None
        value = basket * frequency * lifespan if None not in (basket, frequency, lifespan) \
            else None
        return tuple(rows), (
            ("average_basket", "minor", None if basket is None else int(ratio(basket, 1, "1"))),
            ("monthly_frequency", "decimal",
             None if frequency is None else to_decimal(frequency, "0.01")),
            ("monthly_churn", "percent", None if churn is None else percent(churn, 1)),
            ("lifespan_months", "decimal",
             None if lifespan is None else to_decimal(lifespan, "0.1")),
            ("lifetime_value", "minor", None if value is None else int(ratio(value, 1, "1"))))
