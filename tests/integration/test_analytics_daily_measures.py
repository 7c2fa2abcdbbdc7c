"""The measures on the daily rollups, each worked out by hand on a few days of a shop."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from pos_loyalty.analytics import Filters, registry
from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import OutboxMessage
from pos_loyalty.usecases.jobs import run_expiry

from daily_setup import MONDAY, SINCE, THURSDAY, three_days
from offers_setup import LADDER, make_campaign

FEBRUARY, MARCH = dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def measured(shop, key: str, store_id: int | None = None, first=FEBRUARY, last=MARCH):
    filters = Filters(shop.program, first, last, store_id, THURSDAY)
    return registry.measures[key][2](filters)


def test_members_enrolments_and_adoption(shop):
    store = three_days(shop)["store"]
    run_rollups(THURSDAY, rebuild_from=SINCE)
    enrolments = measured(shop, "enrolments")
    assert enrolments.columns == ("month", "till", "app", "import", "back_office", "cli",
                                  "not_recorded", "enrolled")
    assert enrolments.rows == ((FEBRUARY, 0, 0, 0, 0, 0, 0, 0), (MARCH, 1, 1, 0, 0, 0, 0, 2))
    assert enrolments.figures == (("enrolled", "count", 2),)
    # At the store: only who joined at its till.
    assert measured(shop, "enrolments", store).rows[1] == (MARCH, 1, 0, 0, 0, 0, 0, 1)
    # Three sales with a card, 7 receipts without: 3 / 10; two members by the end of March.
    adoption = measured(shop, "adoption")
    assert adoption.rows == ((FEBRUARY, 0, 0, 0, None), (MARCH, 2, 3, 7, Decimal("30.0")))
    assert adoption.figures == (("adoption_rate", "percent", Decimal("30.0")),
                                ("members", "count", 2))
    assert measured(shop, "adoption", store).rows[1] == (MARCH, 1, 3, 7, Decimal("30.0"))


def test_points_issued_redeemed_taken_back_and_the_rates(shop):
    three_days(shop)
    run_rollups(THURSDAY, rebuild_from=SINCE)
    points = measured(shop, "points_flow", first=MARCH)
    # Earned 20 + 20 + 15; Bob paid 100; the return took back 10 of Alice's 20. The
    # manager's 500 points are an adjustment, not issued.
    assert points.rows == ((MARCH, 55, 100, 0, 10),)
    assert dict((key, value) for key, _, value in points.figures) == {
        "issued": 55, "redeemed": 100, "expired": 0, "taken_back": 10,
        "redemption_rate": Decimal("181.8"), "breakage_rate": Decimal("0.0")}
    assert measured(shop, "redemption", first=MARCH).rows == (
        (MARCH, Decimal("181.8"), Decimal("0.0")),)


def test_breakage_counts_the_points_that_expired(shop):
    shop.now = MONDAY
    card = shop.customer()
    shop.sell(card, 4000)                      # 40 points, expiring on 9 March 2027
    shop.sell(card, 2000, redeem_points=20)    # pays 2.00 with 20 of them, earns 18
    run_expiry(dt.datetime(2027, 3, 10, 12, 0))   # 20 + 18 expire
    run_rollups(dt.datetime(2027, 3, 11, 12, 0), rebuild_from=SINCE)
    points = measured(shop, "points_flow", first=MARCH, last=dt.date(2027, 3, 1))
    assert points.rows[0] == (MARCH, 58, 20, 0, 0)
    assert points.rows[-1] == (dt.date(2027, 3, 1), 0, 0, 38, 0)
    # Redeemed 20 of 58 issued: 34.5 %; expired 38 of 58: 65.5 %.
    assert dict((key, value) for key, _, value in points.figures) == {
        "issued": 58, "redeemed": 20, "expired": 38, "taken_back": 0,
        "redemption_rate": Decimal("34.5"), "breakage_rate": Decimal("65.5")}


def test_average_basket_with_and_without_points(shop):
    three_days(shop)
    run_rollups(THURSDAY, rebuild_from=SINCE)
    basket = measured(shop, "average_basket", first=MARCH)
    # 20.00 + 30.00 + 15.00 over three receipts = 21.67; with points 30.00; without:
    # (20.00 + 15.00) / 2 = 17.50.
    assert basket.rows == ((MARCH, 2167, 3000, 1750),)
    assert basket.figures == (("basket_minor", "minor", 2167),
                              ("basket_with_points_minor", "minor", 3000),
                              ("basket_without_points_minor", "minor", 1750))


def test_liability_measure_shows_the_last_day_kept(shop):
    three_days(shop)
    run_rollups(THURSDAY, rebuild_from=SINCE)
    liability = measured(shop, "liability")
    # Bob: 500 - 100 + 20; Alice: 20 - 10 + 15; every lot expires in March 2027.
    assert liability.rows == (("2027-03", 445, 0, 4450),)
    assert liability.figures == (("liability_points", "points", 445),
                                 ("liability_minor", "minor", 4450))
    assert liability.program_wide


def test_sms_sent_delivered_failed_and_their_cost_in_the_commonest_currency(shop):
    shop.now = MONDAY
    card = shop.customer()
    for _ in range(4):
        shop.sell(card, 1000)
    outcomes = [("delivered", 75000, "USD"), ("failed", 80000, "EUR"), ("sent", 75000, "USD"),
                ("queued", None, None)]

    def report() -> None:
        ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        for message_id, (status, micros, unit) in zip(ids, outcomes):
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                               .values(status=status, body="text", price_micros=micros,
                                       price_unit=unit))
    run_in_transaction(report)
    run_rollups(THURSDAY, rebuild_from=SINCE)
    sms = measured(shop, "sms", first=MARCH)
    # Two messages at 0.075 USD: 0.15 USD; the one priced in EUR is left out.
    assert sms.rows == ((MARCH, 3, 1, 1, Decimal("0.15")),)
    assert sms.figures == (("sms_sent", "count", 3), ("sms_cost", "decimal", Decimal("0.15")),
                           ("sms_cost_currency", "label", "USD"))


def test_tiers_now_and_their_moves(shop):
    shop.till.set_rules(**LADDER)
    shop.now = MONDAY
    alice, bob = shop.customer(), shop.customer()
    shop.sell(alice, 6000)       # 60 points: silver
    shop.sell(bob, 1000)
    run_rollups(THURSDAY, rebuild_from=SINCE)
    assert measured(shop, "tier_distribution").rows == (("none", 1), ("silver", 1),
                                                        ("gold", 0))
    assert measured(shop, "tier_movements", first=MARCH).rows == ((MARCH, 1, 0),)


def test_a_campaign_s_points_sales_and_lift_against_the_same_weekdays_before_it(shop):
    shop.now = dt.datetime(2026, 2, 2, 10, 0)
    regular = shop.customer()
    shop.sell(regular, 1000)                   # two sales in the four weeks before March
    shop.now = dt.datetime(2026, 2, 20, 10, 0)
    shop.sell(regular, 1000)
    make_campaign(shop.program, shop.now)      # double points all March
    three_days(shop)
    run_rollups(THURSDAY, rebuild_from=dt.date(2026, 1, 1))
    campaigns = measured(shop, "campaigns", first=MARCH)
    # Doubled: 20 + 20 + 15 more points on three receipts (65.00). Baseline: 20.00 over the
    # 28 days of February, 0.71 a day. Lift: 65.00 over the 11 days from 1 to 11 March:
    # (6500 / 11) / (2000 / 28) - 1 = 727.3 %.
    assert campaigns.rows == (("Double points", 55, 3, 6500, 71, Decimal("727.3")),)
