"""The daily caps on earned points: per customer, and for the whole program.

The program's cap is a counter row per program and day. Adding to it locks the row until the
sale commits, so every sale of the program would wait in line there; a sale that surely fits
(read without the lock) adds to it with its other writes, right before the commit, with the
condition checked then.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, func, select, update

from pos_loyalty.db import TryAgain, db, insert_or_ignore
from pos_loyalty.models import DailyIssuance, LedgerEntry, Program
from pos_loyalty.models.ledger import BONUS_ENTRY_KINDS
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for
from pos_loyalty.rules import ProgramRules, within_daily_cap
from pos_loyalty.statements import Step, Writes


def points_within_customer_cap(program: Program, account_id: int, points: int,
                                now: dt.datetime) -> int:
    """Earned points cut to what the customer may still earn today (0 = no cap)."""
    cap = rules_for(program).daily_customer_cap_points
    if points <= 0 or cap <= 0:
        return within_daily_cap(points, cap, 0)
    earned_today = int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0))
        .where(LedgerEntry.account_id == account_id,
               LedgerEntry.kind.in_(capped_kinds(rules_for(program))),
               LedgerEntry.created_at >= local_day_start_utc(program, local_day(program, now)))))
    return within_daily_cap(points, cap, earned_today)


def capped_kinds(rules: ProgramRules) -> tuple[str, ...]:
    """What counts towards a customer's daily cap: sales' points and campaigns' (the caps
    apply to the total), and the bonuses when the program says so."""
    return ("earn", "campaign") + (BONUS_ENTRY_KINDS if rules.bonuses_count_towards_caps
                                   else ())


def points_within_program_cap(program: Program, points: int, issued_estimate: int | None,
                               now: dt.datetime, writes: Writes) -> int:
    """Grant only what fits under the program's daily cap (0 = no cap).

    `issued_estimate` is the day's counter read without its lock. When it leaves room for
    `points`, the addition joins `writes`, with that condition; if concurrent sales took the
    room meanwhile, the whole sale runs again (TryAgain) and, seeing the counter near the cap,
    takes the locked path below, which adds to the counter now. The writes waiting then (the
    campaigns' budgets) go first: every sale locks the campaign rows before the day's counter.
    """
    cap = rules_for(program).daily_program_cap_points
    if cap <= 0 or points <= 0:
        return points
    params = {"b_program": program.id, "b_day": local_day(program, now), "b_points": points}
    if issued_estimate is not None and within_daily_cap(points, cap, issued_estimate) == points:
        writes.add(Step(ADD_TO_DAILY_ISSUANCE_IF_ROOM, {**params, "b_cap": cap}),
                   expect_rows=1, error=TryAgain)
        return points
    writes.send()
    return _count_program_issuance(params, cap)


def _count_program_issuance(params: dict[str, Any], cap: int) -> int:
    """Add to the day's counter under its row lock; grant only what fits under the cap."""
    total = db.session.execute(ADD_TO_DAILY_ISSUANCE, params).scalar()
    if total is None:
        db.session.execute(insert_or_ignore()(_issuance).values(
            program_id=params["b_program"], day=params["b_day"], points=0)
            .on_conflict_do_nothing())
        total = db.session.execute(ADD_TO_DAILY_ISSUANCE, params).scalar_one()
    points = params["b_points"]
    granted = within_daily_cap(points, cap, total - points)
    if granted < points:
        db.session.execute(TAKE_FROM_DAILY_ISSUANCE, {**params, "b_points": points - granted})
    return granted


_issuance = DailyIssuance.__table__
_today = (_issuance.c.program_id == bindparam("b_program")) & (_issuance.c.day == bindparam("b_day"))
ADD_TO_DAILY_ISSUANCE = (
    update(_issuance).where(_today)
    .values(points=_issuance.c.points + bindparam("b_points")).returning(_issuance.c.points))
ADD_TO_DAILY_ISSUANCE_IF_ROOM = (
    update(_issuance).where(_today, _issuance.c.points + bindparam("b_points") <= bindparam("b_cap"))
    .values(points=_issuance.c.points + bindparam("b_points")).returning(_issuance.c.points))
TAKE_FROM_DAILY_ISSUANCE = (
    update(_issuance).where(_today).values(points=_issuance.c.points - bindparam("b_points")))
