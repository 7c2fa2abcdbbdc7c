"""Ledger entries, point lots and their draws, holds, and the daily issuance counter."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, Integer, CheckConstraint, Date, ForeignKey, Index, String, text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

# Ledger kinds of bonuses: the sign-up, birthday and referral ones, and "bonus" (sign-up
# bonuses written before migration 0009).
BONUS_ENTRY_KINDS = ("bonus", "signup", "birthday", "referral")
ENTRY_KINDS = (
    "earn", "redeem", "return_reverse", "return_restore", "void_reverse", "void_restore",
    "hold", "hold_release", "adjust", "expire", "release", "bonus",
    "campaign", "signup", "birthday", "referral", "import",
)



class LedgerEntry(Base):
    """One change of one account's points; never updated, never deleted."""
    __tablename__ = "ledger_entry"

    # BIGINT on PostgreSQL; SQLite autoincrements only a plain INTEGER primary key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # Signed change of available points and of pending points.
    points: Mapped[int] = mapped_column(BigInteger)
    pending_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    available_after: Mapped[int] = mapped_column(BigInteger)
    pending_after: Mapped[int] = mapped_column(BigInteger)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sale.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("hold.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminal.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The campaign whose bonus this entry is (kind "campaign").
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    actor: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_ledger_entry_account_id_id", "account_id", "id"),
        Index("ix_ledger_entry_sale_id", "sale_id"),
        # An account's entries since a date (the tier's measure, the customer's daily cap):
        # read from the index alone on PostgreSQL.
        Index("ix_ledger_entry_account_id_created_at", "account_id", "created_at",
              postgresql_include=["kind", "points", "pending_delta"]),
        # A customer's uses of campaigns, which every sale with a per-customer limit counts.
        Index("ix_ledger_entry_campaign_uses", "account_id", "campaign_id",
              postgresql_where=text("kind = 'campaign'"), sqlite_where=text("kind = 'campaign'")),
        # A program's entries of some days, which the daily rollups read (analytics.daily).
        Index("ix_ledger_entry_program_id_created_at", "program_id", "created_at"),
        CheckConstraint(
            "kind IN ('earn', 'redeem', 'return_reverse', 'return_restore', 'void_reverse', "
            "'void_restore', 'hold', 'hold_release', 'adjust', 'expire', 'release', 'bonus', "
            "'campaign', 'signup', 'birthday', 'referral', 'import')",
            name="kind_known"),
        CheckConstraint("points <> 0 OR pending_delta <> 0", name="changes_something"),
        CheckConstraint("(kind = 'campaign') = (campaign_id IS NOT NULL)",
                        name="campaign_entry_names_it"),
        CheckConstraint("pending_after >= 0", name="pending_after_not_negative"),
    )


class PointLot(Base):
    """Points credited together: they become available, are spent and expire together."""
    __tablename__ = "point_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sale.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    # Pending until available_at; the release moves it from pending to available.
    released: Mapped[bool] = mapped_column(default=True)
    # When a pending lot was released (None: released when made, or before migration 0016):
    # the liability as of a past day counts the lot pending until then.
    released_at: Mapped[dt.datetime | None]
    available_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When the customer was told by SMS that this lot is about to expire (once per lot).
    expiry_warned_at: Mapped[dt.datetime | None]

    __table_args__ = (
        Index("ix_point_lot_account_id_expires_at", "account_id", "expires_at"),
        # Pending lots only: an account's points due (every look-up), the expire job's
        # releases. Spelled as the queries are (`IS false`), so that planners prove it.
        Index("ix_point_lot_pending", "account_id", "available_at",
              postgresql_where=text("released IS false"), sqlite_where=text("released IS 0")),
        # Released lots with points left: the expire job's expired lots and its warnings.
        # Naming `remaining` makes a spend's update of the lot non-HOT (migration 0015).
        Index("ix_point_lot_expiring", "program_id", "expires_at",
              postgresql_where=text("released IS true AND remaining > 0"),
              sqlite_where=text("released IS 1 AND remaining > 0")),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
    )


class LotDraw(Base):
    """Which lot a debit took its points from, so a give-back returns them there."""
    __tablename__ = "lot_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lot.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    # Points of this draw already given back (by a return, a void or a hold release).
    restored: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("restored >= 0 AND restored <= points", name="restored_in_range"),
    )


class Hold(Base):
    """Points set aside for a receipt at the till; captured, voided, or expired."""
    __tablename__ = "hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    receipt_number: Mapped[str] = mapped_column(String(64))
    # The sale that captured it, so a return or a void of that sale gives the points back.
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sale.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    captured_points: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("captured_points >= 0 AND captured_points <= points",
                        name="captured_in_range"),
        CheckConstraint("status IN ('active', 'captured', 'voided', 'expired')",
                        name="status_known"),
    )


class DailyIssuance(Base):
    """Points issued by a program on one local day, for the program-wide daily cap."""
    __tablename__ = "daily_issuance"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (CheckConstraint("points >= 0", name="points_not_negative"),)
