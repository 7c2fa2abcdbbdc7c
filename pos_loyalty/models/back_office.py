"""What the back office keeps of its own: adjustments that wait for an admin's approval, and
the files a brand uploads."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String,
)
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

ADJUSTMENT_REQUEST_STATUSES = ("pending", "approved", "rejected")


class AdjustmentRequest(Base):
    """A support user's adjustment above the program's limit (`[back_office]
    support_adjust_limit_points`): nothing changes in the ledger until an admin approves it,
    and the approval writes the adjustment (`ledger_entry_id`) in the same transaction."""
    __tablename__ = "adjustment_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None]
    ledger_entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"))

    __table_args__ = (
        Index("ix_adjustment_request_program_id_status", "program_id", "status"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("points <> 0", name="points_not_zero"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)",
                        name="decided_when_not_pending"),
    )


class ProgramAsset(Base):
    """A file the brand uploaded (its logo), served to every phone from any app server. Never
    changed: a new upload is a new row, with a new URL that may be cached for ever."""
    __tablename__ = "program_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('logo')", name="kind_known"),)
