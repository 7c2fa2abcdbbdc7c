"""Member measures on small hand-made histories, both engines: sales made at the till (the
use cases), the "members" rollup step run, each measure's figures worked out by hand.

The program keeps Paris time: a sale at 23:30 UTC on 31 January is a February purchase.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from pos_loyalty.analytics.member_measures import (
    active_members, cohorts, lifetime_value, purchase_frequency, repeat_purchase_rate, retention,
)
from pos_loyalty.analytics.members import rollup_members
from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import (
    CohortMonth, MemberActivity, MemberLastDay, MemberMonth, MemberReach,
)
from tests.integration.member_history import History, at

JAN, FEB, MAR, APR, MAY = (dt.date(2026, month, 1) for month in range(1, 6))


@pytest.fixture
def history(shop) -> History:
    return History(shop)


def figures(measure) -> dict:
    return {key: value for key, _, value in measure.figures}


# --- active members ---------------------------------------------------------------------

def test_active_members_count_the_30_90_365_days_ending_each_month(history):
    history.buy("a", at("2026-01-31"))                 # 31 January in Paris
    history.buy("b", at("2026-01-01"))                 # 1 January
    history.buy("c", at("2026-01-31", hour=23))        # 00:30 on 1 February in Paris
    now = at("2026-05-10")
    history.roll_up(now)
    measure = active_members(history.filters(JAN, MAY, now))
    assert measure.columns == ("month", "active_30", "active_90", "active_365")
    assert measure.rows == (
        (JAN, 1, 2, 2),     # 2-31 Jan: a; b bought on the 1st
        (FEB, 2, 3, 3),     # 30 Jan - 28 Feb: a, c
        (MAR, 0, 3, 3),     # 1 Jan - 31 Mar is 90 days: b still counts
        (APR, 0, 2, 3),     # 31 Jan - 30 Apr: a and c
        (MAY, 0, 0, 3),     # as of today, 10 May: 10 Feb - 10 May
    )
    assert figures(measure) == {"active_30": 0, "active_90": 0, "active_365": 3}


# --- frequency, repeat purchases, retention, lifetime value on one history -----------------

def seven_members(history: History) -> None:
    """Before April: m1 (Jan), m2 (Feb), m3 and m4 (Mar) are the customers at the start of
    April-May (window of 3 months); m7 last bought in November. In April-May: m5 is new in
    April and buys again in May; m6 is new in May; m4 buys twice in May; m7 comes back."""
    history.buy("m7", at("2025-11-20"), 700)
    history.buy("m1", at("2026-01-10"), 900)
    history.buy("m2", at("2026-02-10"), 900)
    history.buy("m3", at("2026-03-10"), 900)
    history.buy("m4", at("2026-03-11"), 900)
    history.buy("m5", at("2026-04-02"), 2000)
    history.buy("m4", at("2026-05-03"), 1000)
    history.buy("m4", at("2026-05-04"), 3000)
    history.buy("m5", at("2026-05-05"), 1000)
    history.buy("m6", at("2026-05-06"), 4000)
    history.buy("m7", at("2026-05-07"), 500)


NOW = at("2026-06-15")


def test_retention_is_e_minus_n_over_s_with_new_and_lost_customers(history):
    seven_members(history)
    history.roll_up(NOW)
    measure = retention(history.filters(APR, MAY, NOW))
    # S: m1..m4 bought in Jan-Mar. E: m3, m4, m5, m6, m7 bought in Mar-May. N: m5, m6.
    assert figures(measure) == {"customers_start": 4, "new_customers": 2, "customers_end": 5,
                                "retention": Decimal("75.0"), "churn": Decimal("25.0")}
    assert measure.rows == (
        # April: S = Jan-Mar (4), E = Feb-Apr: m2, m3, m4, m5; N = m5: (4 - 1) / 4.
        (APR, 4, 1, 4, Decimal("75.0"), Decimal("25.0")),
        # May: S = Feb-Apr (4), E = Mar-May (5), N = m6: (5 - 1) / 4.
        (MAY, 4, 1, 5, Decimal("100.0"), Decimal("0.0")))
    assert measure.note == "retention_note"


def test_frequency_and_basket_count_each_member_once_over_the_period(history):
    seven_members(history)
    history.roll_up(NOW)
    measure = purchase_frequency(history.filters(APR, MAY, NOW))
    assert measure.rows == ((APR, 1, 1, Decimal("1.00")), (MAY, 4, 5, Decimal("1.25")))
    # m4, m5, m6, m7 bought 6 times for 115.00: 1.5 purchases each, 19.17 a basket.
    assert figures(measure) == {"buyers": 4, "purchases": 6, "frequency": Decimal("1.50"),
                                "average_basket": 1917}


def test_repeat_rate_is_the_share_of_buyers_with_two_purchases(history):
    seven_members(history)
    history.roll_up(NOW)
    measure = repeat_purchase_rate(history.filters(APR, MAY, NOW))
    # In May alone only m4 bought twice; over April-May m5 did too.
    assert measure.rows == ((APR, 1, 0, Decimal("0.0")), (MAY, 4, 1, Decimal("25.0")))
    assert figures(measure) == {"buyers": 4, "repeat_buyers": 2, "repeat_rate": Decimal("50.0")}


def test_lifetime_value_is_basket_times_monthly_frequency_times_lifespan(history):
    seven_members(history)
    history.roll_up(NOW)
    measure = lifetime_value(history.filters(APR, MAY, NOW))
    # Monthly churn: April lost 1 of 4, May 0 of 4: 1/8, a lifespan of 8 months. Purchases
    # per member per month: 6 / 4 / 2 = 0.75. 115.00 / 6 x 0.75 x 8 = 115.00.
    assert figures(measure) == {
        "average_basket": 1917, "monthly_frequency": Decimal("0.75"),
        "monthly_churn": Decimal("12.5"), "lifespan_months": Decimal("8.0"),
        "lifetime_value": 11500}
    assert measure.rows == ((APR, 2000, Decimal("1.00"), Decimal("25.0")),
                            (MAY, 1900, Decimal("1.25"), Decimal("0.0")))
    assert measure.note == "lifetime_value_note"


def test_lifetime_value_is_undefined_when_no_customer_was_lost(history):
    seven_members(history)
    history.roll_up(NOW)
    measure = lifetime_value(history.filters(MAY, MAY, NOW))
    assert figures(measure)["monthly_churn"] == Decimal("0.0")
    assert figures(measure)["lifespan_months"] is None
    assert figures(measure)["lifetime_value"] is None


# --- cohorts ------------------------------------------------------------------------------

def test_cohorts_show_the_share_buying_each_month_after_the_first(history):
    history.buy("z", at("2025-12-05"))      # December's cohort: not shown for January-April
    for member in "abcdz":
        history.buy(member, at("2026-01-05"))
    for member in "abef":
        history.buy(member, at("2026-02-05"))
    for member in "aeg":
        history.buy(member, at("2026-03-05"))
    history.buy("h", at("2026-04-05"))
    history.roll_up(NOW)
    measure = cohorts(history.filters(JAN, APR, NOW))
    assert measure.columns == ("cohort", "members", "churn",
                               "after_0", "after_1", "after_2", "after_3")
    hundred, fifty, none = Decimal("100.0"), Decimal("50.0"), None
    assert measure.rows == (
        # a, b, c, d; churn: c, d bought nothing in February-April.
        (JAN, 4, fifty, hundred, fifty, Decimal("25.0"), Decimal("0.0")),
        (FEB, 2, Decimal("0.0"), hundred, fifty, Decimal("0.0"), none),
        (MAR, 1, Decimal("0.0"), hundred, Decimal("0.0"), none, none),
        (APR, 1, Decimal("0.0"), hundred, none, none, none))
    assert measure.charted == ("churn",)


# --- store filter -------------------------------------------------------------------------

def test_a_store_counts_its_own_buyers_and_their_purchases_there(history):
    history.buy("x", at("2026-01-05"), 1000, store=1)
    history.buy("x", at("2026-03-05"), 3000, store=2)
    history.buy("x", at("2026-03-06"), 1000, store=1)
    history.buy("y", at("2026-03-07"), 2000, store=2)
    history.roll_up(NOW)
    second = history.second_store()[0]
    at_second = history.filters(MAR, MAR, NOW, store_id=second)
    assert figures(purchase_frequency(at_second)) == {
        "buyers": 2, "purchases": 2, "frequency": Decimal("1.00"), "average_basket": 2500}
    # x is new at the second store in March, though not to the program.
    assert figures(retention(at_second))["new_customers"] == 2
    assert figures(retention(history.filters(MAR, MAR, NOW)))["new_customers"] == 1
    assert figures(repeat_purchase_rate(history.filters(MAR, MAR, NOW)))["repeat_buyers"] == 1
    assert figures(repeat_purchase_rate(at_second))["repeat_buyers"] == 0
    assert active_members(at_second).rows == ((MAR, 2, 2, 2),)
    assert active_members(history.filters(JAN, JAN, NOW, store_id=second)).rows == (
        (JAN, 0, 0, 0),)


def test_a_voided_sale_is_no_purchase(history):
    sale = history.buy("v", at("2026-03-05"))
    history.buy("w", at("2026-03-05"))
    history.shop.void(sale["sale_id"])
    history.roll_up(NOW)
    assert figures(purchase_frequency(history.filters(MAR, MAR, NOW)))["buyers"] == 1


# --- the step: idempotent, catching up ------------------------------------------------------

TABLES = (MemberMonth, MemberReach, MemberLastDay, MemberActivity, CohortMonth)


def everything_kept() -> dict[str, list[tuple]]:
    kept = {}
    for table in TABLES:
        columns = table.__table__.columns
        kept[table.__tablename__] = sorted(
            tuple(row) for row in db.session.execute(select(*columns)).all())
    return kept


def test_a_second_run_changes_nothing(history):
    seven_members(history)
    history.roll_up(NOW)
    first = everything_kept()
    assert len(first["member_month"]) == 20   # 10 (member, month) pairs, store 1 and store 0
    history.roll_up(NOW)
    assert everything_kept() == first


def test_runs_from_cron_catch_up_missed_days_and_match_a_rebuild(history, app):
    history.buy("a", at("2026-01-05"))
    run_rollups(at("2026-01-20"))
    history.buy("a", at("2026-01-25"))
    history.buy("b", at("2026-02-03"))
    # No run in February; the one of 10 March catches up from 17 January.
    history.buy("c", at("2026-03-04"))
    history.shop.now = at("2026-03-10")
    runs = run_rollups(at("2026-03-10"))
    assert [(run.step, run.since, run.done_through) for run in runs
            if run.step == "members"] == [("members", dt.date(2026, 1, 17), dt.date(2026, 3, 9))]
    caught_up = everything_kept()
    # Built afresh: a step that finds no month built starts at the first sale's month.
    run_in_transaction(lambda: [db.session.execute(delete(table)) for table in TABLES])
    rollup_members(history.program(), dt.date(2026, 3, 9), at("2026-03-10"))
    assert everything_kept() == caught_up
    assert active_members(history.filters(JAN, MAR, at("2026-03-10"))).rows == (
        (JAN, 1, 1, 1), (FEB, 1, 2, 2), (MAR, 1, 3, 3))   # a last bought on 25 January
