"""What the broadcasts' tests share: customers made with the columns a segment or a channel
looks at set directly (devices, choice, tier, status), and the outbox rows a broadcast wrote.

Import what a test module needs: `from broadcast_setup import member, promotion_rows`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Card, OutboxMessage

# A Monday, 11:00 in Paris (the program's zone): outside the quiet hours.
NOW = dt.datetime(2026, 3, 9, 10, 0)
LONG_AGO = dt.datetime(2025, 1, 6, 10, 0)


def account_of(card_number: str) -> int:
    return db.session.scalar(select(Card.account_id).where(Card.number == card_number))


def member(till: Any, *, at: dt.datetime = LONG_AGO, at_store: bool = False,
           **columns: Any) -> int:
    """A customer enrolled `at` (at the till's store when `at_store`, else in the app), with
    `columns` of their Account set as given; their account id."""
    card = till.customer(at=at, plastic=at_store)
    account_id = account_of(card)
    if columns:
        set_columns(account_id, **columns)
    return account_id


def set_columns(account_id: int, **columns: Any) -> None:
    def work() -> None:
        account = db.session.get(Account, account_id)
        for name, value in columns.items():
            setattr(account, name, value)
    run_in_transaction(work)


def card_of(account_id: int) -> str:
    return db.session.scalar(select(Card.number).where(Card.account_id == account_id))


def promotion_rows(broadcast_id: int | None = None) -> list[OutboxMessage]:
    """The outbox's promotion rows (of one broadcast when given), by account then channel."""
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "promotion")
                              .order_by(OutboxMessage.account_id, OutboxMessage.channel)).all()
    return [row for row in rows
            if broadcast_id is None or row.payload["broadcast_id"] == broadcast_id]


def reached(broadcast_id: int | None = None) -> list[tuple[int, str]]:
    """(account id, channel) of each promotion row."""
    return [(row.account_id, row.channel) for row in promotion_rows(broadcast_id)]
