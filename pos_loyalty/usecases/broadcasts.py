"""Messages to a segment of customers, as the back office and the CLI run them: the preview's
counts, sending (started and audited in one transaction, then written chunk by chunk),
writing the rest of a large one, cancelling, and the list with what became of the rows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from pos_loyalty.audit import record as audit
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import NotFound
from pos_loyalty.models import Broadcast, Program, Store
from pos_loyalty.notify import broadcasts
from pos_loyalty.programs import rules_for


@dataclass(frozen=True)
class BroadcastForm:
    """A message as the form or the command line gives it ({language: text}; a blank text is
    no text)."""
    title: str
    texts: Mapping[str, str]
    segment: str
    push_only: bool = False

    def fields(self) -> dict[str, Any]:
        return {"title": self.title, "texts": dict(self.texts), "segment": self.segment,
                "push_only": self.push_only}


@dataclass(frozen=True)
class Preview:
    """The message as it will be sent (checked) and who it reaches now."""
    title: str
    texts: dict[str, str]
    segment: str
    push_only: bool
    counts: dict[str, int]    # accounts, push, sms, none (broadcasts.segment_size)


# What became of a broadcast's rows, in the words of its page: outbox statuses grouped.
OUTCOMES = {"waiting": ("queued", "sending"), "sent": ("sent", "delivered"),
            "failed": ("undelivered", "failed", "dead"), "cancelled": ("cancelled",)}


@dataclass(frozen=True)
class BroadcastView:
    broadcast: Broadcast
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # {channel: {status: n}}

    @property
    def outcomes(self) -> dict[str, int]:
        """Rows of every channel per OUTCOMES group."""
        return {name: sum(counts.get(status, 0) for counts in self.statuses.values()
                          for status in statuses) for name, statuses in OUTCOMES.items()}


def preview(program: Program, form: BroadcastForm, now: dt.datetime) -> Preview:
    """Checked as sending would check it, and counted; nothing is written."""
    def read() -> Preview:
        title = broadcasts.checked_title(form.title)
        texts = broadcasts.checked_texts(form.texts)
        segment = str(broadcasts.checked_segment(program, form.segment))
        counts = broadcasts.segment_size(program, segment, form.push_only, now)
        return Preview(title, texts, segment, form.push_only, counts)
    return retry_read(read)


def send(program: Program, form: BroadcastForm, now: dt.datetime, actor: str, *,
         send_key: str | None = None, max_accounts: int | None = None) -> Broadcast:
    """Start the broadcast (audited) and write it: all of it, or its first `max_accounts`
    accounts (then `write_more`). The same `send_key` again writes on the first one."""
    def start() -> Broadcast:
        earlier = broadcasts.broadcast_sent_with(program, send_key) if send_key else None
        if earlier is not None:
            return earlier
        broadcast = broadcasts.start_broadcast(
            program, title=form.title, texts=form.texts, segment=form.segment,
            push_only=form.push_only, actor=actor, now=now, send_key=send_key)
        audit(program, actor, "broadcast_sent", f"broadcast:{broadcast.id}", now,
              after=_audited(broadcast))
        return broadcast
    broadcast = run_in_transaction(start)
    return broadcasts.write_broadcast(program, broadcast.id, now, max_accounts=max_accounts)


def write_more(program: Program, broadcast_id: int, now: dt.datetime,
               max_accounts: int | None = None) -> Broadcast:
    """Write on from where the broadcast stopped (a crash, or the back office's limit)."""
    return broadcasts.write_broadcast(program, broadcast_id, now, max_accounts=max_accounts)


def cancel(program: Program, broadcast_id: int, now: dt.datetime, actor: str) -> int:
    """Stop the broadcast and cancel its rows not sent yet (audited); how many were."""
    def work() -> int:
        cancelled = broadcasts.cancel_broadcast(program, broadcast_id, now)
        audit(program, actor, "broadcast_cancelled", f"broadcast:{broadcast_id}", now,
              rows_cancelled=cancelled)
        return cancelled
    return run_in_transaction(work)


def broadcast_list(program: Program, limit: int) -> list[BroadcastView]:
    """The latest broadcasts first, each with its rows per channel and status."""
    def read() -> list[BroadcastView]:
        found = db.session.scalars(select(Broadcast).where(Broadcast.program_id == program.id)
                                   .order_by(Broadcast.id.desc()).limit(limit)).all()
        return [BroadcastView(b, broadcasts.message_statuses(b)) for b in found]
    return retry_read(read)


def broadcast_page(program: Program, broadcast_id: int) -> BroadcastView:
    def read() -> BroadcastView:
        broadcast = db.session.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.program_id != program.id:
            raise NotFound(f"No broadcast {broadcast_id} in this program.")
        return BroadcastView(broadcast, broadcasts.message_statuses(broadcast))
    return retry_read(read)


@dataclass(frozen=True)
class SegmentChoices:
    """What the form offers: the ladder's tiers and the program's stores."""
    tiers: list[dict[str, str]]      # {key, name}
    stores: list[dict[str, Any]]     # {id, name}


def segment_choices(program: Program, language: str) -> SegmentChoices:
    def read() -> SegmentChoices:
        stores = db.session.execute(select(Store.id, Store.name)
                                    .where(Store.program_id == program.id)
                                    .order_by(Store.name, Store.id)).all()
        return SegmentChoices(
            [{"key": rung.key, "name": rung.name(language)} for rung in rules_for(program).tiers],
            [{"id": store.id, "name": store.name} for store in stores])
    return retry_read(read)


def _audited(broadcast: Broadcast) -> dict[str, Any]:
    return {"title": broadcast.title, "texts": broadcast.texts, "segment": broadcast.segment,
            "push_only": broadcast.push_only}
