"""When an SMS may go: quiet hours in the program's zone, backoff between retries."""
import datetime as dt
import random

import pytest

from pos_loyalty.notify.outbox import after_quiet_hours
from pos_loyalty.notify.worker import retry_delay

QUIET = {"quiet_hours_start": "21:00", "quiet_hours_end": "08:00"}
RETRY = {"retry_base_seconds": 30, "retry_max_seconds": 3600}


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("moment, expected", [
    ("2026-01-15 19:59", "2026-01-15 19:59"),  # 20:59 in Paris: still allowed
    ("2026-01-15 20:00", "2026-01-16 07:00"),  # 21:00 in Paris: wait for 08:00
    ("2026-01-15 23:30", "2026-01-16 07:00"),
    ("2026-01-16 06:59", "2026-01-16 07:00"),
    ("2026-01-16 07:00", "2026-01-16 07:00"),
    ("2026-07-15 19:30", "2026-07-16 06:00"),  # summer time: Paris is UTC+2
])
def test_quiet_hours_in_the_program_time_zone(moment, expected):
    assert after_quiet_hours(utc(moment), "Europe/Paris", QUIET) == utc(expected)


def test_quiet_hours_that_do_not_cross_midnight():
    config = {"quiet_hours_start": "12:00", "quiet_hours_end": "14:00"}
    assert after_quiet_hours(utc("2026-01-15 12:30"), "UTC", config) == utc("2026-01-15 14:00")
    assert after_quiet_hours(utc("2026-01-15 14:30"), "UTC", config) == utc("2026-01-15 14:30")


def test_no_quiet_hours_when_unset():
    config = {"quiet_hours_start": "", "quiet_hours_end": ""}
    assert after_quiet_hours(utc("2026-01-15 23:00"), "UTC", config) == utc("2026-01-15 23:00")


@pytest.mark.parametrize("attempts, low, high", [(1, 15, 30), (2, 30, 60), (3, 60, 120),
                                                 (8, 1800, 3600), (20, 1800, 3600)])
def test_retry_delay_doubles_with_jitter_up_to_the_cap(attempts, low, high):
    delays = {retry_delay(attempts, RETRY, random.Random(seed)).total_seconds()
              for seed in range(50)}
    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 40  # jittered: workers retrying together spread out
