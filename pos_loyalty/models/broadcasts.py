"""Messages the brand sends to a segment of its customers (a promotion, news), by push or SMS
as each customer chose (pos_loyalty.notify.broadcasts).

A **Broadcast** is written to the outbox a chunk of accounts at a time, each chunk one
transaction that also advances `next_account_id` and the counts, so a write stopped half-way
(a crash, a deploy) resumes where it stopped and writes nobody twice. The outbox rows it
wrote carry its id in their payload and lie between `first_message_id` and `last_message_id`:
the back office counts their statuses through the primary key, not a JSON index.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

BROADCAST_STATUSES = ("writing", "written", "cancelled")


class Broadcast(Base):
    """One message to a segment ("all", "tier:gold", "store:3", "inactive:90")."""
    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    title: Mapped[str] = mapped_column(String(65))
    # {language: text}: each customer reads their language's, else the program's, else the
    # first given.
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    segment: Mapped[str] = mapped_column(String(40))
    # Only the customers a push reaches: nobody is texted.
    push_only: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="writing")
    # Accounts of the segment written so far; the rows they got; those no channel reaches.
    accounts: Mapped[int] = mapped_column(default=0)
    push_rows: Mapped[int] = mapped_column(default=0)
    sms_rows: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    # Accounts from this id on are still to write (ids below it were written, or not in it).
    next_account_id: Mapped[int] = mapped_column(default=0)
    first_message_id: Mapped[int | None]
    last_message_id: Mapped[int | None]
    # "staff:<login>" or "cli".
    created_by: Mapped[str] = mapped_column(String(120))
    # The back office's form: a second click on "Send" finds the broadcast the first made.
    send_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("program_id", "send_key"),
        Index("ix_broadcast_program_id_id", "program_id", "id"),
        CheckConstraint("status IN ('writing', 'written', 'cancelled')", name="status_known"),
        CheckConstraint("accounts >= 0 AND push_rows >= 0 AND sms_rows >= 0 AND skipped >= 0",
                        name="counts_not_negative"),
        CheckConstraint("(status = 'writing') = (finished_at IS NULL)",
                        name="finished_unless_writing"),
        CheckConstraint("title <> ''", name="title_not_empty"),
    )
