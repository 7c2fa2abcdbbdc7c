"""What the service keeps about its own work: idempotent replies, audit trail, SMS outbox."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

OUTBOX_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "dead",
                   "cancelled")
OUTBOX_STATUSES_SQL = ", ".join(f"'{status}'" for status in OUTBOX_STATUSES)
# Statuses of a row never handed to a worker's sender: the only ones that may lack a text.
UNSENT_STATUSES_SQL = "'queued', 'dead', 'cancelled'"


class IdempotencyKey(Base):
    """The first answer to a write, replayed for the same key and the same request."""
    __tablename__ = "idempotency_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who may replay it, e.g. "terminal:12": keys of different callers never collide.
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "key"),)


class AuditEvent(Base):
    """Who changed what by hand (adjustments, blocks, replacements, staff, settings), with
    what the thing was before and after when it is a setting or a record (pos_loyalty.audit)."""
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_audit_event_program_id_id", "program_id", "id"),)


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change it tells about: an
    SMS, a push to the brand app's phones, or an update of the card in the customer's wallets
    (`channel`)."""
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # The store whose sale, return or adjustment the SMS tells about; none for expiry warnings,
    # codes and changes made outside a store. The shift report counts by it.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # sms, push (every phone of the account with the app) or wallet (its Apple and Google
    # passes); see pos_loyalty.notify.channels.
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    # The SMS's number; a push or a wallet update has none (a push that falls back to SMS
    # takes the account's number then).
    to_phone: Mapped[str | None] = mapped_column(String(20))
    # The text. None until the worker writes it from `payload` when it sends the SMS (balance
    # changes, expiry warnings: in the customer's language then); a one-time code has it at once.
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    send_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # SMS delivery (pos_loyalty.notify): see that package's docstring for the status life cycle.
    # What the text costs, known with the text.
    segments: Mapped[int | None]
    encoding: Mapped[str | None] = mapped_column(String(8))
    # The event an SMS tells about and its numbers, e.g. {"change": 25, "balance": 1250, ...}.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locked_until: Mapped[dt.datetime | None]
    provider_status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[int | None]
    status_changed_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    # What Twilio charged, when it reports it (after sending): millionths of `price_unit`
    # (an ISO 4217 code, often USD), positive for a cost.
    price_micros: Mapped[int | None] = mapped_column(BigInteger)
    price_unit: Mapped[str | None] = mapped_column(String(3))

    __table_args__ = (Index("ix_outbox_message_status_send_after", "status", "send_after"),
                      Index("ix_outbox_message_provider_sid", "provider_sid"),
                      Index("ix_outbox_message_account_id_status", "account_id", "status"),
                      Index("ix_outbox_message_store_id_created_at", "store_id", "created_at"),
                      # SMS of no store by day (analytics.daily; the others are read by
                      # store): partial, so that a checkout's SMS row does not pay for it.
                      Index("ix_outbox_message_program_id_created_at_no_store", "program_id",
                            "created_at", postgresql_where=text("store_id IS NULL"),
                            sqlite_where=text("store_id IS NULL")),
                      CheckConstraint(f"status IN ({OUTBOX_STATUSES_SQL})", name="status_known"),
                      CheckConstraint("encoding IN ('GSM-7', 'UCS-2')", name="encoding_known"),
                      CheckConstraint("segments >= 1", name="segments_positive"),
                      CheckConstraint("attempts >= 0", name="attempts_not_negative"),
                      CheckConstraint("status <> 'sending' OR locked_until IS NOT NULL",
                                      name="sending_has_lease"),
                      CheckConstraint("body IS NOT NULL OR payload IS NOT NULL",
                                      name="text_or_event"),
                      CheckConstraint(f"body IS NOT NULL OR status IN ({UNSENT_STATUSES_SQL}) "
                                      "OR channel = 'wallet'", name="handed_over_has_text"),
                      CheckConstraint("channel IN ('sms', 'push', 'wallet')",
                                      name="channel_known"),
                      CheckConstraint("channel <> 'sms' OR to_phone IS NOT NULL",
                                      name="sms_has_phone"))
