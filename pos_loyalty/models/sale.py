"""Receipts: a sale with its lines, and the returns that reference it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pos_loyalty.db import Base, utcnow


class Sale(Base):
    __tablename__ = "sale"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"))
    receipt_number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="sale")
    status: Mapped[str] = mapped_column(String(16), default="completed")
    total_minor: Mapped[int] = mapped_column(BigInteger)
    points_redeemed: Mapped[int] = mapped_column(BigInteger)
    redeemed_minor: Mapped[int] = mapped_column(BigInteger)
    cash_minor: Mapped[int] = mapped_column(BigInteger)
    eligible_earn_minor: Mapped[int] = mapped_column(BigInteger)
    # Money paid on earning lines, weighted by category multipliers: returns split points on it.
    earn_base_minor: Mapped[int] = mapped_column(BigInteger)
    points_earned: Mapped[int] = mapped_column(BigInteger)
    returned_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_earn_base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_restored: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[dt.datetime | None]

    lines: Mapped[list[SaleLine]] = relationship(
        order_by="SaleLine.line_no", lazy="raise", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("terminal_id", "receipt_number", "kind"),
        Index("ix_sale_account_id_id", "account_id", "id"),
        Index("ix_sale_store_id_created_at", "store_id", "created_at"),
        CheckConstraint("status IN ('completed', 'voided')", name="status_known"),
        CheckConstraint("total_minor > 0", name="total_positive"),
        CheckConstraint("redeemed_minor + cash_minor = total_minor", name="paid_in_full"),
        CheckConstraint("points_redeemed >= 0 AND redeemed_minor >= 0 AND cash_minor >= 0",
                        name="parts_not_negative"),
        CheckConstraint("points_earned >= 0", name="earned_not_negative"),
        CheckConstraint("returned_minor <= total_minor", name="returns_within_total"),
        CheckConstraint("points_reversed <= points_earned", name="reversed_within_earned"),
        CheckConstraint("points_restored <= points_redeemed", name="restored_within_redeemed"),
    )


class SaleLine(Base):
    __tablename__ = "sale_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Found by the unique (sale_id, line_no) index: no index of its own.
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id"))
    line_no: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    earn_base_minor: Mapped[int] = mapped_column(BigInteger)
    returned_quantity: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("sale_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity",
                        name="returned_within_quantity"),
    )


class SaleReturn(Base):
    __tablename__ = "sale_return"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger)
    points_restored: Mapped[int] = mapped_column(BigInteger)
    refund_cash_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),
                      # A program's returns of some days (analytics.daily).
                      Index("ix_sale_return_program_id_created_at", "program_id", "created_at"))


class TerminalDay(Base):
    """What a till reported of one local day: its receipts that carried no loyalty card, so
    the adoption rate (receipts with a card / all receipts) has a real denominator. The POS
    software sends the day's count; a later report of the same day replaces it."""
    __tablename__ = "terminal_day"

    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    receipts_without_card: Mapped[int] = mapped_column(BigInteger)
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_terminal_day_program_id_day", "program_id", "day"),
        CheckConstraint("receipts_without_card >= 0", name="receipts_not_negative"),
    )
