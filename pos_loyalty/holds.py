"""Holds: points set aside for a receipt while the customer pays, then captured or voided."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pos_loyalty import ledger
from pos_loyalty.accounts import account_of_card, find_card
from pos_loyalty.db import db
from pos_loyalty.errors import (
    AccountBlocked, CardNotLinked, HoldClosed, HoldNotFound, ValidationFailed,
)
from pos_loyalty.models import Hold, LedgerEntry, Program, Terminal
from pos_loyalty.programs import rules_for
from pos_loyalty.proofs import TillEvidence


def iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def create_hold(program: Program, terminal: Terminal, card_number: Any, receipt_number: str,
                points: int, ttl_seconds: int | None, now: dt.datetime,
                evidence: TillEvidence | None = None) -> dict[str, Any]:
    """Set points aside; the caller settled the account first (`upkeep.bring_card_up_to_date`:
    due points released, expired holds ended), so every point shown can be held. With the
    till's `evidence`, only with the customer there: holding is spending."""
    rules = rules_for(program)
    ttl = rules.hold_default_ttl_seconds if ttl_seconds is None else ttl_seconds
    if not 1 <= ttl <= rules.hold_max_ttl_seconds:
        raise ValidationFailed(f"ttl_seconds must be between 1 and {rules.hold_max_ttl_seconds}.",
                               field="ttl_seconds")
    card = find_card(program, card_number)
    account = account_of_card(card, for_spending=True)
    if account is None:
        raise CardNotLinked()
    if account.status != "active":
        raise AccountBlocked()
    if evidence is not None:
        evidence.require_for_spending(points, account.id, card.kind, account.live_code_secret)
    hold = Hold(program_id=program.id, account_id=account.id, terminal_id=terminal.id,
                receipt_number=receipt_number, points=points, expires_at=now + dt.timedelta(
                    seconds=ttl), created_at=now)
    db.session.add(hold)
    db.session.flush()
    entry = ledger.spend(_context(program, terminal, hold, now), account.id, points, "hold")
    return {"hold_id": hold.id, "points": points, "expires_at": iso(hold.expires_at),
            "balance": {"available": entry.available_after, "pending": entry.pending_after}}


def _context(program: Program, terminal: Terminal | None, hold: Hold,
             now: dt.datetime, sale_id: int | None = None) -> ledger.EntryContext:
    return ledger.EntryContext(program_id=program.id, now=now, hold_id=hold.id, sale_id=sale_id,
                               store_id=terminal.store_id if terminal else None,
                               terminal_id=terminal.id if terminal else None)


def open_hold(program: Program, terminal: Terminal, hold_id: int, now: dt.datetime) -> Hold:
    """The terminal's own active hold, read under the account lock."""
    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.program_id != program.id or hold.terminal_id != terminal.id:
        raise HoldNotFound()
    ledger.lock_account(hold.account_id)
    db.session.refresh(hold)
    if hold.status == "active" and hold.expires_at <= now:
        _close(program, terminal, hold, "expired", 0, now)
    if hold.status != "active":
        raise HoldClosed(f"This hold is {hold.status}.")
    return hold


def capture_hold(program: Program, terminal: Terminal, hold_id: int, points: int | None,
                 now: dt.datetime, sale_id: int | None = None) -> dict[str, Any]:
    """Spend the held points, or fewer of them; the rest goes back to the account."""
    hold = open_hold(program, terminal, hold_id, now)
    captured = hold.points if points is None else points
    if not 1 <= captured <= hold.points:
        raise ValidationFailed(f"Capture between 1 and {hold.points} points.", field="points")
    balance = _close(program, terminal, hold, "captured", captured, now, sale_id)
    return {"hold_id": hold.id, "status": hold.status, "captured_points": captured,
            "released_points": hold.points - captured, "balance": balance}


def void_hold(program: Program, terminal: Terminal, hold_id: int,
              now: dt.datetime) -> dict[str, Any]:
    hold = open_hold(program, terminal, hold_id, now)
    balance = _close(program, terminal, hold, "voided", 0, now)
    return {"hold_id": hold.id, "status": hold.status, "released_points": hold.points,
            "balance": balance}


def _close(program: Program, terminal: Terminal | None, hold: Hold, status: str,
           captured: int, now: dt.datetime, sale_id: int | None = None) -> dict[str, int]:
    hold_entries = db.session.scalars(select(LedgerEntry.id).where(
        LedgerEntry.hold_id == hold.id, LedgerEntry.kind == "hold")).all()
    entry = ledger.give_back(_context(program, terminal, hold, now, sale_id), hold.account_id,
                             hold.points - captured, "hold_release", hold_entries)
    hold.status, hold.captured_points, hold.closed_at = status, captured, now
    hold.sale_id = sale_id
    db.session.flush()
    if entry is None:
        balance = ledger.lock_account(hold.account_id)
        return {"available": balance.available, "pending": balance.pending}
    return {"available": entry.available_after, "pending": entry.pending_after}


def release_expired_holds(program: Program, account_id: int, now: dt.datetime) -> int:
    """Expired holds give their points back by themselves: called before using an account."""
    expired = db.session.scalars(select(Hold).where(
        Hold.account_id == account_id, Hold.status == "active", Hold.expires_at <= now)).all()
    for hold in expired:
        ledger.lock_account(account_id)
        db.session.refresh(hold)
        if hold.status == "active":
            _close(program, None, hold, "expired", 0, now)
    return len(expired)


def sweep_expired_holds(program: Program, now: dt.datetime) -> int:
    accounts = db.session.scalars(select(Hold.account_id).where(
        Hold.program_id == program.id, Hold.status == "active", Hold.expires_at <= now)
        .distinct()).all()
    return sum(release_expired_holds(program, account_id, now) for account_id in accounts)
