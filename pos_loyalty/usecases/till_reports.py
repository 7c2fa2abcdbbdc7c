"""What a till reports besides its sales: each day's receipts that carried no loyalty card,
for the adoption rate (`pos_loyalty.terminal_days`)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import terminal_days
from pos_loyalty.db import run_in_transaction
from pos_loyalty.models import Program, Terminal


def report_receipts_without_card(program: Program, terminal: Terminal, day: dt.date,
                                 count: int, now: dt.datetime) -> dict[str, Any]:
    """Set the day's count (a report of the same day replaces it); the row as recorded."""
    return run_in_transaction(lambda: terminal_days.record_receipts_without_card(
        program, terminal, day, count, now))


def receipts_without_card(terminal: Terminal, day: dt.date) -> dict[str, Any]:
    """What the terminal reported for the day; 404 day_not_reported when nothing."""
    return run_in_transaction(lambda: terminal_days.receipts_without_card(terminal, day))
