"""Point lots as spends see them: which lots a spend draws from, and in what order.

Spends take released lots oldest expiry first (lots that never expire last; a return's own
sale first when it gives points back to it). This module reads lots, plans draws and
give-backs, and builds the statements that change lots; `pos_loyalty.ledger`, the only code
that changes balances, runs them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, bindparam, case, func, insert, select, update

from pos_loyalty.db import db
from pos_loyalty.models import LotDraw, LotGiveBack, PointLot
from pos_loyalty.statements import Step

lot_table = PointLot.__table__
draw_table = LotDraw.__table__
give_back_table = LotGiveBack.__table__
# Lots read at a time when drawing points; a spend rarely needs more than a few.
LOTS_PER_READ = 32
OLDEST_FIRST = (lot_table.c.expires_at.is_(None), lot_table.c.expires_at, lot_table.c.id)


def spendable_lots_of(account_id: ColumnElement[int], limit: int = LOTS_PER_READ) -> Select:
    """Released lots with points left, in the order spends take them (at most `limit`)."""
    return (select(lot_table.c.id, lot_table.c.remaining)
            .where(lot_table.c.account_id == account_id, lot_table.c.released.is_(True),
                   lot_table.c.remaining > 0)
            .order_by(*OLDEST_FIRST).limit(limit))


SPENDABLE_LOTS = spendable_lots_of(bindparam("account_id"))
SPENDABLE_LOTS_SALE_FIRST = (
    spendable_lots_of(bindparam("account_id")).order_by(None)
    .order_by(case((lot_table.c.sale_id == bindparam("sale_id"), 0), else_=1), *OLDEST_FIRST))
TAKE_FROM_LOT = (update(lot_table).where(lot_table.c.id == bindparam("lot"))
                 .values(remaining=lot_table.c.remaining - bindparam("taken")))
GIVE_TO_LOT = (update(lot_table).where(lot_table.c.id == bindparam("lot"))
               .values(remaining=lot_table.c.remaining + bindparam("given")))
RELEASE_LOT = (update(lot_table).where(lot_table.c.id == bindparam("lot"))
               .values(released=True, remaining=bindparam("spendable"),
                       released_at=bindparam("released_at")))
INSERT_DRAWS = insert(draw_table)
INSERT_GIVE_BACKS = insert(give_back_table)
RESTORE_DRAW = (update(draw_table).where(draw_table.c.id == bindparam("draw"))
                .values(restored=draw_table.c.restored + bindparam("given")))


def spendable_lots(account_id: int, prefer_sale_id: int | None = None,
                   skip: Sequence[int] = ()) -> list[tuple[int, int]]:
    """Up to LOTS_PER_READ (id, remaining) of released lots, in the order spends take them."""
    query = SPENDABLE_LOTS if prefer_sale_id is None else SPENDABLE_LOTS_SALE_FIRST
    if skip:
        query = query.where(lot_table.c.id.notin_(skip))
    return [(lot_id, remaining) for lot_id, remaining in db.session.execute(
        query, {"account_id": account_id, "sale_id": prefer_sale_id})]


def plan_draws(account_id: int, lots: Sequence[tuple[int, int]], points: int,
               prefer_sale_id: int | None) -> list[tuple[int, int]]:
    """(lot id, points taken) from `lots` in their order, reading more lots if they fall short."""
    need, taken_from, lots_read = points, [], list(lots)
    while need:
        if not lots_read:
            raise AssertionError(f"account {account_id}: lots short by {need} points")
        for lot_id, remaining in lots_read:
            taken = min(need, remaining)
            taken_from.append((lot_id, taken))
            need -= taken
            if need == 0:
                break
        if need:
            lots_read = spendable_lots(account_id, prefer_sale_id,
                                       skip=[lot_id for lot_id, _ in taken_from])
    return taken_from


def draw_steps(entry_id: int, taken_from: Sequence[tuple[int, int]]) -> list[Step]:
    """Take the planned points from their lots and record each draw against the entry.

    Each lot appears once in a plan: parts of one statement must not change one row twice.
    """
    return [Step(TAKE_FROM_LOT, [{"lot": lot_id, "taken": taken}
                                 for lot_id, taken in taken_from]),
            Step(INSERT_DRAWS, [{"entry_id": entry_id, "lot_id": lot_id, "points": taken,
                                 "restored": 0} for lot_id, taken in taken_from])]


def plan_give_back(account_id: int, spent_entry_ids: Iterable[int],
                   points: int) -> list[tuple[int, int, int]]:
    """(draw id, lot id, points given) returning `points` to the lots the entries drew from,
    longest-lived lots first, so the customer keeps the latest expiry."""
    draws = db.session.execute(
        select(draw_table.c.id, draw_table.c.lot_id,
               draw_table.c.points - draw_table.c.restored)
        .join(lot_table, lot_table.c.id == draw_table.c.lot_id)
        .where(draw_table.c.entry_id.in_(list(spent_entry_ids)),
               draw_table.c.restored < draw_table.c.points)
        .order_by(lot_table.c.expires_at.is_(None).desc(), lot_table.c.expires_at.desc(),
                  draw_table.c.id)).all()
    plan, need = [], points
    for draw_id, lot_id, restorable in draws:
        if need == 0:
            break
        given = min(need, restorable)
        plan.append((draw_id, lot_id, given))
        need -= given
    if need:
        raise AssertionError(f"account {account_id}: gave back {need} points never drawn")
    return plan


def give_back_steps(entry_id: int, plan: Sequence[tuple[int, int, int]]) -> list[Step]:
    """Refill the lots, mark the draws restored and record what each lot got back against
    the entry (its date dates the give-back: the liability as of a past day reads it); a lot
    drawn by several entries is refilled once, with the sum (one row changed once per
    statement)."""
    by_lot: dict[int, int] = {}
    for _, lot_id, given in plan:
        by_lot[lot_id] = by_lot.get(lot_id, 0) + given
    return [Step(GIVE_TO_LOT, [{"lot": lot_id, "given": given}
                               for lot_id, given in by_lot.items()]),
            Step(RESTORE_DRAW, [{"draw": draw_id, "given": given}
                                for draw_id, _, given in plan]),
            Step(INSERT_GIVE_BACKS, [{"entry_id": entry_id, "lot_id": lot_id, "points": given}
                                     for lot_id, given in by_lot.items()])]


def expiring_lots(program_id: int, now: dt.datetime) -> Select:
    """The owners of released lots with points left whose expiry has come by `now` (read
    through ix_point_lot_expiring)."""
    return select(PointLot.account_id).where(
        PointLot.program_id == program_id, PointLot.released.is_(True), PointLot.remaining > 0,
        PointLot.expires_at <= now)


def pending_lots_due(program_id: int, now: dt.datetime) -> Select:
    """The owners of pending lots whose return window is over by `now` (read through
    ix_point_lot_pending)."""
    return select(PointLot.account_id).where(
        PointLot.program_id == program_id, PointLot.released.is_(False),
        PointLot.available_at <= now)


def accounts_with_expiring_lots(program_id: int, now: dt.datetime, after: int = 0,
                                limit: int | None = None) -> Sequence[int]:
    """Accounts holding released points whose lot has expired by `now`: the first `limit`
    with an id above `after`, in id order."""
    return owners(expiring_lots(program_id, now), after, limit)


def accounts_with_pending_due(program_id: int, now: dt.datetime, after: int = 0,
                              limit: int | None = None) -> Sequence[int]:
    """Accounts holding pending lots whose return window is over by `now`: the first `limit`
    with an id above `after`, in id order."""
    return owners(pending_lots_due(program_id, now), after, limit)


def owners(lots: Select, after: int = 0, limit: int | None = None) -> Sequence[int]:
    """The accounts owning `lots` (a select of PointLot.account_id), in id order from `after`."""
    query = (lots.where(PointLot.account_id > after).group_by(PointLot.account_id)
             .order_by(PointLot.account_id).limit(limit))
    return db.session.scalars(query).all()


def count_owners(lots: Select) -> int:
    """How many accounts own `lots` (a select of PointLot.account_id)."""
    return int(db.session.scalar(select(func.count()).select_from(
        lots.group_by(PointLot.account_id).subquery())))
