"""A till reports each day's receipts without a loyalty card (PUT), the adoption rate's
denominator, and reads back what it reported (GET): a report of the same day replaces it; days
to come, days too old, impossible counts and broken bodies get the documented errors."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from openapi_check import CheckedClient, error_code
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import TerminalDay
from pos_loyalty.openapi import pos_document

# The shop's clock: Monday 9 March 2026, 10:00 UTC (11:00 in Paris, the program's time zone).
PATH = "/days/{}/receipts-without-card"


@pytest.fixture
def pos(till, shop):
    return CheckedClient(till.client, "/api/pos/v1", pos_document(), till.headers)


def put(pos, day, body, **options):
    return pos.call("PUT", PATH.format(day), body, **options)


def rows():
    db.session.expire_all()
    return [(row.terminal_id, row.day, row.program_id, row.store_id, row.receipts_without_card,
             row.reported_at)
            for row in db.session.scalars(select(TerminalDay).order_by(TerminalDay.day))]


def test_the_count_of_a_day_is_recorded_for_the_terminal_and_its_store(till, shop, pos):
    reply = put(pos, "2026-03-09", {"count": 37})
    assert reply.status_code == 200
    expected = {"day": "2026-03-09", "count": 37, "store_id": till.store_id,
                "reported_at": "2026-03-09T10:00:00Z"}
    assert reply.get_json() == expected
    assert pos.get(PATH.format("2026-03-09")).get_json() == expected
    assert rows() == [(till.terminal_id, dt.date(2026, 3, 9), till.program_id, till.store_id, 37,
                       dt.datetime(2026, 3, 9, 10, 0))]


def test_a_replayed_or_corrected_count_replaces_the_day_s_row(till, shop, pos):
    put(pos, "2026-03-08", {"count": 40})
    put(pos, "2026-03-08", {"count": 40})
    shop.now = dt.datetime(2026, 3, 9, 18, 30)
    corrected = put(pos, "2026-03-08", {"count": 42})
    assert corrected.get_json()["reported_at"] == "2026-03-09T18:30:00Z"
    assert pos.get(PATH.format("2026-03-08")).get_json()["count"] == 42
    assert rows() == [(till.terminal_id, dt.date(2026, 3, 8), till.program_id, till.store_id, 42,
                       dt.datetime(2026, 3, 9, 18, 30))]


def test_each_terminal_keeps_its_own_count_and_sees_only_its_own(till, shop, pos):
    _, key = run_in_transaction(lambda: programs.create_terminal(till.program(), till.store_id,
                                                                 "Caisse 2"))
    other = CheckedClient(till.client, "/api/pos/v1", pos_document(),
                          {"Authorization": f"Bearer {key}"})
    put(pos, "2026-03-09", {"count": 10})
    assert error_code(other.get(PATH.format("2026-03-09"))) == (404, "day_not_reported")
    put(other, "2026-03-09", {"count": 3})
    assert [row[4] for row in rows()] == [10, 3]
    assert pos.get(PATH.format("2026-03-09")).get_json()["count"] == 10


def test_today_is_the_program_s_local_day_not_utc_s(shop, pos):
    shop.now = dt.datetime(2026, 3, 9, 23, 30)   # 00:30 on Tuesday 10 March in Paris
    assert put(pos, "2026-03-10", {"count": 1}).status_code == 200
    refused = put(pos, "2026-03-11", {"count": 1})
    assert error_code(refused) == (422, "validation_error")
    assert refused.get_json()["error"] == {
        "code": "validation_error", "details": {"field": "day"},
        "message": "2026-03-11 has not begun yet in the program's time zone "
                   "(today is 2026-03-10)."}


def test_a_day_may_be_reported_up_to_400_days_back(shop, pos):
    assert put(pos, "2025-02-02", {"count": 5}).status_code == 200   # 9 March 2026 - 400 days
    refused = put(pos, "2025-02-01", {"count": 5})
    assert refused.get_json()["error"] == {
        "code": "validation_error", "details": {"field": "day"},
        "message": "A day may be reported up to 400 days back: 2025-02-01 is too old."}


@pytest.mark.parametrize("count", [-1, 1_000_001, "12", 1.5, True, None])
def test_a_count_that_is_no_whole_number_from_0_to_a_million_is_refused(shop, pos, count):
    refused = put(pos, "2026-03-09", {"count": count}, valid=False)
    assert error_code(refused) == (422, "validation_error")
    assert refused.get_json()["error"]["details"] == {"field": "count"}
    assert rows() == []


def test_the_bounds_of_the_count_are_taken(shop, pos):
    assert put(pos, "2026-03-09", {"count": 0}).get_json()["count"] == 0
    assert put(pos, "2026-03-09", {"count": 1_000_000}).get_json()["count"] == 1_000_000


@pytest.mark.parametrize("day", ["2026-3-9", "20260309", "2026-02-30", "yesterday",
                                 "2026-03-09T00:00"])
def test_a_day_not_written_yyyy_mm_dd_or_not_in_the_calendar_is_refused(shop, pos, day):
    for refused in (put(pos, day, {"count": 1}, valid=False),
                    pos.get(PATH.format(day), valid=False)):
        assert error_code(refused) == (422, "validation_error")
        assert refused.get_json()["error"]["details"] == {"field": "day"}
    assert rows() == []


def test_a_broken_body_or_another_content_type_is_refused(shop, pos):
    assert error_code(put(pos, "2026-03-09", None, data=b"{", valid=False)) \
        == (400, "malformed_request")
    assert error_code(put(pos, "2026-03-09", None, data=b"[3]", valid=False)) \
        == (400, "malformed_request")
    assert error_code(put(pos, "2026-03-09", None, data=b"count=3", content_type="text/plain",
                          valid=False)) == (415, "unsupported_media_type")
    assert rows() == []


def test_nothing_reported_reads_as_day_not_reported(shop, pos):
    reply = pos.get(PATH.format("2026-03-09"))
    assert reply.get_json() == {"error": {
        "code": "day_not_reported", "message": "This terminal has reported nothing for this day."}}
    assert reply.status_code == 404


def test_a_report_needs_the_terminal_s_key(shop, pos):
    refused = put(pos, "2026-03-09", {"count": 3}, headers={"Authorization": "Bearer nope"})
    assert error_code(refused) == (401, "unauthorized")
    assert rows() == []
