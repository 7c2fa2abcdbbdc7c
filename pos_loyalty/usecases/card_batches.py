"""Batches of blank plastic cards: issued for the card printer, then followed as customers
link them at the till (how many are linked, used in a sale, out of use)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, case, exists, func, select

from pos_loyalty import accounts
from pos_loyalty.audit import record as audit
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Card, CardBatch, Program, Sale
from pos_loyalty.rules import UNUSABLE_CARD_STATUSES

# Numbers read per round trip while a batch's CSV is written out.
NUMBERS_PER_READ = 5000


@dataclass(frozen=True)
class BatchUse:
    id: int
    label: str
    count: int
    created_at: dt.datetime
    linked: int          # given to a customer (whatever became of the card since)
    used: int            # in at least one sale
    out_of_use: int      # blocked, lost, replaced or closed
    first_linked_at: dt.datetime | None
    last_linked_at: dt.datetime | None


def _sum_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


USE_COLUMNS = (
    _sum_of(Card.status != "blank"),
    _sum_of(exists().where(Sale.card_id == Card.id)),
    _sum_of(Card.status.in_(sorted(UNUSABLE_CARD_STATUSES))),
    func.min(Card.linked_at), func.max(Card.linked_at),
)


def _batch_use_query(program: Program) -> Select[Any]:
    return (select(CardBatch, *USE_COLUMNS)
            .outerjoin(Card, Card.batch_id == CardBatch.id)
            .where(CardBatch.program_id == program.id)
            .group_by(CardBatch.id)
            .order_by(CardBatch.id.desc()))


def _use(row: Row[Any]) -> BatchUse:
    batch, linked, used, out_of_use, first, last = row
    return BatchUse(batch.id, batch.label, batch.count, batch.created_at, int(linked),
                    int(used), int(out_of_use), first, last)


def list_batches(program: Program, before_id: int | None, limit: int) -> list[BatchUse]:
    """The program's batches, newest first, a page at a time (`before_id`: the last seen)."""
    def read() -> list[BatchUse]:
        query = _batch_use_query(program)
        if before_id is not None:
            query = query.where(CardBatch.id < before_id)
        return [_use(row) for row in db.session.execute(query.limit(limit))]
    return retry_read(read)


def batch_use(program: Program, batch_id: int) -> BatchUse:
    def read() -> BatchUse:
        row = db.session.execute(_batch_use_query(program)
                                 .where(CardBatch.id == batch_id)).first()
        if row is None:
            raise NotFound(f"No card batch {batch_id} in this program.")
        return _use(row)
    return retry_read(read)


def issue_batch(program: Program, count: int, label: str, now: dt.datetime, actor: str,
                maximum: int) -> int:
    """A batch of `count` blank cards (at most `maximum`, the back office's limit), audited;
    its id."""
    if not 1 <= count <= maximum:
        raise ValidationFailed(f"Issue between 1 and {maximum} cards at a time.",
                               field="count")

    def work() -> int:
        numbers = accounts.issue_cards(program, count, now, label)
        batch_id = db.session.scalar(select(Card.batch_id).where(
            Card.program_id == program.id, Card.number == numbers[0]))
        audit(program, actor, "card_batch_issued", f"card_batch:{batch_id}", now,
              after={"count": count, "label": label.strip()})
        return batch_id
    return run_in_transaction(work)


def batch_numbers(program: Program, batch_id: int) -> Iterator[list[str]]:
    """The batch's card numbers in the order they were made, a read at a time, for a file
    written as it is read (call `batch_use` first: an unknown batch reads as empty here)."""
    after_id = 0
    while True:
        rows = retry_read(lambda: db.session.execute(
            select(Card.id, Card.number)
            .join(CardBatch, CardBatch.id == Card.batch_id)
            .where(CardBatch.program_id == program.id, Card.batch_id == batch_id,
                   Card.id > after_id)
            .order_by(Card.id).limit(NUMBERS_PER_READ)).all())
        if not rows:
            return
        yield [row.number for row in rows]
        after_id = rows[-1].id
