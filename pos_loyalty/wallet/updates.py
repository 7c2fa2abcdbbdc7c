"""After a balance change, the outbox row that brings the customer's wallet passes up to date.

One row waits per account at most: the worker reads the balance when it sends, so a row
still queued already covers any later change. The waiting row is read FOR UPDATE: a worker
claiming it at that moment (it claims with SKIP LOCKED) leaves it to this transaction, and
one that claimed it first makes it "sending", so this change writes a row of its own.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from pos_loyalty.db import db
from pos_loyalty.models import OutboxMessage

WALLET_KIND = "wallet"
INSERT_WALLET_ROW = insert(OutboxMessage.__table__)


def queue_wallet_update(program_id: int, account_id: int, now: dt.datetime) -> None:
    """Queue the update of the account's passes unless one is queued already."""
    waiting = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.account_id == account_id,
                                       OutboxMessage.channel == "wallet",
                                       OutboxMessage.status == "queued")
        .limit(1).with_for_update())
    if waiting is not None:
        return
    db.session.execute(INSERT_WALLET_ROW, {
        "program_id": program_id, "account_id": account_id, "store_id": None,
        "kind": WALLET_KIND, "channel": "wallet", "to_phone": None, "body": None,
        "segments": None, "encoding": None, "status": "queued", "attempts": 0,
        "send_after": now, "payload": {"reason": "balance"}, "created_at": now,
        "status_changed_at": now})
