"""What each SMS cost, as Twilio reports it after sending: taken from the create answer when
there, else asked by the worker (through the real twilio library, from the local fake Twilio)
for final messages five minutes on, again 30 minutes later while unpriced or unreadable, never
past three days, a bounded batch per pass, and only when nothing is due to be sent."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.fake_twilio import GARBLED
from pos_loyalty.notify.prices import price_round
from pos_loyalty.notify.senders import ConsoleSender
from pos_loyalty.notify.worker import price_pass_if_due, process_round, run_worker

from test_notify_worker import MIDDAY, clock, fake_twilio, queue, rows, twilio  # noqa: F401


def sent(till, twilio, count: int = 1) -> list[OutboxMessage]:  # noqa: F811
    """`count` SMS sent through the fake Twilio at the clock's moment (unpriced)."""
    ids = queue(till, count)
    assert process_round(twilio).sent == count
    return [rows()[outbox_id] for outbox_id in ids]


def settle(message: OutboxMessage, status: str = "delivered", at: dt.datetime = MIDDAY) -> None:
    """What Twilio's status callback records: the final status and when it came."""
    def work() -> None:
        row = db.session.get(OutboxMessage, message.id)
        row.status, row.status_changed_at = status, at
    run_in_transaction(work)


def price_of(message: OutboxMessage) -> tuple[int | None, str | None]:
    row = rows()[message.id]
    return row.price_micros, row.price_unit


def counts(report) -> tuple[int, int, int, int]:
    return report.asked, report.priced, report.not_yet, report.failed


def test_a_price_in_the_create_answer_is_recorded_at_once(till, twilio, fake_twilio,
                                                          clock):  # noqa: F811
    till.customer()
    fake_twilio.answer(till.last_phone, "priced")
    [message] = sent(till, twilio)
    assert price_of(message) == (7_900, "USD")          # Twilio's "-0.00790"
    settle(message)
    clock.advance(minutes=10)
    assert counts(price_round(twilio)) == (0, 0, 0, 0)   # priced: never asked
    assert fake_twilio.fetches() == []


def test_a_delivered_message_s_price_is_asked_five_minutes_after_its_last_status(
        till, twilio, fake_twilio, clock):  # noqa: F811
    till.customer()
    [message] = sent(till, twilio)
    assert price_of(message) == (None, None)
    fake_twilio.price(message.provider_sid, "-0.00750")
    settle(message, at=MIDDAY + dt.timedelta(minutes=1))
    clock.advance(minutes=5, seconds=59)
    assert counts(price_round(twilio)) == (0, 0, 0, 0)
    clock.advance(seconds=1)
    assert counts(price_round(twilio)) == (1, 1, 0, 0)
    assert price_of(message) == (7_500, "USD")
    [fetch] = fake_twilio.fetches()
    assert fetch.path == f"/2010-04-01/Accounts/AC{'0' * 32}/Messages/{message.provider_sid}.json"
    assert counts(price_round(twilio)) == (0, 0, 0, 0)


def test_a_price_still_null_is_asked_again_thirty_minutes_later(till, twilio, fake_twilio,
                                                                 clock):  # noqa: F811
    till.customer()
    [message] = sent(till, twilio)
    fake_twilio.price(message.provider_sid, None, "-0.04")
    settle(message)
    clock.advance(minutes=5)
    assert counts(price_round(twilio)) == (1, 0, 1, 0)
    assert price_of(message) == (None, None)
    clock.advance(minutes=29, seconds=59)
    assert counts(price_round(twilio)) == (0, 0, 0, 0)
    clock.advance(seconds=1)
    assert counts(price_round(twilio)) == (1, 1, 0, 0)
    assert price_of(message) == (40_000, "USD")
    assert len(fake_twilio.fetches()) == 2


def test_a_bad_answer_crashes_nothing_and_is_asked_again_later(till, twilio, fake_twilio,
                                                                clock):  # noqa: F811
    till.customer()
    first, second = sent(till, twilio, 2)
    fake_twilio.price(first.provider_sid, GARBLED, "n/a", "-0.0075")
    fake_twilio.price(second.provider_sid, "-0.0083")
    settle(first)
    settle(second, at=MIDDAY + dt.timedelta(seconds=1))
    clock.advance(minutes=5, seconds=1)
    assert counts(price_round(twilio)) == (2, 1, 0, 1)     # the next one is still asked
    assert (price_of(first), price_of(second)) == ((None, None), (8_300, "USD"))
    clock.advance(minutes=30)
    assert counts(price_round(twilio)) == (1, 0, 0, 1)     # a price that is no number
    clock.advance(minutes=30)
    assert counts(price_round(twilio)) == (1, 1, 0, 0)
    assert price_of(first) == (7_500, "USD")


@pytest.mark.parametrize("answer", ["server_error", "rate_limited"])
def test_twilio_busy_or_down_ends_the_pass_and_the_rest_wait_for_the_next(
        till, twilio, fake_twilio, clock, answer):  # noqa: F811
    till.customer()
    first, second = sent(till, twilio, 2)
    fake_twilio.price(first.provider_sid, answer, "-0.0075")
    fake_twilio.price(second.provider_sid, "-0.0075")
    settle(first)
    settle(second, at=MIDDAY + dt.timedelta(seconds=1))
    clock.advance(minutes=6)
    assert counts(price_round(twilio)) == (1, 0, 0, 1)
    assert [fetch.path.endswith(f"{first.provider_sid}.json")
            for fetch in fake_twilio.fetches()] == [True]
    assert counts(price_round(twilio)) == (1, 1, 0, 0)     # the first waits 30 minutes
    assert (price_of(first), price_of(second)) == ((None, None), (7_500, "USD"))


def test_a_pass_asks_at_most_price_fetch_batch_messages_the_longest_final_first(
        app, till, twilio, fake_twilio, clock):  # noqa: F811
    app.config["LOYALTY"]["sms"]["price_fetch_batch"] = 2
    till.customer()
    messages = sent(till, twilio, 3)
    for minute, message in zip((3, 1, 2), messages):
        fake_twilio.price(message.provider_sid, "-0.0075")
        settle(message, at=MIDDAY + dt.timedelta(minutes=minute))
    clock.advance(minutes=10)
    assert counts(price_round(twilio)) == (2, 2, 0, 0)
    assert [price_of(message)[0] for message in messages] == [None, 7_500, 7_500]
    assert counts(price_round(twilio)) == (1, 1, 0, 0)
    assert price_of(messages[0]) == (7_500, "USD")


def test_undelivered_and_failed_messages_are_priced_sent_and_dead_ones_are_not(
        till, twilio, fake_twilio, clock):  # noqa: F811
    till.customer()
    undelivered, failed, still_sent, dead = sent(till, twilio, 4)
    for message in (undelivered, failed, still_sent, dead):
        fake_twilio.price(message.provider_sid, "-0.0075")
    settle(undelivered, "undelivered")
    settle(failed, "failed")
    settle(dead, "dead")
    clock.advance(minutes=6)
    assert counts(price_round(twilio)) == (2, 2, 0, 0)
    assert [price_of(m)[0] for m in (undelivered, failed, still_sent, dead)] \
        == [7_500, 7_500, None, None]


def test_a_message_is_left_unpriced_three_days_after_it_was_due(till, twilio, fake_twilio,
                                                                clock):  # noqa: F811
    till.customer()
    [message] = sent(till, twilio)
    fake_twilio.price(message.provider_sid, None)
    settle(message)
    clock.advance(days=3)                        # due at MIDDAY: three days ago, to the second
    assert counts(price_round(twilio)) == (1, 0, 1, 0)
    clock.advance(minutes=30)
    assert counts(price_round(twilio)) == (0, 0, 0, 0)
    assert len(fake_twilio.fetches()) == 1


def test_the_console_sender_is_never_asked_a_price(till, clock):  # noqa: F811
    till.customer()
    [message] = sent(till, ConsoleSender())
    settle(message)
    clock.advance(hours=1)
    assert price_pass_if_due(ConsoleSender(), None) is None
    assert rows()[message.id].locked_until is None


def test_prices_are_asked_once_a_minute_at_most(till, twilio, fake_twilio, clock):  # noqa: F811
    till.customer()
    first, second = sent(till, twilio, 2)
    settle(first)
    clock.advance(minutes=6)
    assert price_pass_if_due(twilio, None) == MIDDAY + dt.timedelta(minutes=7)
    assert len(fake_twilio.fetches()) == 1
    settle(second, at=MIDDAY)
    clock.advance(seconds=59)
    assert price_pass_if_due(twilio, MIDDAY + dt.timedelta(minutes=7)) \
        == MIDDAY + dt.timedelta(minutes=7)
    assert len(fake_twilio.fetches()) == 1
    clock.advance(seconds=1)
    assert price_pass_if_due(twilio, MIDDAY + dt.timedelta(minutes=7)) \
        == MIDDAY + dt.timedelta(minutes=8)
    assert len(fake_twilio.fetches()) == 2


def test_the_worker_sends_first_and_asks_prices_only_when_nothing_is_due(
        app, till, twilio, fake_twilio, clock):  # noqa: F811
    till.customer()
    [delivered] = sent(till, twilio)
    fake_twilio.price(delivered.provider_sid, "-0.0075")
    settle(delivered)
    clock.advance(minutes=6)
    queue(till)
    report = run_worker(app, twilio, threading.Event(), once=True)
    assert (report.sent, fake_twilio.fetches()) == (1, [])
    run_worker(app, twilio, threading.Event(), once=True)
    assert len(fake_twilio.messages()) == 2
    assert price_of(delivered) == (7_500, "USD")
