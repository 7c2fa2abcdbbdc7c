"""Urgent kinds ([sms] urgent_kinds: one-time codes) jump the outbox queue: a code written behind
thousands of balance SMS is claimed in the worker's next round, not after them (8 codes once went
dead as stale behind 11,357 balance SMS)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from pos_loyalty import notify
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.outbox import message_row
from pos_loyalty.notify.senders import SendResult
from pos_loyalty.notify.worker import process_round

# 13:00 in Paris, outside the default quiet hours, whatever the hour the tests run at.
MIDDAY = dt.datetime(2026, 1, 15, 12, 0)
BATCH = 20
BALANCE_ROWS = 5 * BATCH


class RecordingSender:
    """Says every SMS went, and remembers the order they were handed over in."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        self.sent.append((to, body))
        return SendResult(f"SM{len(self.sent):032d}", "sent")

    def close(self) -> None:
        pass


def queue_balance_backlog(till, written_at: dt.datetime) -> None:
    """BALANCE_ROWS balance SMS, all due, written before the code."""
    program, phone = till.program(), till.last_phone
    rows = [message_row(program, None, "balance", phone, f"balance {n}", written_at)
            for n in range(BALANCE_ROWS)]
    run_in_transaction(lambda: db.session.execute(insert(OutboxMessage), rows))


def queue_code(till, written_at: dt.datetime) -> int:
    return run_in_transaction(lambda: notify.queue_message(
        till.program(), None, "otp", "+33611112222", "Your code is 123456", written_at)).id


def test_a_code_queued_behind_a_backlog_goes_in_the_first_round(app, till):
    app.config["LOYALTY"]["sms"].update(worker_batch_size=BATCH, quiet_hours_start="",
                                        quiet_hours_end="")
    app.extensions["pos_loyalty.clock"] = lambda: MIDDAY
    till.customer()
    queue_balance_backlog(till, MIDDAY - dt.timedelta(minutes=30))
    code_id = queue_code(till, MIDDAY)
    sender = RecordingSender()

    report = process_round(sender)

    assert report.claimed == BATCH
    assert report.outcomes[code_id] == "sent"
    assert sender.sent[0] == ("+33611112222", "Your code is 123456")
    assert [body for _, body in sender.sent[1:]] == [f"balance {n}" for n in range(BATCH - 1)]


def test_the_backlog_still_goes_oldest_first_after_the_codes(app, till):
    app.config["LOYALTY"]["sms"].update(worker_batch_size=BATCH, quiet_hours_start="",
                                        quiet_hours_end="")
    app.extensions["pos_loyalty.clock"] = lambda: MIDDAY
    till.customer()
    queue_balance_backlog(till, MIDDAY - dt.timedelta(minutes=30))
    queue_code(till, MIDDAY)
    sender = RecordingSender()

    rounds = [process_round(sender).claimed for _ in range(6)]

    assert rounds == [BATCH, BATCH, BATCH, BATCH, BATCH, 1]
    assert [body for _, body in sender.sent[1:]] == [f"balance {n}"
                                                     for n in range(BALANCE_ROWS)]
