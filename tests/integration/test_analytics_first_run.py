"""A first `pos-loyalty rollup` starts at the first thing it counts, even when history older
than the program's own row was loaded (an import, a brand's past year): no day is missed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.db import db
from pos_loyalty.models import RollupDay, RollupRun

from daily_setup import THURSDAY, three_days


def test_a_first_run_counts_days_older_than_the_program_row(shop):
    # The test program is made at the machine's real time, after these March 2026 days.
    three_days(shop)
    runs = run_rollups(THURSDAY)
    assert {run.step: run.since for run in runs} == {"daily": dt.date(2026, 3, 9),
                                                     "members": dt.date(2026, 3, 9)}

    def counted() -> tuple[int, int]:
        return db.session.execute(select(db.func.sum(RollupDay.sales),
                                         db.func.sum(RollupDay.points_earned))
                                  .where(RollupDay.program_id == shop.till.program_id)).one()
    assert counted() == (3, 55)
    assert db.session.scalar(select(db.func.min(RollupRun.done_through))) == dt.date(2026, 3, 11)
