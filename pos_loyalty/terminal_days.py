"""What a till reports of one local day beside its sales: the receipts that carried no loyalty
card (`TerminalDay`), the denominator of the adoption rate (receipts with a card / all).

A report sets the day's count; a later report of the same terminal and day replaces it, so
a replayed request, or a count corrected after the till's end-of-day, writes the same row
(idempotent without an Idempotency-Key)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from pos_loyalty.db import db, insert_or_ignore
from pos_loyalty.errors import DayNotReported, ValidationFailed
from pos_loyalty.holds import iso
from pos_loyalty.models import Program, Terminal, TerminalDay
from pos_loyalty.programs import local_day

# Far above a real till's day (a busy supermarket lane rings up a few thousand receipts), far
# below BIGINT: a count above it is a till's bug, refused rather than skewing the adoption rate.
MAX_RECEIPTS_WITHOUT_CARD = 1_000_000
# How far back a day may be reported or corrected: a year's comparison and a month to spare.
MAX_DAYS_BACK = 400
DAY_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(raw: str) -> dt.date:
    """A calendar day written YYYY-MM-DD (the only ISO 8601 form taken), or 422 on "day"."""
    if not DAY_FORMAT.fullmatch(raw):
        raise ValidationFailed("day must be a date written YYYY-MM-DD.", field="day")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{raw} is not a day of the calendar.", field="day") from None


def record_receipts_without_card(program: Program, terminal: Terminal, day: dt.date,
                                 count: int, now: dt.datetime) -> dict[str, Any]:
    """Set the terminal's count of receipts without a card for the program's local `day`,
    replacing what was reported before. A day after the program's today, or more than
    MAX_DAYS_BACK days before it, is refused (422 on "day")."""
    today = local_day(program, now)
    if day > today:
        raise ValidationFailed(f"{day} has not begun yet in the program's time zone "
                               f"(today is {today}).", field="day")
    if day < today - dt.timedelta(days=MAX_DAYS_BACK):
        raise ValidationFailed(f"A day may be reported up to {MAX_DAYS_BACK} days back: "
                               f"{day} is too old.", field="day")
    if not 0 <= count <= MAX_RECEIPTS_WITHOUT_CARD:
        raise ValidationFailed(f"count must be between 0 and {MAX_RECEIPTS_WITHOUT_CARD}.",
                               field="count")
    table = TerminalDay.__table__
    # One statement, so two reports of the same day at once cannot both insert.
    db.session.execute(
        insert_or_ignore()(table)
        .values(terminal_id=terminal.id, day=day, program_id=program.id,
                store_id=terminal.store_id, receipts_without_card=count, reported_at=now)
        .on_conflict_do_update(index_elements=["terminal_id", "day"],
                               set_={"receipts_without_card": count, "reported_at": now}))
    return receipts_without_card(terminal, day)


def receipts_without_card(terminal: Terminal, day: dt.date) -> dict[str, Any]:
    """What the terminal reported for `day`, or DayNotReported (404)."""
    found = db.session.scalar(select(TerminalDay).where(TerminalDay.terminal_id == terminal.id,
                                                        TerminalDay.day == day)
                              .execution_options(populate_existing=True))
    if found is None:
        raise DayNotReported()
    return {"day": found.day.isoformat(), "count": found.receipts_without_card,
            "store_id": found.store_id, "reported_at": iso(found.reported_at)}
