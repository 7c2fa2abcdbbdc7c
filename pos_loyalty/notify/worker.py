"""The worker: claim due outbox rows, hand them to the sender, record what happened.

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
import random
import threading
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, and_, or_, select, true, update

from pos_loyalty import metrics
from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, OutboxMessage, Program
from pos_loyalty.notify.outbox import (
    after_quiet_hours, can_text, cancel_waiting, render_event,
)
from pos_loyalty.notify.channels import (
    PUSH, SMS, WALLET, ChannelMessage, ChannelSender, Delivery, chosen_channel,
    falls_back_to_sms, push_config,
)
from pos_loyalty.notify.prices import PriceSource, price_round
from pos_loyalty.notify.segments import count_segments
from pos_loyalty.notify.channel_senders import make_channel_senders
from pos_loyalty.notify.senders import (
    INVALID_NUMBER_CODES, OPTED_OUT_CODES, ConsoleSender, SendFailed, Sender, SendResult,
    make_sender,
)
from pos_loyalty.notify.texts import sms_config

log = logging.getLogger(__name__)

# Kinds whose text is a secret (mobile_api's one-time codes), and what replaces it once done.
SECRET_KINDS = frozenset({"otp"})
SECRET_REMOVED = "[one-time code removed after sending]"


@dataclass(frozen=True)
class Claimed:
    id: int
    program_id: int
    account_id: int | None
    to_phone: str | None
    body: str
    attempts: int
    urgent: bool
    config: dict[str, Any] = field(compare=False, repr=False)
    channel: str = SMS
    kind: str = ""
    # A push's title (the brand's name, or a broadcast's own) and the row's event numbers.
    title: str = ""
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    created_at: dt.datetime | None = None


@dataclass
class RoundReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    cancelled: int = 0
    # Pushes no phone took that went as SMS instead.
    fell_back: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)
    # Numbers Twilio refused during this run: the rest of the round skips them.
    refused_phones: set[str] = field(default_factory=set)

    def count(self, outbox_id: int, outcome: str, channel: str = SMS) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if channel == SMS:
            metrics.sms_outcome(outcome)
        else:
            metrics.push_outcome(channel, outcome)
        self.outcomes[outbox_id] = outcome


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
            _deliver_by_channel((channels or {}).get(row.channel), row, report)
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
            _absorb_waiting_wallet_rows(row, moment, report)
        row.status, row.attempts = "sending", row.attempts + 1
        row.locked_until = moment + dt.timedelta(seconds=config["lease_seconds"])
        row.status_changed_at = moment
        claimed.append(Claimed(row.id, row.program_id, row.account_id, row.to_phone,
                               row.body or "", row.attempts, row.kind in config["urgent_kinds"],
                               config, row.channel, row.kind, _title(row, program),
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
        _close(row, "dead", moment, f"stale: not sent within {stale_after}")
        return "dead"
    if urgent:
        return "send"
    account = db.session.get(Account, row.account_id) if row.account_id else None
    refusal = _refusal(row, account, program)
    if refusal:
        _close(row, "cancelled", moment, refusal)
        return "cancelled"
    if row.channel == WALLET:   # an update shows the balance and says nothing: no quiet hours
        return "send"
    wake = after_quiet_hours(moment, program.timezone, config)
    if wake > moment:
        row.status, row.send_after, row.locked_until = "queued", wake, None
        return "deferred"
    return "send"


def _refusal(row: OutboxMessage, account: Account | None, program: Program) -> str:
    """Why the customer no longer takes this row (opted out, closed, chose otherwise), or ""."""
    if row.channel == SMS:
        return "" if not row.account_id or can_text(account) else \
            "the customer opted out or has no valid number"
    if account is None or account.status == "closed":
        return "the account is closed"
    if row.channel == PUSH and chosen_channel(account, push_config(program)) in ("sms", "none"):
        return "the customer no longer takes pushes"
    return ""


def _title(row: OutboxMessage, program: Program) -> str:
    """A push's title: a broadcast's own, else the brand's name in its app."""
    if row.channel != PUSH:
        return ""
    title = (row.payload or {}).get("title")
    return str(title or (program.branding or {}).get("app_name") or program.name)


def _absorb_waiting_wallet_rows(row: OutboxMessage, moment: dt.datetime,
                                report: RoundReport) -> None:
    """The account's other queued wallet rows: this one reads the balance when it sends,
    after this claim, so it shows their changes too (each was committed to be seen here)."""
    absorbed = db.session.scalars(
        update(OutboxMessage).where(OutboxMessage.account_id == row.account_id,
                                    OutboxMessage.channel == WALLET,
                                    OutboxMessage.status == "queued",
                                    OutboxMessage.id != row.id)
        .values(status="cancelled", last_error=f"updated with outbox row {row.id}",
                status_changed_at=moment)
        .returning(OutboxMessage.id)).all()
    for outbox_id in absorbed:
        report.count(outbox_id, "cancelled", WALLET)


def _render(row: OutboxMessage, program: Program, config: dict[str, Any],
            moment: dt.datetime) -> str:
    """send, once the event's text is written; dead when the program's template cannot be
    filled (an unknown placeholder, say): no retry would help, and the rest must still go."""
    account = db.session.get(Account, row.account_id) if row.account_id else None
    try:
        render_event(row, program, account, config)
    except (KeyError, IndexError, ValueError) as error:
        log.exception("outbox row %s: its text cannot be written", row.id)
        _close(row, "dead", moment, f"cannot write the text: {error!r}")
        return "dead"
    return "send"


def _close(row: OutboxMessage, status: str, moment: dt.datetime, reason: str) -> None:
    row.status, row.last_error, row.status_changed_at, row.locked_until = \
        status, reason[:500], moment, None
    _forget_secret(row)


def _forget_secret(row: OutboxMessage) -> None:
    """A code nobody will send again has no reason to stay readable in the database."""
    if row.kind in SECRET_KINDS:
        row.body = SECRET_REMOVED


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


def _deliver_by_channel(channel_sender: ChannelSender | None, row: Claimed,
                        report: RoundReport) -> None:
    """A push or a wallet update: the channel's sender says what became of it."""
    message = ChannelMessage(row.id, row.program_id, row.account_id or 0, row.kind, row.title,
                             row.body, row.payload, row.created_at or clock_now())
    if channel_sender is None:
        delivery = Delivery("retry", f"this worker has no {row.channel} sender")
    else:
        try:
            delivery = channel_sender.deliver(message)
        except Exception as error:  # a bug or an unexpected library error: retry, never lose
            log.exception("outbox row %s (%s) failed", row.id, row.channel)
            delivery = Delivery("retry", f"unexpected: {error!r}")
    report.count(row.id, run_in_transaction(lambda: _record_delivery(row, delivery)),
                 row.channel)


def _record_delivery(row: Claimed, delivery: Delivery) -> str:
    message = _locked_row(row.id)
    moment = clock_now()
    if delivery.outcome == "fallback":
        return _fall_back_to_sms(message, delivery.detail, moment)
    message.locked_until = None
    if delivery.outcome == "sent":
        message.sent_at, message.last_error = moment, None
        message.provider_sid = (delivery.provider_id or "")[:64] or None
        if message.status == "sending":
            message.status, message.status_changed_at = "sent", moment
        return "sent"
    retry = delivery.outcome == "retry" and row.attempts < row.config["max_attempts"]
    message.status, message.status_changed_at = ("queued" if retry else "dead"), moment
    message.last_error = delivery.detail[:500] or None
    if retry:
        wait = retry_delay(row.attempts, row.config)
        message.send_after = moment + max(wait, dt.timedelta(seconds=delivery.retry_after or 0))
    return "retried" if retry else "dead"


def _fall_back_to_sms(message: OutboxMessage, detail: str, moment: dt.datetime) -> str:
    """No phone took the push: the same text goes by SMS now, where the kind and the
    customer's choice allow it; otherwise the row is dead."""
    account = db.session.get(Account, message.account_id)
    program = db.session.get(Program, message.program_id)
    reason = f"no phone took the push: {detail}"[:500]
    if message.channel != PUSH or not can_text(account) or \
            not falls_back_to_sms(account, message.kind, push_config(program)):
        _close(message, "dead", moment, reason)
        return "dead"
    size = count_segments(message.body)
    message.channel, message.to_phone = SMS, account.phone_e164
    message.segments, message.encoding = size.segments, size.encoding
    message.status, message.send_after, message.status_changed_at = "queued", moment, moment
    message.locked_until, message.last_error = None, reason
    return "fell_back"


def status_callback_url(config: dict[str, Any], outbox_id: int) -> str | None:
    base = config["public_base_url"].rstrip("/")
    return f"{base}/webhooks/twilio/status?outbox_id={outbox_id}" if base else None


def _locked_row(outbox_id: int) -> OutboxMessage:
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == outbox_id)
                             .with_for_update().execution_options(populate_existing=True))


def _record_sent(row: Claimed, result: SendResult) -> str:
    message = _locked_row(row.id)
    moment = clock_now()
    size = count_segments(row.body)  # the text sent, even if another worker blanked it since
    message.segments, message.encoding = size.segments, size.encoding
    message.provider_sid, message.sent_at, message.locked_until = result.sid, moment, None
    if result.price is not None:
        message.price_micros, message.price_unit = result.price.micros, result.price.unit
    message.last_error = None
    _forget_secret(message)
    if message.status == "sending":  # else a status callback came first and said more
        message.status, message.status_changed_at = "sent", moment
        message.provider_status = message.provider_status or result.provider_status
    return "sent"


def _record_cancelled(row: Claimed) -> str:
    message = _locked_row(row.id)
    _close(message, "cancelled", clock_now(), "Twilio refused this number earlier in the round")
    return "cancelled"


def _record_failure(row: Claimed, failure: SendFailed, config: dict[str, Any]) -> str:
    message = _locked_row(row.id)
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
        _forget_secret(message)
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


def retry_delay(attempts: int, config: dict[str, Any],
                randomness: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with "equal jitter": half the delay fixed, half random."""
    ceiling = min(config["retry_max_seconds"],
                  config["retry_base_seconds"] * 2 ** max(attempts - 1, 0))
    jitter = (randomness or random).uniform(0, ceiling / 2)
    return dt.timedelta(seconds=ceiling / 2 + jitter)


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
