"""The audit trail: who changed what by hand, when, and what it was before and after.

Every manual change (an adjustment, a block, a rule, a campaign, a staff login, an import) adds
one `AuditEvent` in the transaction that makes the change, so the trail holds exactly what was
committed. The back office's audit page reads it newest first.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pos_loyalty.db import db
from pos_loyalty.models import AuditEvent, Program

PAGE_SIZE = 50


def record(program: Program, actor: str, action: str, target: str, now: dt.datetime, *,
           before: Any = None, after: Any = None, **details: Any) -> AuditEvent:
    """Add one event; `before` and `after` are JSON values (a rule, a record's fields)."""
    event = AuditEvent(program_id=program.id, actor=actor or "system", action=action,
                       target=target, details=details, before=before, after=after,
                       created_at=now)
    db.session.add(event)
    return event


def events(program: Program, *, before_id: int | None = None, limit: int = PAGE_SIZE,
           actor: str = "", action: str = "", target: str = "") -> list[AuditEvent]:
    """The program's events newest first, a page at a time (`before_id`: the last one seen),
    filtered by exact actor, action or target when given."""
    query = select(AuditEvent).where(AuditEvent.program_id == program.id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    for column, wanted in ((AuditEvent.actor, actor), (AuditEvent.action, action),
                           (AuditEvent.target, target)):
        if wanted:
            query = query.where(column == wanted)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
