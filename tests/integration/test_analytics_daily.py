"""The daily rollups count each local day's sales, returns, points, enrolments, receipts
without a card and SMS per store; a re-run changes nothing and a missed day is caught up."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from pos_loyalty.analytics.daily import COUNTERS
from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import OutboxMessage, RollupDay, RollupRun

from daily_setup import MONDAY, SINCE, THURSDAY, TUESDAY, three_days

def day_rows(program_id: int) -> dict[tuple[dt.date, int], dict[str, int]]:
    """Each (day, store)'s counters that are not 0."""
    rows = db.session.execute(select(RollupDay).where(RollupDay.program_id == program_id)
                              .order_by(RollupDay.day, RollupDay.store_id)).scalars()
    return {(row.day, row.store_id): {name: getattr(row, name) for name in COUNTERS
                                      if getattr(row, name)} for row in rows}


def test_each_day_counts_what_happened_at_each_store(shop):
    store = three_days(shop)["store"]
    run_rollups(THURSDAY, rebuild_from=SINCE)
    assert day_rows(shop.till.program_id) == {
        (dt.date(2026, 3, 9), 0): {"points_adjusted": 500, "enrolled_app": 1},
        (dt.date(2026, 3, 9), store): {
            "sales": 2, "sales_minor": 5000, "sales_with_points": 1,
            "sales_with_points_minor": 3000, "cash_minor": 4000, "redeemed_minor": 1000,
            "points_earned": 40, "points_redeemed": 100, "enrolled_till": 1,
            "receipts_without_card": 7},
        (dt.date(2026, 3, 10), store): {"returns": 1, "returned_minor": 1000,
                                        "points_taken_back": 10},
        (dt.date(2026, 3, 11), store): {"sales": 1, "sales_minor": 1500, "cash_minor": 1500,
                                        "points_earned": 15},
    }


def test_a_second_run_changes_nothing_and_a_missed_day_is_caught_up(shop):
    three_days(shop)
    run_rollups(TUESDAY + dt.timedelta(hours=1), rebuild_from=SINCE)
    assert max(day for day, _ in day_rows(shop.till.program_id)) == dt.date(2026, 3, 10)
    first = day_rows(shop.till.program_id)
    run_rollups(TUESDAY + dt.timedelta(hours=2))
    assert day_rows(shop.till.program_id) == first
    # No run on Wednesday: Thursday's run redoes from before the last day finished, so
    # Tuesday's return and Wednesday's sale are in.
    runs = run_rollups(THURSDAY)
    assert [(run.step, run.since, run.done_through) for run in runs
            if run.step == "daily"] == [("daily", dt.date(2026, 3, 7), dt.date(2026, 3, 11))]
    assert db.session.get(RollupRun, (shop.till.program_id, "daily")).done_through == \
        dt.date(2026, 3, 11)
    assert day_rows(shop.till.program_id)[(dt.date(2026, 3, 11), shop.till.store_id)] == {
        "sales": 1, "sales_minor": 1500, "cash_minor": 1500, "points_earned": 15}


def test_sms_count_by_what_became_of_them(shop):
    shop.now = MONDAY
    card = shop.customer()
    for _ in range(4):
        shop.sell(card, 1000)
    statuses = ["delivered", "failed", "sent", "queued"]

    def deliver() -> None:
        ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        assert len(ids) == 4
        for message_id, status in zip(ids, statuses):
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                               .values(status=status, body="text"))
    run_in_transaction(deliver)
    run_rollups(TUESDAY, rebuild_from=SINCE)
    row = day_rows(shop.till.program_id)[(dt.date(2026, 3, 9), shop.till.store_id)]
    assert (row["sms_sent"], row["sms_delivered"], row["sms_failed"]) == (3, 1, 1)
