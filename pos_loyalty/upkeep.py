"""Bringing an account up to date before it is shown or used.

Time moves balances without anyone asking: pending points pass their return window and holds
run out. Rather than wait for the `expire` job, every read or use of an account settles what
is due first, so a till never shows points as pending that could be spent.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, select

from pos_loyalty import holds, ledger
from pos_loyalty.accounts import account_of_card, find_card
from pos_loyalty.db import db
from pos_loyalty.models import Account, Hold, PointLot, Program


def bring_up_to_date(program: Program, account: Account, now: dt.datetime) -> bool:
    """Release due pending points and expired holds; True when anything changed."""
    changed = False
    if account.pending_points > 0 and _has_due_pending(account.id, now):
        ctx = ledger.EntryContext(program_id=program.id, now=now, actor="release")
        changed = ledger.release_pending(ctx, account.id) > 0
    if _has_expired_hold(account.id, now):
        changed = holds.release_expired_holds(program, account.id, now) > 0 or changed
    if changed:
        db.session.refresh(account)
    return changed


def bring_card_up_to_date(program: Program, card_number: Any, now: dt.datetime) -> None:
    """Settle the card's account before a write that needs its spendable points."""
    account = account_of_card(find_card(program, card_number))
    if account is not None:
        bring_up_to_date(program, account, now)


def _has_due_pending(account_id: int, now: dt.datetime) -> bool:
    """Read through ix_point_lot_pending (pending lots only): as cheap for an account of 1,200
    lots as for one of 3."""
    return bool(db.session.scalar(select(exists().where(
        PointLot.account_id == account_id, PointLot.released.is_(False),
        PointLot.available_at <= now))))


def _has_expired_hold(account_id: int, now: dt.datetime) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Hold.account_id == account_id, Hold.status == "active", Hold.expires_at <= now))))
