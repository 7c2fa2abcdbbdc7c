"""What support sees of one customer: facts, balances, lots, tier, ledger, sales, SMS, phone
sessions, cards and the adjustments waiting for an admin.

Support sees the full phone and e-mail: finding and helping the person is their job. The
balance is the one every face shows (`balances`); the ledger is paged by entry id, newest first;
sales, SMS and sessions show the newest `limit` rows. An SMS's text is not shown: a one-time
code must not be read by anyone but the customer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pos_loyalty import adjustment_requests, balances, customer_data, tiers
from pos_loyalty.db import db
from pos_loyalty.errors import NotFound
from pos_loyalty.models import (
    Account, AdjustmentRequest, Campaign, Card, LedgerEntry, MobileSession, OutboxMessage,
    PointLot, Program, Sale, SaleReturn, Store,
)


def account_in_program(program: Program, account_id: int) -> Account:
    """The program's account with this id; any other id is not found (404)."""
    account = db.session.get(Account, account_id)
    if account is None or account.program_id != program.id:
        raise NotFound("No such customer.")
    return account


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntry
    label: str
    store_name: str | None


@dataclass(frozen=True)
class SaleLine:
    sale: Sale
    store_name: str
    returns: list[SaleReturn]


@dataclass(frozen=True)
class CustomerRecord:
    account: Account
    profile: dict[str, Any]
    available: int
    pending: int
    next_expiry: dict[str, Any] | None
    lots: list[PointLot]
    tier: dict[str, Any]
    ledger: list[LedgerLine]
    older_entries: int | None    # the cursor of the ledger's next page
    sales: list[SaleLine]
    messages: list[OutboxMessage]
    sessions: list[MobileSession]
    cards: list[Card]
    requests: list[AdjustmentRequest]

    @property
    def erased(self) -> bool:
        return self.account.status == "closed"


def customer_record(program: Program, account: Account, now: dt.datetime, language: str,
                    ledger_before: int | None, limit: int) -> CustomerRecord:
    balance = balances.balance_of(account, now)
    ledger = _ledger(program, account, language, ledger_before, limit + 1)
    return CustomerRecord(
        account=account, profile=customer_data.profile_view(program, account),
        available=balance.available, pending=balance.pending,
        next_expiry=balances.next_expiry(program, account, now),
        lots=_lots(account), tier=tiers.progress(program, account, now, language),
        ledger=ledger[:limit],
        older_entries=ledger[limit - 1].entry.id if len(ledger) > limit else None,
        sales=_sales(account, limit), messages=_newest(OutboxMessage, account, limit),
        sessions=_newest(MobileSession, account, limit), cards=_cards(account),
        requests=adjustment_requests.of_account(program, account))


def _lots(account: Account) -> list[PointLot]:
    """Lots with points left, those that expire first first (the order they are spent)."""
    return list(db.session.scalars(
        select(PointLot).where(PointLot.account_id == account.id, PointLot.remaining > 0)
        .order_by(PointLot.expires_at.is_(None), PointLot.expires_at, PointLot.id)))


def _ledger(program: Program, account: Account, language: str, before: int | None,
            limit: int) -> list[LedgerLine]:
    query = (select(LedgerEntry, Store.name, Campaign.name, Campaign.labels)
             .outerjoin(Store, Store.id == LedgerEntry.store_id)
             .outerjoin(Campaign, Campaign.id == LedgerEntry.campaign_id)
             .where(LedgerEntry.account_id == account.id,
                    LedgerEntry.program_id == program.id)
             .order_by(LedgerEntry.id.desc()).limit(limit))
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    return [LedgerLine(entry, customer_data.entry_label(entry.kind, language, campaign,
                                                        labels), store)
            for entry, store, campaign, labels in db.session.execute(query)]


def _sales(account: Account, limit: int) -> list[SaleLine]:
    rows = db.session.execute(
        select(Sale, Store.name).join(Store, Store.id == Sale.store_id)
        .where(Sale.account_id == account.id).order_by(Sale.id.desc()).limit(limit)).all()
    returns: dict[int, list[SaleReturn]] = {sale.id: [] for sale, _store in rows}
    for sale_return in db.session.scalars(select(SaleReturn)
                                          .where(SaleReturn.sale_id.in_(list(returns)))
                                          .order_by(SaleReturn.id)):
        returns[sale_return.sale_id].append(sale_return)
    return [SaleLine(sale, store, returns[sale.id]) for sale, store in rows]


def _newest(model: Any, account: Account, limit: int) -> list[Any]:
    return list(db.session.scalars(select(model).where(model.account_id == account.id)
                                   .order_by(model.id.desc()).limit(limit)))


def _cards(account: Account) -> list[Card]:
    return list(db.session.scalars(select(Card).where(Card.account_id == account.id)
                                   .order_by(Card.id)))
