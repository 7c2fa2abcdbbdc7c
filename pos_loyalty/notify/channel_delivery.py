"""Pushes and wallet updates through the worker: who no longer takes them, what a push is
titled, a wallet row that covers the others, and what the channel's sender's answer does to
the row (sent, retried, dead, or the same text by SMS instead)."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import update

from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, OutboxMessage, Program
from pos_loyalty.notify.channels import (
    PUSH, SMS, WALLET, ChannelMessage, ChannelSender, Delivery, chosen_channel,
    falls_back_to_sms, push_config,
)
from pos_loyalty.notify.claims import Claimed, RoundReport, close_row, locked_row, retry_delay
from pos_loyalty.notify.outbox import can_text
from pos_loyalty.notify.segments import count_segments

log = logging.getLogger(__name__)


def refusal(row: OutboxMessage, account: Account | None, program: Program) -> str:
    """Why the customer no longer takes this row (opted out, closed, chose otherwise), or ""."""
    if row.channel == SMS:
        return "" if not row.account_id or can_text(account) else \
            "the customer opted out or has no valid number"
    if account is None or account.status == "closed":
        return "the account is closed"
    if row.channel == PUSH and chosen_channel(account, push_config(program)) in ("sms", "none"):
        return "the customer no longer takes pushes"
    return ""


def push_title(row: OutboxMessage, program: Program) -> str:
    """A push's title: a broadcast's own, else the brand's name in its app."""
    if row.channel != PUSH:
        return ""
    title = (row.payload or {}).get("title")
    return str(title or (program.branding or {}).get("app_name") or program.name)


def absorb_waiting_wallet_rows(row: OutboxMessage, moment: dt.datetime,
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


def deliver_by_channel(channel_sender: ChannelSender | None, row: Claimed,
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
    report.count(row.id, run_in_transaction(lambda: record_delivery(row, delivery)),
                 row.channel)


def record_delivery(row: Claimed, delivery: Delivery) -> str:
    message = locked_row(row.id)
    moment = clock_now()
    if delivery.outcome == "fallback":
        return fall_back_to_sms(message, delivery.detail, moment)
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


def fall_back_to_sms(message: OutboxMessage, detail: str, moment: dt.datetime) -> str:
    """No phone took the push: the same text goes by SMS now, where the kind and the
    customer's choice allow it; otherwise the row is dead."""
    account = db.session.get(Account, message.account_id)
    program = db.session.get(Program, message.program_id)
    reason = f"no phone took the push: {detail}"[:500]
    if message.channel != PUSH or not can_text(account) or \
            not falls_back_to_sms(account, message.kind, push_config(program)):
        close_row(message, "dead", moment, reason)
        return "dead"
    size = count_segments(message.body)
    message.channel, message.to_phone = SMS, account.phone_e164
    message.segments, message.encoding = size.segments, size.encoding
    message.status, message.send_after, message.status_changed_at = "queued", moment, moment
    message.locked_until, message.last_error = None, reason
    return "fell_back"
