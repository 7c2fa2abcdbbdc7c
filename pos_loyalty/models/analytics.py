"""What analytics keeps (pos_loyalty.analytics): how far each rollup step has got.

The rollups themselves are derived data: every row can be recomputed from the ledger, the
sales and the outbox, and `pos-loyalty rollup --rebuild-from DATE` does so.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base


class RollupRun(Base):
    """The last local day a rollup step finished for a program, and when it ran."""
    __tablename__ = "rollup_run"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_through: Mapped[dt.date] = mapped_column(Date)
    ran_at: Mapped[dt.datetime]
