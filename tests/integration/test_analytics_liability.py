"""The liability as of a past day: later sales, returns and expiry leave it as it was; pending
points stay pending until they were released; `pos-loyalty report liability` prints it.

Paris; 1 point per 1.00 paid in money; 10 points pay 1.00 (a point is worth 0.10).
"""
from __future__ import annotations

import datetime as dt

from pos_loyalty.analytics.liability import AgedPoints, liability_at, liability_by_day
from pos_loyalty.models.daily_rollups import NEVER_EXPIRES
from pos_loyalty.usecases.jobs import run_expiry

MARCH_2027, APRIL_2027 = dt.date(2027, 3, 1), dt.date(2027, 4, 1)


def a_year_of_alice(shop) -> str:
    """9 March 2026: a manager gives Alice 500 points; she buys 30.00 paying 200 of them
    (earns 10). 15 April: lots stop expiring; she buys 50.00 (earns 50, never expiring).
    20 April: she returns the March receipt (10 points taken back, 200 given back).
    10 March 2027: what is left of March's lots expires."""
    shop.now = dt.datetime(2026, 3, 9, 10, 0)
    alice = shop.customer()
    shop.adjust(alice, 500)
    march = shop.sell(alice, 3000, redeem_points=200)
    shop.now = dt.datetime(2026, 4, 15, 10, 0)
    shop.till.set_rules(expiry_months=0)
    shop.sell(alice, 5000)
    shop.now = dt.datetime(2026, 4, 20, 10, 0)
    shop.return_sale(march["sale_id"], 3000)
    run_expiry(dt.datetime(2027, 3, 10, 12, 0))
    return alice


def test_a_past_day_leaves_out_later_sales_returns_and_expiry(shop):
    a_year_of_alice(shop)
    program = shop.program
    # 31 March 2026: 500 - 200 spent + 10 earned, all expiring in March 2027.
    assert liability_at(program, dt.date(2026, 3, 31)) == [AgedPoints(MARCH_2027, 310, 0)]
    # 30 April: the return gave the 200 back and took the 10; April's 50 never expire.
    assert liability_at(program, dt.date(2026, 4, 30)) == [
        AgedPoints(MARCH_2027, 500, 0), AgedPoints(NEVER_EXPIRES, 50, 0)]
    # After the expiry: only April's 50.
    assert liability_at(program, dt.date(2027, 3, 31)) == [AgedPoints(NEVER_EXPIRES, 50, 0)]
    # Before anything: nothing.
    assert liability_at(program, dt.date(2026, 3, 8)) == []


def test_points_stay_pending_until_they_were_released(shop):
    shop.till.set_rules(pending_days=7)
    shop.now = dt.datetime(2026, 3, 9, 10, 0)
    bob = shop.customer()
    sale = shop.sell(bob, 2000)                      # 20 pending until 16 March
    shop.now = dt.datetime(2026, 3, 10, 10, 0)
    shop.return_sale(sale["sale_id"], 500)           # 5 of them taken back
    run_expiry(dt.datetime(2026, 3, 20, 10, 0))      # released on the 20th, not the 16th
    days = liability_by_day(shop.program, dt.date(2026, 3, 8), dt.date(2026, 3, 21))
    # Expiring 12 months after the 16th: March 2027.
    assert days[dt.date(2026, 3, 8)] == []
    assert days[dt.date(2026, 3, 9)] == [AgedPoints(MARCH_2027, 0, 20)]
    assert days[dt.date(2026, 3, 10)] == [AgedPoints(MARCH_2027, 0, 15)]
    assert days[dt.date(2026, 3, 17)] == [AgedPoints(MARCH_2027, 0, 15)]
    assert days[dt.date(2026, 3, 20)] == [AgedPoints(MARCH_2027, 15, 0)]
    assert days[dt.date(2026, 3, 21)] == [AgedPoints(MARCH_2027, 15, 0)]
    assert liability_at(shop.program, dt.date(2026, 3, 17)) == [AgedPoints(MARCH_2027, 0, 15)]


def test_report_liability_prints_csv_with_a_total(shop, runner):
    a_year_of_alice(shop)
    result = runner.invoke(args=["report", "liability", "--at", "2026-04-30"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "expiry_month,available_points,pending_points,value_minor,value_EUR",
        "2027-03,500,0,5000,50.00",
        "never,50,0,500,5.00",
        "total,550,0,5500,55.00"]


def test_report_liability_refuses_an_unknown_program_and_a_bad_date(shop, runner):
    unknown = runner.invoke(args=["report", "liability", "--at", "2026-04-30",
                                  "--program", "nope"])
    assert unknown.exit_code == 2
    assert "No program 'nope'." in unknown.output
    bad = runner.invoke(args=["report", "liability", "--at", "30/04/2026"])
    assert bad.exit_code == 2
    assert "--at" in bad.output


def test_points_a_hold_set_aside_are_back_from_the_day_it_was_released(shop):
    shop.now = dt.datetime(2026, 3, 9, 10, 0)
    carol = shop.customer()
    shop.adjust(carol, 500)                                  # expiring in March 2027
    shop.now = dt.datetime(2026, 3, 9, 22, 30)               # 23:30 in Paris
    hold = shop.hold(carol, 200, ttl_seconds=3600)
    shop.now = dt.datetime(2026, 3, 9, 23, 15)               # 00:15 on the 10th
    shop.release(hold["hold_id"])
    days = liability_by_day(shop.program, dt.date(2026, 3, 9), dt.date(2026, 3, 10))
    assert days == {dt.date(2026, 3, 9): [AgedPoints(MARCH_2027, 300, 0)],
                    dt.date(2026, 3, 10): [AgedPoints(MARCH_2027, 500, 0)]}
