"""An outbox row as the worker holds it: claimed with a lease, locked to record what became of
it, closed for good; and how long a retry waits. Shared by every channel's delivery."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from pos_loyalty import metrics
from pos_loyalty.db import db
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.channels import SMS

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


def locked_row(outbox_id: int) -> OutboxMessage:
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == outbox_id)
                             .with_for_update().execution_options(populate_existing=True))


def close_row(row: OutboxMessage, status: str, moment: dt.datetime, reason: str) -> None:
    row.status, row.last_error, row.status_changed_at, row.locked_until = \
        status, reason[:500], moment, None
    forget_secret(row)


def forget_secret(row: OutboxMessage) -> None:
    """A code nobody will send again has no reason to stay readable in the database."""
    if row.kind in SECRET_KINDS:
        row.body = SECRET_REMOVED


def retry_delay(attempts: int, config: dict[str, Any],
                randomness: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with "equal jitter": half the delay fixed, half random."""
    ceiling = min(config["retry_max_seconds"],
                  config["retry_base_seconds"] * 2 ** max(attempts - 1, 0))
    jitter = (randomness or random).uniform(0, ceiling / 2)
    return dt.timedelta(seconds=ceiling / 2 + jitter)
