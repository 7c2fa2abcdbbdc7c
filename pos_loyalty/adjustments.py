"""Manual corrections by a manager: always with a reason, always audited."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import ledger, notify
from pos_loyalty.accounts import account_of_card, audit, find_card
from pos_loyalty.rules import expiry_for
from pos_loyalty.errors import CardNotLinked, ValidationFailed
from pos_loyalty.models import Account, Program
from pos_loyalty.payloads import MAX_POINTS
from pos_loyalty.programs import rules_for


def adjust_points(program: Program, card_number: Any, points: int, reason: str, actor: str,
                  now: dt.datetime, staff_id: int | None = None,
                  store_id: int | None = None) -> dict[str, int]:
    """Credit or withdraw points on the card's account; a withdrawal may go below zero.

    `store_id`: where a manager made it (the cashier UI), so its entry and SMS name the store.
    """
    check_adjustment(points, reason)
    account = account_of_card(find_card(program, card_number))
    if account is None:
        raise CardNotLinked()
    return adjust_account(program, account, points, reason, actor, now, staff_id=staff_id,
                          store_id=store_id)


def check_adjustment(points: Any, reason: Any) -> None:
    """An adjustment has a reason and a non-zero number of points within bounds."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("An adjustment needs a reason.", field="reason")
    if (not isinstance(points, int) or isinstance(points, bool) or points == 0
            or abs(points) > MAX_POINTS):
        raise ValidationFailed("Adjust by a non-zero number of points.", field="points")


def adjust_account(program: Program, account: Account, points: int, reason: str, actor: str,
                   now: dt.datetime, *, staff_id: int | None = None,
                   store_id: int | None = None) -> dict[str, int]:
    """The adjustment on an account found by other means than a card (the back office's
    customer page, an approved request); audited with the balance before and after."""
    check_adjustment(points, reason)
    ctx = ledger.EntryContext(program_id=program.id, now=now, store_id=store_id,
                              staff_id=staff_id, actor=actor, reason=reason.strip())
    entry = ledger.adjust(ctx, account.id, points, expires_at=expiry_for(rules_for(program), now))
    audit(program, actor, "points_adjusted", f"account:{account.id}", now,
          before={"available": entry.available_after - points},
          after={"available": entry.available_after}, points=points,
          reason=reason.strip(), entry_id=entry.id)
    notify.queue_balance_change(program, account.id, change=points,
                                balance=entry.available_after, now=now, store_id=store_id)
    return {"entry_id": entry.id, "available": entry.available_after,
            "pending": entry.pending_after}
