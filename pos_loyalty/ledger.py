"""The only code that changes points balances.

Each function changes one account inside the caller's transaction (the caller commits) and
writes the ledger entry with the balances after it. Balances move with single conditional
UPDATE statements, so no read-then-write race exists on either engine: a spend is
`available = available - p WHERE available >= p`, and zero rows means not enough points. The
account row is always the first row a change locks, so two changes never deadlock.

Lots follow the balance: the sum of released lots' `remaining` equals max(available, 0). When
a take-back drives the balance below zero, later credits first pay that debt. Which lots a
spend draws from is planned by `pos_loyalty.lots`; the draws are written here.

Every change writes the same way: one balance UPDATE (`_balance_update`), entry rows
(`_entry_row`), lot rows (`_new_lot`) and the lot statements of `pos_loyalty.lots`. Most
changes run them at once and take the balance after from the UPDATE's RETURNING. A sale
(`settle_sale`) knows it already, from the balance its first read took under the account's
lock, so its rows join the sale's writes and go out together.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Update, bindparam, insert, select, update

from pos_loyalty.db import TryAgain, db
from pos_loyalty.errors import AccountBlocked, InsufficientPoints
from pos_loyalty.lots import (
    INSERT_DRAWS, RELEASE_LOT, draw_steps, give_back_steps, plan_draws, plan_give_back,
    spendable_lots,
)
from pos_loyalty.models import Account, LedgerEntry, PointLot
from pos_loyalty.models.ledger import BONUS_ENTRY_KINDS
from pos_loyalty.rules import Balance
from pos_loyalty.statements import Step, Writes, insert_many, run_together, update_many
from pos_loyalty.wallet.updates import queue_wallet_update

account_table = Account.__table__
entry_table = LedgerEntry.__table__
lot_table = PointLot.__table__

# Built once: building a statement costs more than running it.
INSERT_ENTRY = insert(entry_table)
INSERT_ENTRY_RETURNING_ID = insert(entry_table).returning(entry_table.c.id)
INSERT_LOT = insert(lot_table)


# Credits that count in `lifetime_earned`: what sales and campaigns gave, and every bonus.
EARNING_KINDS = ("earn", "campaign", *BONUS_ENTRY_KINDS)


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


@dataclass(frozen=True)
class Entry:
    """A ledger entry just written: its id and the balances after it."""
    id: int
    available_after: int
    pending_after: int


# --- how every change writes ---------------------------------------------------------------

def _balance_update(*, at_least: bool = False, active: bool = False,
                    unchanged: bool = False) -> Update:
    """The balance UPDATE, RETURNING the balances after it; built once per shape.

    Only if the account holds `:at_least` available points (a spend), only if it is active,
    only if it still holds `:was_available` and `:was_pending` (a sale: it read them under the
    account's lock, so anything else means a change slipped past the lock, and it reruns).
    """
    key = (at_least, active, unchanged)
    if key not in _BALANCE_UPDATES:
        c = account_table.c
        statement = (update(account_table).where(c.id == bindparam("account_id"))
                     .values(available_points=c.available_points + bindparam("available"),
                             pending_points=c.pending_points + bindparam("pending"),
                             lifetime_earned=c.lifetime_earned + bindparam("earned"),
                             lifetime_redeemed=c.lifetime_redeemed + bindparam("redeemed"))
                     .returning(c.available_points, c.pending_points))
        if at_least:
            statement = statement.where(c.available_points >= bindparam("at_least"))
        if active:
            statement = statement.where(c.status == "active")
        if unchanged:
            statement = statement.where(c.available_points == bindparam("was_available"),
                                        c.pending_points == bindparam("was_pending"))
        _BALANCE_UPDATES[key] = statement
    return _BALANCE_UPDATES[key]


_BALANCE_UPDATES: dict[tuple[bool, bool, bool], Update] = {}


def _change_balance(account_id: int, available: int = 0, pending: int = 0,
                    earned: int = 0, redeemed: int = 0, *, require_available: int | None = None,
                    require_active: bool = False,
                    ctx: EntryContext | None = None) -> Balance | None:
    """The balance UPDATE, run now; None when a condition (enough points, active) failed.

    With `ctx`, a change of the available points of an account whose card is in a wallet
    queues the update of its passes (`wallet.updates`): every path that changes a balance
    comes through here, but the checkout's, which does the same (`sales`).
    """
    statement = _balance_update_telling_wallets(require_available is not None, require_active)
    row = db.session.execute(statement, {
        "account_id": account_id, "available": available, "pending": pending,
        "earned": earned, "redeemed": redeemed, "at_least": require_available}).first()
    if row is None:
        return None
    if ctx is not None and available != 0 and row[2] > 0:
        queue_wallet_update(ctx.program_id, account_id, ctx.now)
    return Balance(row[0], row[1])


def _balance_update_telling_wallets(at_least: bool, active: bool) -> Update:
    key = ("wallets", at_least, active)
    if key not in _WALLET_AWARE_UPDATES:
        _WALLET_AWARE_UPDATES[key] = _balance_update(at_least=at_least, active=active) \
            .returning(account_table.c.wallet_passes)
    return _WALLET_AWARE_UPDATES[key]


_WALLET_AWARE_UPDATES: dict[tuple[str, bool, bool], Update] = {}


def _entry_row(ctx: EntryContext, account_id: int, kind: str, points: int, pending_delta: int,
               after: Balance, campaign_id: int | None = None) -> dict[str, Any]:
    return {"program_id": ctx.program_id, "account_id": account_id, "kind": kind,
            "points": points, "pending_delta": pending_delta,
            "available_after": after.available, "pending_after": after.pending,
            "sale_id": ctx.sale_id, "hold_id": ctx.hold_id, "store_id": ctx.store_id,
            "terminal_id": ctx.terminal_id, "staff_id": ctx.staff_id, "actor": ctx.actor,
            "reason": ctx.reason, "created_at": ctx.now, "campaign_id": campaign_id}


def _write_entry(ctx: EntryContext, account_id: int, kind: str, points: int,
                 pending_delta: int, after: Balance) -> Entry:
    """One entry, written now; the database gives its id."""
    entry_id = db.session.execute(INSERT_ENTRY_RETURNING_ID, _entry_row(
        ctx, account_id, kind, points, pending_delta, after)).scalar_one()
    return Entry(entry_id, after.available, after.pending)


def _new_lot(ctx: EntryContext, account_id: int, entry_id: int, points: int, after: Balance, *,
             pending: bool, available_at: dt.datetime, expires_at: dt.datetime | None) -> Step:
    """The lot of a credit. A pending lot keeps all its points; a released one what is left
    once the credit paid any debt below zero."""
    remaining = points if pending else _lots_share(after.available - points, after.available)
    return Step(INSERT_LOT, {
        "program_id": ctx.program_id, "account_id": account_id, "entry_id": entry_id,
        "sale_id": ctx.sale_id, "points": points, "remaining": remaining,
        "released": not pending, "available_at": available_at, "expires_at": expires_at,
        "created_at": ctx.now, "expiry_warned_at": None})


def _lots_share(before: int, after: int) -> int:
    """How many points of a balance move reach the lots (debt below zero has no lots)."""
    return max(after, 0) - max(before, 0)


def _draw_lots(account_id: int, entry_id: int, points: int, prefer_sale_id: int | None) -> None:
    """Take `points` from released lots now: the preferred sale's lot, then oldest expiry
    first."""
    if points <= 0:
        return
    first = spendable_lots(account_id, prefer_sale_id)
    run_together(draw_steps(entry_id, plan_draws(account_id, first, points, prefer_sale_id)))


# --- credits -------------------------------------------------------------------------------

def credit(ctx: EntryContext, account_id: int, points: int, kind: str, *,
           available_at: dt.datetime, expires_at: dt.datetime | None) -> Entry:
    """Add earned or granted points as a new lot, pending until `available_at`."""
    if points <= 0:
        raise ValueError("credit needs a positive number of points")
    earned = points if kind in EARNING_KINDS else 0
    pending = points if available_at > ctx.now else 0
    after = _change_balance(account_id, available=points - pending, pending=pending,
                            earned=earned, ctx=ctx)
    entry = _write_entry(ctx, account_id, kind, points - pending, pending, after)
    run_together([_new_lot(ctx, account_id, entry.id, points, after, pending=pending > 0,
                           available_at=available_at, expires_at=expires_at)])
    return entry


def settle_sale(ctx: EntryContext, account_id: int, before: Balance, *, redeem: int, earn: int,
                available_at: dt.datetime, expires_at: dt.datetime | None,
                entry_ids: Sequence[int], lots: Sequence[tuple[int, int]],
                writes: Writes, campaign_points: Sequence[tuple[int, int]] = ()) -> Balance:
    """Spend `redeem` and earn `earn` for one sale; the new balance. Its rows join `writes`.

    Of `earn`, the `campaign_points` ((campaign id, points) pairs) are entries of their own,
    kind "campaign", each naming its campaign; the rest is the "earn" entry. All of it is one
    lot: it is released, spent, taken back by returns and expires as the sale's points.

    The hot path of every checkout. The caller holds the account's row lock and read `before`
    and the spendable `lots` under it, so the new balance is known without asking the server.
    The rows (the balance UPDATE guarded by the balance read, both entries with the
    `entry_ids` allocated for them, the lot draws, the new lot) need nothing back, so they
    go out with the sale's other writes; if the guard finds another balance, the sale's
    transaction fails and runs again (TryAgain).
    """
    if redeem > 0 and redeem > before.available:
        raise InsufficientPoints()
    pending = earn if available_at > ctx.now else 0
    earned_now = earn - pending
    after = Balance(before.available + earned_now - redeem, before.pending + pending)
    writes.add(Step(_balance_update(active=True, unchanged=True), {
        "account_id": account_id, "available": earned_now - redeem, "pending": pending,
        "earned": earn, "redeemed": redeem, "was_available": before.available,
        "was_pending": before.pending}), expect_rows=1, error=TryAgain)
    rows, ids = [], iter(entry_ids)
    running = Balance(before.available - redeem, before.pending)
    if redeem:
        redeem_id = next(ids)
        rows.append({"id": redeem_id, **_entry_row(ctx, account_id, "redeem", -redeem, 0,
                                                   running)})
    credits = [(kind, points, campaign_id) for kind, points, campaign_id in
               [("earn", earn - sum(p for _, p in campaign_points), None),
                *(("campaign", p, c) for c, p in campaign_points)] if points > 0]
    later = []   # entries past the ids taken ahead: the database numbers them
    for kind, points, campaign_id in credits:
        held_back = points if pending else 0
        running = Balance(running.available + points - held_back, running.pending + held_back)
        row = _entry_row(ctx, account_id, kind, points - held_back, held_back, running,
                         campaign_id)
        if len(rows) < len(entry_ids):
            rows.append({"id": next(ids), **row})
        else:
            later.append(row)
    earn_id = rows[1 if redeem else 0]["id"] if credits else None  # the lot's: first credit
    writes.add(Step(INSERT_ENTRY, rows))
    if later:
        writes.add(Step(INSERT_ENTRY, later))
    if redeem:
        writes.add_all(draw_steps(redeem_id, plan_draws(account_id, lots, redeem,
                                                        prefer_sale_id=None)))
    if earn:
        writes.add(_new_lot(ctx, account_id, earn_id, earn, after, pending=pending > 0,
                            available_at=available_at, expires_at=expires_at))
    return after


def release_pending(ctx: EntryContext, account_id: int) -> int:
    """Make lots whose return window has passed spendable; returns the points released."""
    lock_account(account_id)
    due = db.session.execute(
        select(lot_table.c.id, lot_table.c.remaining)
        .where(lot_table.c.account_id == account_id, lot_table.c.released.is_(False),
               lot_table.c.available_at <= ctx.now)
        .order_by(lot_table.c.id)).all()
    released, debt_paid, total = [], [], 0
    for lot_id, moving in due:
        if moving == 0:
            released.append({"lot": lot_id, "spendable": 0, "released_at": ctx.now})
            continue
        after = _change_balance(account_id, available=moving, pending=-moving, ctx=ctx)
        entry = _write_entry(ctx, account_id, "release", moving, -moving, after)
        spendable = _lots_share(after.available - moving, after.available)
        released.append({"lot": lot_id, "spendable": spendable, "released_at": ctx.now})
        if spendable < moving:
            # What paid a debt below zero leaves the lot as a draw of the release, so that
            # the lot's past content can be worked out (analytics.liability).
            debt_paid.append({"entry_id": entry.id, "lot_id": lot_id,
                              "points": moving - spendable, "restored": 0})
        total += moving
    run_together([Step(RELEASE_LOT, released)]
                 + ([Step(INSERT_DRAWS, debt_paid)] if debt_paid else []))
    return total


def open_balances(ctx: EntryContext, balances: Sequence[tuple[int, int]], *,
                  expires_at: dt.datetime | None) -> int:
    """Opening balances brought from another system: each (account id, points) of an account
    that holds nothing yet gets one "import" entry and one lot, available at once; returns
    the points credited.

    An import opens thousands of accounts a transaction, so the rows of all of them go out
    as three bulk statements (`statements.insert_many`) instead of three statements each
    (`credit`). Not earned here: nothing counts in `lifetime_earned`.
    """
    if not balances:
        return 0
    if any(points <= 0 for _, points in balances):
        raise ValueError("an opening balance needs a positive number of points")
    c = account_table.c
    opened = update_many(account_table, "id", [
        {"id": account_id, "available_points": points} for account_id, points in balances],
        guards=[c.available_points == 0, c.pending_points == 0])
    if opened != len(balances):
        raise ValueError("opening balances go only to accounts that hold no points yet")
    entries = dict(insert_many(entry_table, [
        _entry_row(ctx, account_id, "import", points, 0, Balance(points, 0))
        for account_id, points in balances],
        returning=[entry_table.c.account_id, entry_table.c.id]))
    insert_many(lot_table, [
        _new_lot(ctx, account_id, entries[account_id], points, Balance(points, 0),
                 pending=False, available_at=ctx.now, expires_at=expires_at).params
        for account_id, points in balances])
    return sum(points for _, points in balances)


# --- debits --------------------------------------------------------------------------------

def _raise_refused_spend(account_id: int) -> None:
    status = db.session.scalar(select(Account.status).where(Account.id == account_id))
    if status != "active":
        raise AccountBlocked()
    raise InsufficientPoints()


def spend(ctx: EntryContext, account_id: int, points: int, kind: str,
          redeemed: bool = True) -> Entry:
    """Take available points from an active account, oldest-expiring lots first.

    Raises InsufficientPoints or AccountBlocked; nothing is written then.
    """
    if points <= 0:
        raise ValueError("spend needs a positive number of points")
    after = _change_balance(account_id, available=-points, redeemed=points if redeemed else 0,
                            require_available=points, require_active=True, ctx=ctx)
    if after is None:
        _raise_refused_spend(account_id)
    entry = _write_entry(ctx, account_id, kind, -points, 0, after)
    _draw_lots(account_id, entry.id, points, prefer_sale_id=None)
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
    from_pending = min(points, own_pending[1]) if own_pending else 0
    from_available = points - from_pending
    after = _change_balance(account_id, available=-from_available, pending=-from_pending,
                            earned=-points, ctx=ctx)
    if after.available < 0 and from_available > 0 and not allow_negative:
        forgiven = min(from_available, -after.available)
        after = _change_balance(account_id, available=forgiven, earned=forgiven, ctx=ctx)
        from_available -= forgiven
    taken = from_pending + from_available
    if taken == 0:
        return 0
    entry = _write_entry(ctx, account_id, kind, -from_available, -from_pending, after)
    if from_pending:
        run_together(draw_steps(entry.id, [(own_pending[0], from_pending)]))
    before_available = after.available + from_available
    _draw_lots(account_id, entry.id, -_lots_share(before_available, after.available),
               prefer_sale_id=ctx.sale_id)
    if after.available < 0:
        db.session.execute(update(account_table).where(account_table.c.id == account_id)
                           .values(negative_flagged=True))
    return taken


def _own_pending_lot(account_id: int, sale_id: int | None) -> tuple[int, int] | None:
    """(id, remaining) of the sale's own lot while it is still pending with points left."""
    if sale_id is None:
        return None
    row = db.session.execute(select(lot_table.c.id, lot_table.c.remaining).where(
        lot_table.c.account_id == account_id, lot_table.c.sale_id == sale_id,
        lot_table.c.released.is_(False), lot_table.c.remaining > 0)).first()
    return (row[0], row[1]) if row else None


# --- give-backs ----------------------------------------------------------------------------

def give_back(ctx: EntryContext, account_id: int, points: int, kind: str,
              spent_entry_ids: Iterable[int]) -> Entry | None:
    """Return spent points to the lots they came from (a return, a void, a hold release).

    The longest-lived lots are refilled first, so the customer keeps the latest expiry.
    """
    if points <= 0:
        return None
    after = _change_balance(account_id, available=points, redeemed=-points, ctx=ctx)
    entry = _write_entry(ctx, account_id, kind, points, 0, after)
    into_lots = _lots_share(after.available - points, after.available)
    if into_lots:
        run_together(give_back_steps(entry.id, plan_give_back(account_id, spent_entry_ids,
                                                              into_lots)))
    return entry


# --- maintenance ---------------------------------------------------------------------------

def lock_account(account_id: int) -> Balance:
    """Take the account's row lock first, as every change does, before reading its lots."""
    return _change_balance(account_id)


def expire_lots(ctx: EntryContext, account_id: int) -> int:
    """Expire what is left of the account's lots whose time has come; returns the points."""
    lock_account(account_id)
    due = db.session.execute(
        select(lot_table.c.id, lot_table.c.remaining)
        .where(lot_table.c.account_id == account_id, lot_table.c.released.is_(True),
               lot_table.c.remaining > 0, lot_table.c.expires_at <= ctx.now)
        .order_by(lot_table.c.expires_at, lot_table.c.id)).all()
    total = 0
    for lot_id, points in due:
        after = _change_balance(account_id, available=-points, ctx=ctx)
        entry = _write_entry(ctx, account_id, "expire", -points, 0, after)
        run_together(draw_steps(entry.id, [(lot_id, points)]))
        total += points
    return total


def adjust(ctx: EntryContext, account_id: int, points: int, *,
           expires_at: dt.datetime | None) -> Entry:
    """A manager's correction: a credit as a new lot, or a withdrawal that may go below zero."""
    if points > 0:
        return credit(ctx, account_id, points, "adjust", available_at=ctx.now,
                      expires_at=expires_at)
    after = _change_balance(account_id, available=points, ctx=ctx)
    entry = _write_entry(ctx, account_id, "adjust", points, 0, after)
    _draw_lots(account_id, entry.id, -_lots_share(after.available - points, after.available),
               prefer_sale_id=None)
    return entry
