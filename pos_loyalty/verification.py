"""`pos-loyalty verify`: every account's cached balances against its entries and its lots.

The ledger keeps three records of one balance: the cached columns on the account, the sum of
its entries, and the sum of its lots' remainders. They must agree, always.

Accounts are read in chunks, by ranges of account ids, so memory holds one chunk's sums
whatever the number of accounts; each chunk is one statement, so an account's cached balance
and its sums come from one snapshot even while sales go on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select

from pos_loyalty.db import db
from pos_loyalty.models import Account, Campaign, LedgerEntry, PointLot

# Accounts read per statement: the chunk's entry and lot sums are read through the
# (account_id, ...) indexes, a few hundred thousand rows at a time on a busy program.
ACCOUNTS_PER_CHUNK = 10_000


# --- verification --------------------------------------------------------------------------

@dataclass(frozen=True)
class Mismatch:
    account_id: int
    what: str
    cached: int
    computed: int


def count_accounts(program_id: int | None = None) -> int:
    """How many accounts verify_accounts checks (the length of its progress)."""
    query = select(func.count()).select_from(Account)
    if program_id is not None:
        query = query.where(Account.program_id == program_id)
    return int(db.session.scalar(query))


def verify_accounts(program_id: int | None = None, *,
                    accounts_per_chunk: int = ACCOUNTS_PER_CHUNK,
                    progress: Callable[[int], None] | None = None) -> list[Mismatch]:
    """Every account's cached balances against its entries and its lots; `progress` is told
    how many accounts each chunk checked."""
    found: list[Mismatch] = []
    after = 0
    while True:
        last = _chunk_end(program_id, after, accounts_per_chunk)
        if last is None:
            return found
        checked = 0
        for (account_id, available, pending, entries_available, entries_pending,
             lots_released, lots_pending) in db.session.execute(
                _chunk_sums(program_id, after, last)):
            checks = [("available vs entries", available, int(entries_available)),
                      ("pending vs entries", pending, int(entries_pending)),
                      ("available vs lots", max(available, 0), int(lots_released)),
                      ("pending vs lots", pending, int(lots_pending))]
            found += [Mismatch(account_id, what, cached, computed)
                      for what, cached, computed in checks if cached != computed]
            checked += 1
        if progress is not None:
            progress(checked)
        after = last


def _chunk_end(program_id: int | None, after: int, size: int) -> int | None:
    """The highest id of the next `size` accounts after id `after` (None: no account left)."""
    ids = select(Account.id).where(Account.id > after).order_by(Account.id).limit(size)
    if program_id is not None:
        ids = ids.where(Account.program_id == program_id)
    return db.session.scalar(select(func.max(ids.subquery().c.id)))


def _chunk_sums(program_id: int | None, after: int, last: int) -> Select:
    """Accounts with ids in (after, last], each with its entry and lot sums, in one statement.
    The sums are bounded by the same id range, so the account_id indexes serve them."""
    entry_sums = (
        select(LedgerEntry.account_id,
               func.coalesce(func.sum(LedgerEntry.points), 0).label("available"),
               func.coalesce(func.sum(LedgerEntry.pending_delta), 0).label("pending"))
        .where(LedgerEntry.account_id > after, LedgerEntry.account_id <= last)
        .group_by(LedgerEntry.account_id).subquery())
    lot_sums = (
        select(PointLot.account_id,
               func.coalesce(func.sum(case((PointLot.released.is_(True), PointLot.remaining),
                                           else_=0)), 0).label("released"),
               func.coalesce(func.sum(case((PointLot.released.is_(False), PointLot.remaining),
                                           else_=0)), 0).label("pending"))
        .where(PointLot.account_id > after, PointLot.account_id <= last)
        .group_by(PointLot.account_id).subquery())
    query = (
        select(Account.id, Account.available_points, Account.pending_points,
               func.coalesce(entry_sums.c.available, 0), func.coalesce(entry_sums.c.pending, 0),
               func.coalesce(lot_sums.c.released, 0), func.coalesce(lot_sums.c.pending, 0))
        .outerjoin(entry_sums, entry_sums.c.account_id == Account.id)
        .outerjoin(lot_sums, lot_sums.c.account_id == Account.id)
        .where(Account.id > after, Account.id <= last)
        .order_by(Account.id))
    if program_id is not None:
        query = query.where(Account.program_id == program_id)
    return query


def verify_campaign_budgets(program_id: int | None = None) -> list[Mismatch]:
    """Every campaign with a budget: its counter against the points its entries gave (the
    counter is charged in the sale's transaction, so they move together). `account_id`
    holds the campaign's id here.

    Only "campaign" entries name a campaign (`ledger.settle_sale`): summed in one pass
    through their partial index rather than one scan of the ledger per campaign."""
    given = (select(LedgerEntry.campaign_id,
                    func.sum(LedgerEntry.points + LedgerEntry.pending_delta).label("points"))
             .where(LedgerEntry.kind == "campaign").group_by(LedgerEntry.campaign_id)
             .subquery())
    query = (select(Campaign.id, Campaign.points_given, func.coalesce(given.c.points, 0))
             .outerjoin(given, given.c.campaign_id == Campaign.id)
             .where(Campaign.budget_points > 0))
    if program_id is not None:
        query = query.where(Campaign.program_id == program_id)
    return [Mismatch(campaign_id, "campaign budget counter vs its entries", counter, int(total))
            for campaign_id, counter, total in db.session.execute(query.order_by(Campaign.id))
            if counter != int(total)]
