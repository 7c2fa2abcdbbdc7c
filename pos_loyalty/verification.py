"""`pos-loyalty verify`: every account's cached balances against its entries and its lots.

The ledger keeps three records of one balance: the cached columns on the account, the sum of
its entries, and the sum of its lots' remainders. They must agree, always.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from pos_loyalty.db import db
from pos_loyalty.models import Account, Campaign, LedgerEntry, PointLot


# --- verification --------------------------------------------------------------------------

@dataclass(frozen=True)
class Mismatch:
    account_id: int
    what: str
    cached: int
    computed: int


def verify_accounts(program_id: int | None = None) -> list[Mismatch]:
    """Every account's cached balances against its entries and its lots."""
    entry_sums = select(
        LedgerEntry.account_id,
        func.coalesce(func.sum(LedgerEntry.points), 0).label("available"),
        func.coalesce(func.sum(LedgerEntry.pending_delta), 0).label("pending"),
    ).group_by(LedgerEntry.account_id).subquery()
    lot_sums = select(
        PointLot.account_id,
        func.coalesce(func.sum(case((PointLot.released.is_(True), PointLot.remaining),
                                    else_=0)), 0).label("released"),
        func.coalesce(func.sum(case((PointLot.released.is_(False), PointLot.remaining),
                                    else_=0)), 0).label("pending"),
    ).group_by(PointLot.account_id).subquery()
    query = (
        select(Account.id, Account.available_points, Account.pending_points,
               func.coalesce(entry_sums.c.available, 0), func.coalesce(entry_sums.c.pending, 0),
               func.coalesce(lot_sums.c.released, 0), func.coalesce(lot_sums.c.pending, 0))
        .outerjoin(entry_sums, entry_sums.c.account_id == Account.id)
        .outerjoin(lot_sums, lot_sums.c.account_id == Account.id)
        .order_by(Account.id))
    if program_id is not None:
        query = query.where(Account.program_id == program_id)
    found: list[Mismatch] = []
    for (account_id, available, pending, entries_available, entries_pending,
         lots_released, lots_pending) in db.session.execute(query):
        checks = [("available vs entries", available, int(entries_available)),
                  ("pending vs entries", pending, int(entries_pending)),
                  ("available vs lots", max(available, 0), int(lots_released)),
                  ("pending vs lots", pending, int(lots_pending))]
        found += [Mismatch(account_id, what, cached, computed)
                  for what, cached, computed in checks if cached != computed]
    return found


def verify_campaign_budgets(program_id: int | None = None) -> list[Mismatch]:
    """Every campaign with a budget: its counter against the points its entries gave (the
    counter is charged in the sale's transaction, so they move together). `account_id`
    holds the campaign's id here."""
    given = (select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0))
             .where(LedgerEntry.campaign_id == Campaign.id).scalar_subquery())
    query = select(Campaign.id, Campaign.points_given, given).where(Campaign.budget_points > 0)
    if program_id is not None:
        query = query.where(Campaign.program_id == program_id)
    return [Mismatch(campaign_id, "campaign budget counter vs its entries", counter, int(total))
            for campaign_id, counter, total in db.session.execute(query.order_by(Campaign.id))
            if counter != int(total)]
