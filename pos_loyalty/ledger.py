"""The only code that changes points balances.

Each function changes one account inside the caller's transaction (it flushes, the caller
commits) and writes the ledger entry with the balances after it. Balances move with single
conditional UPDATE statements, so no read-then-write race exists on either engine: a spend is
`available = available - p WHERE available >= p`, and zero rows means not enough points. The
account row is always the first row a change locks, so two changes never deadlock.

Lots follow the balance: the sum of released lots' `remaining` equals max(available, 0). When
a take-back drives the balance below zero, later credits first pay that debt. Which lots a
spend draws from is planned by `pos_loyalty.lots`; the draws are written here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Update, bindparam, insert, select, update

from pos_loyalty.db import TryAgain, db
from pos_loyalty.errors import AccountBlocked, InsufficientPoints
from pos_loyalty.lots import draw_steps, plan_draws, spendable_lots
from pos_loyalty.models import Account, LedgerEntry, LotDraw, PointLot
from pos_loyalty.rules import Balance
from pos_loyalty.statements import Step, Writes

account_table = Account.__table__
entry_table = LedgerEntry.__table__
lot_table = PointLot.__table__

# Statements of the checkout path, built once: building one costs more than running it.
INSERT_ENTRY = insert(entry_table)
INSERT_LOT = insert(lot_table)


EARNING_KINDS = ("earn", "bonus")


@dataclass(frozen=True)
class EntryContext:
    """Who and what an entry is about: written on every entry."""
    program_id: int
    now: dt.datetime
    sale_id: int | None = None
    hold_id: int | None = None
    store_id: int | None = None
    terminal_id: int | None = None
    staff_id: int | None = None
    actor: str = ""
    reason: str = ""


def _write_entry(ctx: EntryContext, account_id: int, kind: str, points: int,
                 pending_delta: int, after: Balance) -> LedgerEntry:
    entry = LedgerEntry(
        program_id=ctx.program_id, account_id=account_id, kind=kind, points=points,
        pending_delta=pending_delta, available_after=after.available,
        pending_after=after.pending, sale_id=ctx.sale_id, hold_id=ctx.hold_id,
        store_id=ctx.store_id, terminal_id=ctx.terminal_id, staff_id=ctx.staff_id,
        actor=ctx.actor, reason=ctx.reason, created_at=ctx.now)
    db.session.add(entry)
    db.session.flush()
    return entry


_a = account_table.c
# The sale's balance UPDATE: it holds the account's lock, so the row must still hold the
# balance it read; anything else means a change slipped past the lock, and the sale reruns.
SETTLE_BALANCE = (
    update(account_table)
    .where(_a.id == bindparam("account_id"), _a.status == "active",
           _a.available_points == bindparam("was_available"),
           _a.pending_points == bindparam("was_pending"))
    .values(available_points=_a.available_points + bindparam("available"),
            pending_points=_a.pending_points + bindparam("pending"),
            lifetime_earned=_a.lifetime_earned + bindparam("earned"),
            lifetime_redeemed=_a.lifetime_redeemed + bindparam("redeemed"))
    .returning(_a.id))


def _balance_update(require_available: bool, require_active: bool) -> Update:
    """The balance UPDATE, built once per shape: every sale runs it."""
    key = (require_available, require_active)
    if key not in _BALANCE_UPDATES:
        c = account_table.c
        statement = (update(account_table).where(c.id == bindparam("account_id"))
                     .values(available_points=c.available_points + bindparam("available"),
                             pending_points=c.pending_points + bindparam("pending"),
                             lifetime_earned=c.lifetime_earned + bindparam("earned"),
                             lifetime_redeemed=c.lifetime_redeemed + bindparam("redeemed"))
                     .returning(c.available_points, c.pending_points))
        if require_available:
            statement = statement.where(c.available_points >= bindparam("at_least"))
        if require_active:
            statement = statement.where(c.status == "active")
        _BALANCE_UPDATES[key] = statement
    return _BALANCE_UPDATES[key]


_BALANCE_UPDATES: dict[tuple[bool, bool], Update] = {}


def _change_balance(account_id: int, available: int = 0, pending: int = 0,
                    earned: int = 0, redeemed: int = 0, *, require_available: int | None = None,
                    require_active: bool = False) -> Balance | None:
    """One UPDATE ... RETURNING; None when a condition (enough points, active) failed."""
    statement = _balance_update(require_available is not None, require_active)
    row = db.session.execute(statement, {
        "account_id": account_id, "available": available, "pending": pending,
        "earned": earned, "redeemed": redeemed, "at_least": require_available}).first()
    return Balance(row[0], row[1]) if row else None


def _lots_share(before: int, after: int) -> int:
    """How many points of a balance move reach the lots (debt below zero has no lots)."""
    return max(after, 0) - max(before, 0)


# --- credits -------------------------------------------------------------------------------

def credit(ctx: EntryContext, account_id: int, points: int, kind: str, *,
           available_at: dt.datetime, expires_at: dt.datetime | None) -> LedgerEntry:
    """Add earned or granted points as a new lot, pending until `available_at`."""
    if points <= 0:
        raise ValueError("credit needs a positive number of points")
    earned = points if kind in EARNING_KINDS else 0
    if available_at > ctx.now:
        after = _change_balance(account_id, pending=points, earned=earned)
        entry = _write_entry(ctx, account_id, kind, 0, points, after)
        _add_lot(ctx, account_id, entry, points, points, False, available_at, expires_at)
        return entry
    after = _change_balance(account_id, available=points, earned=earned)
    entry = _write_entry(ctx, account_id, kind, points, 0, after)
    into_lots = _lots_share(after.available - points, after.available)
    _add_lot(ctx, account_id, entry, points, into_lots, True, available_at, expires_at)
    return entry


def _add_lot(ctx: EntryContext, account_id: int, entry: LedgerEntry, points: int,
             remaining: int, released: bool, available_at: dt.datetime,
             expires_at: dt.datetime | None) -> None:
    db.session.add(PointLot(
        program_id=ctx.program_id, account_id=account_id, entry_id=entry.id,
        sale_id=ctx.sale_id, points=points, remaining=remaining, released=released,
        available_at=available_at, expires_at=expires_at, created_at=ctx.now))


def settle_sale(ctx: EntryContext, account_id: int, before: Balance, *, redeem: int, earn: int,
                available_at: dt.datetime, expires_at: dt.datetime | None,
                entry_ids: Sequence[int], lots: Sequence[tuple[int, int]],
                writes: Writes) -> Balance:
    """Spend `redeem` and earn `earn` for one sale; the new balance. Its rows join `writes`.

    The hot path of every checkout. The caller holds the account's row lock and read `before`
    and the spendable `lots` under it, so the new balance is known without asking the server.
    The writes (one balance UPDATE guarded by the balance read, both entries with the
    `entry_ids` allocated for them, the lot draws, the new lot) need nothing back, so they go
    out with the sale's other writes; if the guard finds another balance, nothing is
    committed and the sale runs again (TryAgain).
    """
    if redeem > 0 and redeem > before.available:
        raise InsufficientPoints()
    pending = earn if available_at > ctx.now else 0
    earned_now = earn - pending
    after = Balance(before.available + earned_now - redeem, before.pending + pending)
    writes.add(Step(SETTLE_BALANCE, {
        "account_id": account_id, "available": earned_now - redeem, "pending": pending,
        "earned": earn, "redeemed": redeem, "was_available": before.available,
        "was_pending": before.pending}), expect_rows=1, error=TryAgain)
    rows, ids = [], iter(entry_ids)
    if redeem:
        spent = Balance(after.available - earned_now, after.pending - pending)
        redeem_id = next(ids)
        rows.append({"id": redeem_id, **_entry_row(ctx, account_id, "redeem", -redeem, 0, spent)})
    if earn:
        earn_id = next(ids)
        rows.append({"id": earn_id, **_entry_row(ctx, account_id, "earn", earned_now, pending,
                                                  after)})
    writes.add(Step(INSERT_ENTRY, rows))
    if redeem:
        writes.add_all(draw_steps(redeem_id, plan_draws(account_id, lots, redeem,
                                                        prefer_sale_id=None)))
    if earn:
        into_lots = pending or _lots_share(after.available - earned_now, after.available)
        writes.add(Step(INSERT_LOT, {
            "program_id": ctx.program_id, "account_id": account_id, "entry_id": earn_id,
            "sale_id": ctx.sale_id, "points": earn, "remaining": into_lots,
            "released": not pending, "available_at": available_at, "expires_at": expires_at,
            "created_at": ctx.now, "expiry_warned_at": None}))
    return after


def _entry_row(ctx: EntryContext, account_id: int, kind: str, points: int, pending_delta: int,
               after: Balance) -> dict[str, object]:
    return {"program_id": ctx.program_id, "account_id": account_id, "kind": kind,
            "points": points, "pending_delta": pending_delta,
            "available_after": after.available, "pending_after": after.pending,
            "sale_id": ctx.sale_id, "hold_id": ctx.hold_id, "store_id": ctx.store_id,
            "terminal_id": ctx.terminal_id, "staff_id": ctx.staff_id, "actor": ctx.actor,
            "reason": ctx.reason, "created_at": ctx.now}


def _raise_refused_spend(account_id: int) -> None:
    status = db.session.scalar(select(Account.status).where(Account.id == account_id))
    if status != "active":
        raise AccountBlocked()
    raise InsufficientPoints()


def release_pending(ctx: EntryContext, account_id: int) -> int:
    """Make lots whose return window has passed spendable; returns the points released."""
    lock_account(account_id)
    lots = db.session.scalars(
        select(PointLot).where(PointLot.account_id == account_id,
                               PointLot.released.is_(False),
                               PointLot.available_at <= ctx.now)
        .order_by(PointLot.id).execution_options(populate_existing=True)).all()
    total = 0
    for lot in lots:
        lot.released = True
        moving = lot.remaining
        if moving == 0:
            continue
        after = _change_balance(account_id, available=moving, pending=-moving)
        lot.remaining = _lots_share(after.available - moving, after.available)
        _write_entry(ctx, account_id, "release", moving, -moving, after)
        total += moving
    db.session.flush()
    return total


# --- debits --------------------------------------------------------------------------------

def spend(ctx: EntryContext, account_id: int, points: int, kind: str,
          redeemed: bool = True) -> LedgerEntry:
    """Take available points from an active account, oldest-expiring lots first.

    Raises InsufficientPoints or AccountBlocked; nothing is written then.
    """
    if points <= 0:
        raise ValueError("spend needs a positive number of points")
    after = _change_balance(account_id, available=-points, redeemed=points if redeemed else 0,
                            require_available=points, require_active=True)
    if after is None:
        _raise_refused_spend(account_id)
    entry = _write_entry(ctx, account_id, kind, -points, 0, after)
    _draw_lots(account_id, entry, points, prefer_sale_id=None)
    return entry


def take_back(ctx: EntryContext, account_id: int, points: int, kind: str,
              allow_negative: bool) -> int:
    """Reverse earned points (a return or a void), from the sale's own lot first.

    Points still pending come off the pending balance. Without `allow_negative`, what the
    available balance cannot cover is forgiven. Returns the points actually taken back.
    """
    if points <= 0:
        return 0
    own_pending = _own_pending_lot(account_id, ctx.sale_id)
    from_pending = min(points, own_pending.remaining) if own_pending else 0
    from_available = points - from_pending
    after = _change_balance(account_id, available=-from_available, pending=-from_pending,
                            earned=-points)
    if after.available < 0 and from_available > 0 and not allow_negative:
        forgiven = min(from_available, -after.available)
        after = _change_balance(account_id, available=forgiven, earned=forgiven)
        from_available -= forgiven
    taken = from_pending + from_available
    if taken == 0:
        return 0
    if own_pending:
        own_pending.remaining -= from_pending
    entry = _write_entry(ctx, account_id, kind, -from_available, -from_pending, after)
    before_available = after.available + from_available
    _draw_lots(account_id, entry, -_lots_share(before_available, after.available),
               prefer_sale_id=ctx.sale_id)
    if after.available < 0:
        db.session.execute(update(account_table).where(account_table.c.id == account_id)
                           .values(negative_flagged=True))
    return taken


def _own_pending_lot(account_id: int, sale_id: int | None) -> PointLot | None:
    if sale_id is None:
        return None
    return db.session.scalar(select(PointLot).where(
        PointLot.account_id == account_id, PointLot.sale_id == sale_id,
        PointLot.released.is_(False), PointLot.remaining > 0)
        .execution_options(populate_existing=True))


def _draw_lots(account_id: int, entry: LedgerEntry | int, points: int,
               prefer_sale_id: int | None) -> None:
    """Take `points` from released lots: the preferred sale's lot, then oldest expiry first."""
    if points <= 0:
        return
    entry_id = entry if isinstance(entry, int) else entry.id
    first = spendable_lots(account_id, prefer_sale_id)
    for statement in draw_steps(entry_id, plan_draws(account_id, first, points, prefer_sale_id)):
        db.session.execute(statement.statement, statement.params)


# --- give-backs ----------------------------------------------------------------------------

def give_back(ctx: EntryContext, account_id: int, points: int, kind: str,
              spent_entry_ids: Iterable[int]) -> LedgerEntry | None:
    """Return spent points to the lots they came from (a return, a void, a hold release).

    The longest-lived lots are refilled first, so the customer keeps the latest expiry.
    """
    if points <= 0:
        return None
    after = _change_balance(account_id, available=points, redeemed=-points)
    entry = _write_entry(ctx, account_id, kind, points, 0, after)
    into_lots = _lots_share(after.available - points, after.available)
    draws = db.session.execute(
        select(LotDraw, PointLot).join(PointLot, PointLot.id == LotDraw.lot_id)
        .where(LotDraw.entry_id.in_(list(spent_entry_ids)), LotDraw.restored < LotDraw.points)
        .order_by(PointLot.expires_at.is_(None).desc(), PointLot.expires_at.desc(),
                  LotDraw.id).execution_options(populate_existing=True)).all()
    for draw, lot in draws:
        if into_lots == 0:
            break
        given = min(into_lots, draw.points - draw.restored)
        draw.restored += given
        lot.remaining += given
        into_lots -= given
    if into_lots:
        raise AssertionError(f"account {account_id}: gave back {into_lots} points never drawn")
    db.session.flush()
    return entry


# --- maintenance ---------------------------------------------------------------------------

def lock_account(account_id: int) -> Balance:
    """Take the account's row lock first, as every change does, before reading its lots."""
    return _change_balance(account_id)


def expire_lots(ctx: EntryContext, account_id: int) -> int:
    """Expire what is left of the account's lots whose time has come; returns the points."""
    lock_account(account_id)
    lots = db.session.scalars(
        select(PointLot).where(PointLot.account_id == account_id,
                               PointLot.released.is_(True), PointLot.remaining > 0,
                               PointLot.expires_at <= ctx.now)
        .order_by(PointLot.expires_at, PointLot.id)
        .execution_options(populate_existing=True)).all()
    total = 0
    for lot in lots:
        points = lot.remaining
        after = _change_balance(account_id, available=-points)
        entry = _write_entry(ctx, account_id, "expire", -points, 0, after)
        lot.remaining = 0
        db.session.add(LotDraw(entry_id=entry.id, lot_id=lot.id, points=points))
        total += points
    db.session.flush()
    return total


def adjust(ctx: EntryContext, account_id: int, points: int, *,
           expires_at: dt.datetime | None) -> LedgerEntry:
    """A manager's correction: a credit as a new lot, or a withdrawal that may go below zero."""
    if points > 0:
        return credit(ctx, account_id, points, "adjust", available_at=ctx.now,
                      expires_at=expires_at)
    after = _change_balance(account_id, available=points)
    entry = _write_entry(ctx, account_id, "adjust", points, 0, after)
    _draw_lots(account_id, entry, -_lots_share(after.available - points, after.available),
               prefer_sale_id=None)
    return entry
