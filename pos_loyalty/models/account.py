"""Customers' accounts and the cards that identify them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pos_loyalty.db import Base, utcnow

ACCOUNT_STATUSES = ("active", "blocked", "closed")
ENROLMENT_CHANNELS = ("till", "app", "import", "back_office", "cli")
NOTIFY_CHANNELS = ("auto", "push", "sms", "both", "none")
CARD_STATUSES = ("blank", "active", "blocked", "lost", "replaced", "closed")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    locale: Mapped[str | None] = mapped_column(String(16))
    # Cached balances: written only by pos_loyalty.ledger, checked by `pos-loyalty verify`.
    available_points: Mapped[int] = mapped_column(BigInteger, default=0)
    pending_points: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when a take-back after a return drove the balance below zero.
    negative_flagged: Mapped[bool] = mapped_column(default=False)
    # Unused since migration 0007 (wrong PINs are counted by pos_loyalty.throttles); kept so
    # that servers of the previous version still run during a rolling deploy.
    failed_pin_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # SMS: the customer said STOP (Twilio 21610 or in the app); Twilio refused the number.
    sms_opt_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    sms_invalid: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Keys the phone's live code (pos_loyalty.live_codes), in hex; made when the phone first
    # shows its card, never sent anywhere.
    live_code_secret: Mapped[str | None] = mapped_column(String(64))
    # The tier's key in the program's ladder ([rules] tiers; None: below the first rung), and
    # when it is judged again (the end of its qualification period); since when: tier_change.
    tier: Mapped[str | None] = mapped_column(String(40))
    tier_until: Mapped[dt.datetime | None]
    # The code this customer gives friends (made when first asked), and whether a referral
    # waits for this customer's first qualifying purchase (read by every sale: one column).
    referral_code: Mapped[str | None] = mapped_column(String(16))
    referral_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where the customer joined (ENROLMENT_CHANNELS; None: before migration 0014 recorded it)
    # and at which store when it was at a till: the analytics count enrolments by both.
    enrolled_via: Mapped[str | None] = mapped_column(String(16))
    enrolled_store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    # How the customer wants to hear about their points (NOTIFY_CHANNELS; README "Push and
    # wallet"): "auto" pushes to the brand app when a phone of theirs can take it, else SMS.
    notify_channel: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    # Counts kept by pos_loyalty.devices: the app's phones that take pushes, and the wallet
    # passes to keep up to date. Every balance change reads them from this row.
    push_devices: Mapped[int] = mapped_column(default=0, server_default="0")
    wallet_passes: Mapped[int] = mapped_column(default=0, server_default="0")

    cards: Mapped[list[Card]] = relationship(back_populates="account", lazy="raise")

    __table_args__ = (
        UniqueConstraint("program_id", "phone_e164"),
        # An index, not a constraint: SQLite adds it without rebuilding the table.
        Index("uq_account_program_id_referral_code", "program_id", "referral_code", unique=True),
        CheckConstraint("status IN ('active', 'blocked', 'closed')", name="status_known"),
        CheckConstraint("pending_points >= 0", name="pending_not_negative"),
        CheckConstraint("lifetime_earned >= 0 AND lifetime_redeemed >= 0",
                        name="lifetime_not_negative"),
        CheckConstraint("failed_pin_attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("enrolled_via IN ('till', 'app', 'import', 'back_office', 'cli')",
                        name="enrolled_via_known"),
        CheckConstraint("notify_channel IN ('auto', 'push', 'sms', 'both', 'none')",
                        name="notify_channel_known"),
        CheckConstraint("push_devices >= 0 AND wallet_passes >= 0",
                        name="device_counts_not_negative"),
        # A program's enrolments of some days (analytics.daily).
        Index("ix_account_program_id_created_at", "program_id", "created_at"),
    )


class CardBatch(Base):
    """Blank cards printed together (pre-printed plastic), linked to customers later."""
    __tablename__ = "card_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    count: Mapped[int]
    # What the batch is for ("Lyon opening, plastic"): the back office lists batches by it.
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("count > 0", name="count_positive"),)


class Card(Base):
    __tablename__ = "card"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    number: Mapped[str] = mapped_column(String(32))
    symbology: Mapped[str] = mapped_column(String(16), default="ean13")
    status: Mapped[str] = mapped_column(String(16), default="blank")
    kind: Mapped[str] = mapped_column(String(16), default="plastic")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("card_batch.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    linked_at: Mapped[dt.datetime | None]

    account: Mapped[Account | None] = relationship(back_populates="cards", lazy="raise")

    __table_args__ = (
        UniqueConstraint("program_id", "number"),
        Index("ix_card_account_id", "account_id"),
        CheckConstraint(
            "status IN ('blank', 'active', 'blocked', 'lost', 'replaced', 'closed')",
            name="status_known"),
        CheckConstraint("kind IN ('plastic', 'virtual')", name="kind_known"),
        CheckConstraint("(status = 'blank') = (account_id IS NULL)", name="blank_has_no_account"),
    )
