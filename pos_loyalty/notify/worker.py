"""The worker: claim due outbox rows, hand each to its channel's sender (SMS: Twilio; push and
wallet: `channel_delivery`), record what happened.

A claim is its own short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never
take the same row; SQLite has one writer): the row becomes "sending" with a lease. The sender is
called outside any transaction, then a second transaction records the outcome. A worker killed
between the two leaves the row "sending"; once the lease ends another worker sends it again.
That is the at-least-once boundary: only a row in flight at the crash can go twice.

A row that holds only its event (a balance change, an expiry warning) gets its text in the
claim, in the customer's language at that moment; a resend after a crash sends that same text.
Rows with a text (one-time codes, rows written by older versions) are sent as they are.

A one-time code is readable in the outbox only while it may still be sent: the update that
records it sent, dead or cancelled also replaces its text.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, and_, or_, select, true, update

from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, OutboxMessage, Program
from pos_loyalty.notify.channel_delivery import (
    absorb_waiting_wallet_rows, deliver_by_channel, push_title, refusal,
)
from pos_loyalty.notify.channel_senders import make_channel_senders
from pos_loyalty.notify.channels import SMS, WALLET, ChannelSender
from pos_loyalty.notify.claims import (
    Claimed, RoundReport, close_row, forget_secret, locked_row, retry_delay,
)
from pos_loyalty.notify.outbox import after_quiet_hours, cancel_waiting, render_event
from pos_loyalty.notify.prices import PriceSource, price_round
from pos_loyalty.notify.segments import count_segments
from pos_loyalty.notify.senders import (
    INVALID_NUMBER_CODES, OPTED_OUT_CODES, ConsoleSender, SendFailed, Sender, SendResult,
    make_sender,
)
from pos_loyalty.notify.texts import sms_config

log = logging.getLogger(__name__)

def process_round(sender: Sender, report: RoundReport | None = None,
                  channels: Mapping[str, ChannelSender] | None = None) -> RoundReport:
    """One round: claim what is due, send each row by its channel (`sender` for SMS,
    `channels` for pushes and wallet updates), record each outcome as it comes."""
    report = report or RoundReport()
    base = sms_config()
    for row in run_in_transaction(lambda: _claim(base["worker_batch_size"], report)):
        if row.channel == SMS:
            _deliver(sender, row, report)
        else:
            deliver_by_channel((channels or {}).get(row.channel), row, report)
    return report


def _claim(limit: int, report: RoundReport) -> list[Claimed]:
    moment = clock_now()
    rows = _due_rows(moment, limit)
    claimed, configs = [], {}
    for row in rows:
        if row.program_id not in configs:
            program = db.session.get(Program, row.program_id)
            configs[row.program_id] = (program, sms_config(program))
        program, config = configs[row.program_id]
        decision = _decide(row, program, config, moment)
        if decision == "send" and row.body is None and row.channel != WALLET:
            decision = _render(row, program, config, moment)
        if decision != "send":
            report.count(row.id, decision, row.channel)
            continue
        if row.channel == WALLET:
            absorb_waiting_wallet_rows(row, moment, report)
        row.status, row.attempts = "sending", row.attempts + 1
        row.locked_until = moment + dt.timedelta(seconds=config["lease_seconds"])
        row.status_changed_at = moment
        claimed.append(Claimed(row.id, row.program_id, row.account_id, row.to_phone,
                               row.body or "", row.attempts, row.kind in config["urgent_kinds"],
                               config, row.channel, row.kind, push_title(row, program),
                               row.payload or {}, row.created_at))
    report.claimed += len(claimed)
    return claimed


def _due_rows(moment: dt.datetime, limit: int) -> list[OutboxMessage]:
    """Up to `limit` rows to send now, locked: urgent kinds first (a code must not wait behind
    a backlog of balance SMS and go stale), then the rest, each oldest first.

    The order follows the service's [sms] urgent_kinds; a kind a program alone makes urgent is
    still sent at once in quiet hours, in its turn.
    """
    urgent = list(sms_config()["urgent_kinds"])
    rows = _due(moment, limit, OutboxMessage.kind.in_(urgent)) if urgent else []
    if len(rows) < limit:
        rest = OutboxMessage.kind.not_in(urgent) if urgent else true()
        rows += _due(moment, limit - len(rows), rest)
    return rows


def _due(moment: dt.datetime, limit: int, which: ColumnElement[bool]) -> list[OutboxMessage]:
    return list(db.session.scalars(
        select(OutboxMessage)
        .where(which,
               or_(and_(OutboxMessage.status == "queued", OutboxMessage.send_after <= moment),
                   and_(OutboxMessage.status == "sending", OutboxMessage.locked_until < moment)))
        .order_by(OutboxMessage.send_after, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)).all())


def _decide(row: OutboxMessage, program: Program, config: dict[str, Any],
            moment: dt.datetime) -> str:
    """send, or why not: dead (stale), cancelled (opted out since), deferred (quiet hours)."""
    urgent = row.kind in config["urgent_kinds"]
    stale_after = (dt.timedelta(minutes=config["urgent_stale_after_minutes"]) if urgent
                   else dt.timedelta(hours=config["stale_after_hours"]))
    if moment - row.created_at > stale_after:
        close_row(row, "dead", moment, f"stale: not sent within {stale_after}")
        return "dead"
    if urgent:
        return "send"
    account = db.session.get(Account, row.account_id) if row.account_id else None
    reason = refusal(row, account, program)
    if reason:
        close_row(row, "cancelled", moment, reason)
        return "cancelled"
    if row.channel == WALLET:   # an update shows the balance and says nothing: no quiet hours
        return "send"
    wake = after_quiet_hours(moment, program.timezone, config)
    if wake > moment:
        row.status, row.send_after, row.locked_until = "queued", wake, None
        return "deferred"
    return "send"


def _render(row: OutboxMessage, program: Program, config: dict[str, Any],
            moment: dt.datetime) -> str:
    """send, once the event's text is written; dead when the program's template cannot be
    filled (an unknown placeholder, say): no retry would help, and the rest must still go."""
    account = db.session.get(Account, row.account_id) if row.account_id else None
    try:
        render_event(row, program, account, config)
    except (KeyError, IndexError, ValueError) as error:
        log.exception("outbox row %s: its text cannot be written", row.id)
        close_row(row, "dead", moment, f"cannot write the text: {error!r}")
        return "dead"
    return "send"


def _deliver(sender: Sender, row: Claimed, report: RoundReport) -> None:
    config = row.config
    if row.to_phone in report.refused_phones and not row.urgent:
        report.count(row.id, run_in_transaction(lambda: _record_cancelled(row)))
        return
    callback = status_callback_url(config, row.id)
    try:
        result = sender.send(row.to_phone, row.body, callback)
    except SendFailed as failure:
        if failure.code in OPTED_OUT_CODES or failure.code in INVALID_NUMBER_CODES:
            report.refused_phones.add(row.to_phone)
        outcome = run_in_transaction(lambda: _record_failure(row, failure, config))
    except Exception as error:  # a bug or an unexpected library error: retry, never lose
        log.exception("sending outbox row %s failed", row.id)
        failure = SendFailed(f"unexpected: {error!r}"[:500], retry=True)
        outcome = run_in_transaction(lambda: _record_failure(row, failure, config))
    else:
        outcome = run_in_transaction(lambda: _record_sent(row, result))
    report.count(row.id, outcome)


def status_callback_url(config: dict[str, Any], outbox_id: int) -> str | None:
    base = config["public_base_url"].rstrip("/")
    return f"{base}/webhooks/twilio/status?outbox_id={outbox_id}" if base else None


def _record_sent(row: Claimed, result: SendResult) -> str:
    message = locked_row(row.id)
    moment = clock_now()
    size = count_segments(row.body)  # the text sent, even if another worker blanked it since
    message.segments, message.encoding = size.segments, size.encoding
    message.provider_sid, message.sent_at, message.locked_until = result.sid, moment, None
    if result.price is not None:
        message.price_micros, message.price_unit = result.price.micros, result.price.unit
    message.last_error = None
    forget_secret(message)
    if message.status == "sending":  # else a status callback came first and said more
        message.status, message.status_changed_at = "sent", moment
        message.provider_status = message.provider_status or result.provider_status
    return "sent"


def _record_cancelled(row: Claimed) -> str:
    message = locked_row(row.id)
    close_row(message, "cancelled", clock_now(), "Twilio refused this number earlier in the round")
    return "cancelled"


def _record_failure(row: Claimed, failure: SendFailed, config: dict[str, Any]) -> str:
    message = locked_row(row.id)
    moment = clock_now()
    refused = failure.code in OPTED_OUT_CODES or failure.code in INVALID_NUMBER_CODES
    retry = failure.retry and not refused and row.attempts < config["max_attempts"]
    outcome = "retried" if retry else "dead"
    message.status = "queued" if retry else "dead"
    message.last_error, message.error_code, message.locked_until = \
        failure.message[:500], failure.code, None
    message.status_changed_at = moment
    if retry:
        message.send_after = moment + retry_delay(row.attempts, config)
    else:
        forget_secret(message)
    if refused:
        _flag_account(message, failure.code, config, moment)
    return outcome


def _flag_account(message: OutboxMessage, code: int, config: dict[str, Any],
                  moment: dt.datetime) -> None:
    """STOP (21610) opts the customer out; 21211/21614 flag the number as unusable."""
    flag = {"sms_opt_out": True} if code in OPTED_OUT_CODES else {"sms_invalid": True}
    flagged = db.session.scalars(
        update(Account).where(Account.phone_e164 == message.to_phone,
                              Account.program_id == message.program_id)
        .values(**flag).returning(Account.id)).all()
    cancel_waiting(list(flagged), f"Twilio error {code}", moment, config["urgent_kinds"])


def run_worker(app: Flask, sender: Sender, stop: threading.Event, *, once: bool = False,
               poll_seconds: float | None = None,
               channels: Mapping[str, ChannelSender] | None = None) -> RoundReport:
    """Send rounds until `stop` is set (or once); sleep only when a round found nothing.
    A round that found nothing to send may ask Twilio for prices (`prices`). Pushes and
    wallet updates go through `channels` (by default the real ones, or the console's when
    `sender` is the console)."""
    if channels is None:
        channels = make_channel_senders(console=isinstance(sender, ConsoleSender))
    try:
        return _rounds(app, sender, stop, once, poll_seconds, channels)
    finally:
        for channel_sender in channels.values():
            channel_sender.close()


def _rounds(app: Flask, sender: Sender, stop: threading.Event, once: bool,
            poll_seconds: float | None, channels: Mapping[str, ChannelSender]) -> RoundReport:
    total = RoundReport()
    prices_due_at: dt.datetime | None = None
    while not stop.is_set():
        with app.app_context():
            poll = poll_seconds if poll_seconds is not None else \
                sms_config()["worker_poll_seconds"]
            before = total.claimed + total.deferred + total.dead + total.cancelled
            try:
                process_round(sender, total, channels)
                if total.claimed + total.deferred + total.dead + total.cancelled == before:
                    prices_due_at = price_pass_if_due(sender, prices_due_at)
            except Exception:  # the database went away, say: log, wait, try again
                log.exception("SMS worker round failed")
                stop.wait(poll)
            finally:
                db.session.remove()
        if once:
            break
        if total.claimed + total.deferred + total.dead + total.cancelled == before:
            stop.wait(poll)
    return total


def price_pass_if_due(sender: Sender, due_at: dt.datetime | None) -> dt.datetime | None:
    """Ask Twilio for the prices of sent SMS (`prices.price_round`) when the last pass was
    [sms] price_fetch_interval_seconds ago; never with the console sender. Called only when
    nothing is due, so sending always comes first. The next pass's time."""
    moment = clock_now()
    if not isinstance(sender, PriceSource) or (due_at is not None and moment < due_at):
        return due_at
    price_round(sender)
    return moment + dt.timedelta(seconds=sms_config()["price_fetch_interval_seconds"])


def start_background_worker(app: Flask, sender: Sender | None = None,
                            poll_seconds: float = 0.25) -> tuple[threading.Thread, threading.Event]:
    """A worker thread inside this process (the demo); set the event to stop it."""
    if sender is None:
        with app.app_context():
            sender = make_sender(sms_config())
    stop = threading.Event()

    def loop() -> None:
        try:
            run_worker(app, sender, stop, poll_seconds=poll_seconds)
        finally:
            sender.close()
    thread = threading.Thread(target=loop, name="sms-worker", daemon=True)
    thread.start()
    return thread, stop


def start_demo_worker(app: Flask) -> None:
    """The demo prints each SMS at once: console sender, no quiet hours, polled 4 times a second."""
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
    with app.app_context():
        sender = make_sender(sms_config(), console=True)
    start_background_worker(app, sender)
