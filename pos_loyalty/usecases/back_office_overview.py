"""What the back office's home and audit pages read."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from pos_loyalty import audit
from pos_loyalty.db import db, retry_read
from pos_loyalty.models import AdjustmentRequest, AuditEvent, Program


@dataclass(frozen=True)
class Overview:
    adjustments_waiting: int


def overview(program: Program, role: str) -> Overview:
    def read() -> Overview:
        waiting = 0
        if role == "admin":
            waiting = db.session.scalar(select(func.count()).select_from(AdjustmentRequest)
                                        .where(AdjustmentRequest.program_id == program.id,
                                               AdjustmentRequest.status == "pending")) or 0
        return Overview(adjustments_waiting=waiting)
    return retry_read(read)


def audit_page(program: Program, before_id: int | None, page_size: int, *, actor: str = "",
               action: str = "", target: str = "") -> list[AuditEvent]:
    return retry_read(lambda: audit.events(program, before_id=before_id, limit=page_size,
                                           actor=actor, action=action, target=target))
