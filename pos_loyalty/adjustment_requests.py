"""Adjustments that wait for an admin: support may move a few points on its own, more only
with an admin's approval ([back_office] support_adjust_limit_points).

A request changes nothing in the ledger. Its approval flips it from pending to approved with
one guarded UPDATE (`... WHERE status = 'pending'`) and writes the adjustment in the same
transaction, so a second click or a second admin at the same moment finds it decided and the
points move once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from pos_loyalty import adjustments, audit
from pos_loyalty.db import db
from pos_loyalty.errors import AccountErased, AdjustmentAlreadyDecided, NotFound
from pos_loyalty.models import Account, AdjustmentRequest, Program
from pos_loyalty.upkeep import bring_up_to_date

APPROVER_ROLE = "admin"


def needs_approval(role: str, points: int, limit: int) -> bool:
    """Whether an adjustment of `points` by this role waits for an admin."""
    return role != APPROVER_ROLE and abs(points) > limit


def ask(program: Program, account: Account, points: int, reason: str, actor: str,
        now: dt.datetime) -> AdjustmentRequest:
    """A pending request, audited; the balance does not move."""
    adjustments.check_adjustment(points, reason)
    check_not_erased(account)
    request = AdjustmentRequest(program_id=program.id, account_id=account.id, points=points,
                                reason=reason.strip(), status="pending", requested_by=actor,
                                requested_at=now)
    db.session.add(request)
    db.session.flush()
    audit.record(program, actor, "adjustment_requested", f"account:{account.id}", now,
                 after=_facts(request), request_id=request.id)
    return request


def check_not_erased(account: Account) -> None:
    if account.status == "closed":
        raise AccountErased()


@dataclass(frozen=True)
class Waiting:
    """A pending request as the approvals page lists it."""
    request: AdjustmentRequest
    first_name: str
    phone: str | None
    available_points: int


def waiting(program: Program, limit: int) -> list[Waiting]:
    """The program's pending requests, oldest first (the index on program and status)."""
    rows = db.session.execute(
        select(AdjustmentRequest, Account.first_name, Account.phone_e164,
               Account.available_points)
        .join(Account, Account.id == AdjustmentRequest.account_id)
        .where(AdjustmentRequest.program_id == program.id,
               AdjustmentRequest.status == "pending")
        .order_by(AdjustmentRequest.id).limit(limit)).all()
    return [Waiting(*row) for row in rows]


def of_account(program: Program, account: Account) -> list[AdjustmentRequest]:
    """The account's requests, newest first (the customer page shows what waits)."""
    return list(db.session.scalars(
        select(AdjustmentRequest)
        .where(AdjustmentRequest.program_id == program.id,
               AdjustmentRequest.account_id == account.id)
        .order_by(AdjustmentRequest.id.desc())))


def approve(program: Program, request_id: int, actor: str, now: dt.datetime, *,
            staff_id: int | None = None) -> dict[str, int]:
    """Decide the request and write its adjustment, the approver as its actor."""
    request = _decide(program, request_id, "approved", actor, now)
    account = db.session.get(Account, request.account_id)
    check_not_erased(account)
    bring_up_to_date(program, account, now)
    done = adjustments.adjust_account(program, account, request.points, request.reason, actor,
                                      now, staff_id=staff_id)
    request.ledger_entry_id = done["entry_id"]
    audit.record(program, actor, "adjustment_approved", f"adjustment_request:{request.id}", now,
                 before={"status": "pending"}, after=_facts(request),
                 account=f"account:{account.id}")
    return {**done, "account_id": account.id, "points": request.points}


def reject(program: Program, request_id: int, actor: str, now: dt.datetime) -> int:
    """Decide the request without moving any point; the account's id."""
    request = _decide(program, request_id, "rejected", actor, now)
    audit.record(program, actor, "adjustment_rejected", f"adjustment_request:{request.id}", now,
                 before={"status": "pending"}, after=_facts(request),
                 account=f"account:{request.account_id}")
    return request.account_id


def _decide(program: Program, request_id: int, status: str, actor: str,
            now: dt.datetime) -> AdjustmentRequest:
    """Flip a pending request of this program; a decided one is refused, an unknown one 404."""
    decided = db.session.execute(
        update(AdjustmentRequest)
        .where(AdjustmentRequest.id == request_id, AdjustmentRequest.program_id == program.id,
               AdjustmentRequest.status == "pending")
        .values(status=status, decided_by=actor, decided_at=now)).rowcount
    request = db.session.scalar(
        select(AdjustmentRequest)
        .where(AdjustmentRequest.id == request_id, AdjustmentRequest.program_id == program.id)
        .execution_options(populate_existing=True))
    if request is None:
        raise NotFound("No such adjustment request.")
    if decided != 1:
        raise AdjustmentAlreadyDecided()
    return request


def _facts(request: AdjustmentRequest) -> dict[str, object]:
    return {"status": request.status, "points": request.points, "reason": request.reason,
            "requested_by": request.requested_by, "decided_by": request.decided_by,
            "ledger_entry_id": request.ledger_entry_id}
