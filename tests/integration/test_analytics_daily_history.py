"""After any history of sales (some paying with points), returns, releases and expiry, the
daily rollups agree with a direct reading of the ledger and the sales: the points figures of
any period (pos_loyalty.program_figures), the sales, and the liability at any day's end
(the balances then: available above zero and pending)."""
from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from pos_loyalty.analytics.liability import liability_at
from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.db import db
from pos_loyalty.exports import Period, within
from pos_loyalty.models import LedgerEntry, RollupDay, RollupLiabilityDay, Sale
from pos_loyalty.program_figures import figures
from pos_loyalty.programs import local_day_start_utc
from pos_loyalty.usecases.jobs import run_expiry

# The examples share the program and the database: each one lives the 70 days after the
# previous one's (the clock never goes back: an expiry run releases and expires every
# customer's points), and both sides read everything written so far.
BASE = dt.datetime(2026, 1, 5, 6, 0)
EXAMPLE_DAYS = 70
examples = itertools.count()

steps = st.lists(st.tuples(
    st.integers(0, 60 * 24 - 1),                  # hours after the example's start
    st.sampled_from(["sell", "sell", "return", "expire"]),
    st.integers(0, 2),                            # which customer
    st.integers(500, 6000),                       # receipt total, or share returned
    st.integers(0, 80)), min_size=3, max_size=14)  # points the customer would like to spend
days = st.integers(0, EXAMPLE_DAYS - 1)


def play(shop, start: dt.datetime, history) -> None:
    """Three new customers live the history, in time order."""
    shop.now = start
    cards = [shop.customer() for _ in range(3)]
    sales: list[tuple[int, int, int]] = []          # (customer, sale id, minor left)
    for hours, action, who, amount, wish in sorted(history):
        shop.now = start + dt.timedelta(hours=hours)
        if action == "sell":
            available = shop.balance(cards[who])["available"]
            spend = max(0, min(wish, available, (amount - 100) // 10))
            sale = shop.sell(cards[who], amount, redeem_points=spend)
            sales.append((who, sale["sale_id"], amount))
        elif action == "return":
            mine = [index for index, (owner, _, left) in enumerate(sales)
                    if owner == who and left > 0]
            if mine:
                owner, sale_id, left = sales[mine[-1]]
                back = min(left, max(1, left * amount // 6000))
                shop.return_sale(sale_id, back)
                sales[mine[-1]] = (owner, sale_id, left - back)
        else:
            run_expiry(shop.now)


def ledger_balances_at(program_id: int, end: dt.datetime) -> tuple[int, int]:
    """(available points of accounts above zero, pending points) at `end`, from the ledger."""
    balances = db.session.execute(
        select(func.sum(LedgerEntry.points), func.sum(LedgerEntry.pending_delta))
        .where(LedgerEntry.program_id == program_id, LedgerEntry.created_at < end)
        .group_by(LedgerEntry.account_id)).all()
    return (sum(max(int(available), 0) for available, _ in balances),
            sum(int(pending) for _, pending in balances))


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps, periods=st.lists(st.tuples(days, days), min_size=3, max_size=3),
       liability_days=st.lists(days, min_size=3, max_size=3))
def test_rollups_equal_the_ledger_read_directly(shop, history, periods, liability_days):
    start = BASE + dt.timedelta(days=EXAMPLE_DAYS * next(examples))
    first_day = start.date()
    shop.till.set_rules(pending_days=2, expiry_months=1)
    play(shop, start, history)
    run_rollups(start + dt.timedelta(days=EXAMPLE_DAYS), rebuild_from=first_day)
    program = shop.program
    for one, other in periods:
        period = Period(first_day + dt.timedelta(days=min(one, other)),
                        first_day + dt.timedelta(days=max(one, other)))
        direct = figures(program, period)
        kept = db.session.execute(select(*(func.coalesce(func.sum(column), 0) for column in (
            RollupDay.points_earned + RollupDay.points_campaign + RollupDay.points_bonus,
            RollupDay.points_redeemed, RollupDay.points_expired, RollupDay.points_taken_back,
            RollupDay.points_adjusted, RollupDay.sales))).where(
            RollupDay.program_id == program.id, RollupDay.day >= period.first,
            RollupDay.day <= period.last)).one()
        sales = db.session.scalar(select(func.count()).select_from(Sale).where(
            Sale.program_id == program.id, Sale.status == "completed",
            *within(program, period, Sale.created_at)))
        assert tuple(int(value) for value in kept) == (
            direct.issued, direct.redeemed, direct.expired, direct.taken_back, direct.adjusted,
            sales), period
    for offset in liability_days:
        day = first_day + dt.timedelta(days=offset)
        end = local_day_start_utc(program, day + dt.timedelta(days=1))
        rows = db.session.execute(
            select(RollupLiabilityDay.expiry_month, RollupLiabilityDay.available,
                   RollupLiabilityDay.pending)
            .where(RollupLiabilityDay.program_id == program.id, RollupLiabilityDay.day == day)
            .order_by(RollupLiabilityDay.expiry_month)).all()
        assert [tuple(row) for row in rows] == [
            (aged.expiry_month, aged.available, aged.pending)
            for aged in liability_at(program, day)], day
        assert (sum(row[1] for row in rows), sum(row[2] for row in rows)) == \
            ledger_balances_at(program.id, end), day
