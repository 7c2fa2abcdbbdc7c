"""The database counts moments on the program's local day, clock changes included."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import literal, select

from pos_loyalty.analytics.local_time import local_date_of, offset_stretches
from pos_loyalty.db import db
from pos_loyalty.models import Program


def test_paris_changes_its_offset_twice_a_year() -> None:
    stretches = offset_stretches("Europe/Paris", dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1))
    assert stretches == [(dt.datetime(2026, 1, 1), 3600),
                         (dt.datetime(2026, 3, 29, 1, 0), 7200),
                         (dt.datetime(2026, 10, 25, 1, 0), 3600)]


def test_a_zone_without_clock_changes_has_one_stretch() -> None:
    assert offset_stretches("Asia/Kolkata", dt.datetime(2026, 1, 1),
                            dt.datetime(2027, 1, 1)) == [(dt.datetime(2026, 1, 1), 19800)]


def test_late_evening_utc_is_the_next_local_day_in_summer_and_in_winter(app) -> None:
    program = Program(slug="p", name="P", currency="EUR", timezone="Europe/Paris", locale="fr_FR")
    with app.app_context():
        dialect = db.engine.dialect.name
        cases = {dt.datetime(2026, 7, 14, 22, 30): dt.date(2026, 7, 15),    # 00:30 in Paris
                 dt.datetime(2026, 7, 14, 21, 59): dt.date(2026, 7, 14),    # 23:59
                 dt.datetime(2026, 12, 31, 23, 0): dt.date(2027, 1, 1),     # 00:00
                 dt.datetime(2026, 12, 31, 22, 59): dt.date(2026, 12, 31),
                 dt.datetime(2026, 3, 29, 0, 59): dt.date(2026, 3, 29)}     # 01:59, before
        for moment, day in cases.items():
            expression = local_date_of(program, literal(moment), dt.datetime(2026, 1, 1),
                                       dt.datetime(2027, 1, 2), dialect)
            assert db.session.scalar(select(expression)) == day, moment
