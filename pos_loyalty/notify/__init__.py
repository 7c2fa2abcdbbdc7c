"""Messages to customers: balance changes, expiry warnings, bonuses, tier changes, one-time
codes, BALANCE replies; by SMS, by push to the brand app's phones, and as updates of the card
in their wallets (one outbox row per channel: `channels`).

Ledger use cases call `queue_balance_change` (the checkout: `defer_balance_change`) inside
their transaction, so the SMS row (the
outbox) is saved with the change or not at all. The row holds the event and its numbers;
`pos-loyalty worker` writes its text when it sends it (in the customer's language then), with
the Twilio sender (or the console one), and records each outcome.

Outbox status life cycle:
  queued -> sending (claimed, with a lease) -> sent (the provider took it) -> delivered,
  undelivered or failed (Twilio's status callback); queued again with a later send_after after
  a retryable error or in quiet hours; dead (retries used up, a permanent error, stale);
  cancelled (the customer opted out, or merged changes cancel out).
"""
from __future__ import annotations

from flask import Flask

from pos_loyalty.notify.outbox import (
    defer_balance_change, message_text, queue_balance_change, queue_event, queue_expiry_warnings,
    queue_message, sms_stats,
)
from pos_loyalty.notify.worker import start_demo_worker


def register_commands(app: Flask) -> None:
    from pos_loyalty.notify.cli import COMMANDS
    for command in COMMANDS:
        app.cli.add_command(command)


__all__ = ["defer_balance_change", "message_text", "queue_balance_change",
           "queue_event", "queue_expiry_warnings", "queue_message", "register_commands",
           "sms_stats",
           "start_demo_worker"]
