"""The daily rollups (rollup step "daily"): each local day of a program, per store, recomputed
whole from the sales, the ledger, the accounts, the tills' reports, the outbox, the tier moves
and the campaigns' entries; and the liability at each day's end (analytics.liability).

Set-based: per chunk of days (`[analytics] daily_chunk_days`, one transaction each), the days'
rows are deleted and each table gets one INSERT ... SELECT ... GROUP BY. Every read is a range
of one program's moments on an index: ledger_entry, sale_return, account and tier_change by
(program_id, created_at); sales and SMS through the program's stores by (store_id,
created_at); SMS of no store by a partial (program_id, created_at) index.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import case, delete, func, insert, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from pos_loyalty.analytics import liability, rollup_step
from pos_loyalty.analytics.local_time import local_date_of
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.ledger import EARNING_KINDS
from pos_loyalty.models import (
    Account, LedgerEntry, OutboxMessage, Program, RollupCampaignDay, RollupDay,
    RollupLiabilityDay, RollupSmsCostDay, RollupTierDay, Sale, SaleReturn, Store, TerminalDay,
    TierChange,
)
from pos_loyalty.models.account import ENROLMENT_CHANNELS
from pos_loyalty.models.daily_rollups import NO_STORE
from pos_loyalty.models.ledger import BONUS_ENTRY_KINDS
from pos_loyalty.program_figures import REDEEMED_KINDS, TAKEN_BACK_KINDS
from pos_loyalty.programs import local_day, local_day_start_utc

# Outbox statuses by what they say of an SMS (a message counts in each group it is in).
SMS_HANDED_OVER = ("sent", "delivered", "undelivered", "failed")
SMS_DELIVERED = ("delivered",)
SMS_FAILED = ("failed", "undelivered", "dead")

day_table = RollupDay.__table__
COUNTERS = tuple(column.name for column in day_table.columns
                 if column.name not in ("program_id", "day", "store_id"))


@rollup_step("daily", 10)
def roll_up_days(program: Program, since: dt.date, now: dt.datetime) -> dt.date:
    """Recompute every local day from `since` through today, a chunk of days per
    transaction; today is redone by the next run, so yesterday is the last day finished."""
    today = local_day(program, now)
    chunk = dt.timedelta(days=current_app.config["LOYALTY"]["analytics"]["daily_chunk_days"])
    first = since
    while first <= today:
        last = min(first + chunk - dt.timedelta(days=1), today)
        run_in_transaction(lambda: recompute_days(program, first, last))
        first = last + dt.timedelta(days=1)
    return today - dt.timedelta(days=1)


def recompute_days(program: Program, first: dt.date, last: dt.date) -> None:
    """Replace every rollup row of the local days `first` to `last` (both included)."""
    window = Window(program, first, last)
    for model in (RollupDay, RollupSmsCostDay, RollupTierDay, RollupCampaignDay,
                  RollupLiabilityDay):
        db.session.execute(delete(model).where(model.program_id == program.id,
                                               model.day >= first, model.day <= last))
    arms = [_sales(window), _returns(window), _points(window), _enrolments(window),
            _receipts_without_card(window), *_sms(window)]
    merged = union_all(*arms).subquery()
    db.session.execute(insert(day_table).from_select(
        ["program_id", "day", "store_id", *COUNTERS],
        select(literal(program.id), merged.c.day, merged.c.store_id,
               *(func.sum(merged.c[name]) for name in COUNTERS))
        .group_by(merged.c.day, merged.c.store_id)))
    _insert_sms_costs(window)
    _insert_tier_moves(window)
    _insert_campaign_days(window)
    liability.store_days(program, first, last)


class Window:
    """The local days read: their bounds in UTC and the day of a moment within them."""

    def __init__(self, program: Program, first: dt.date, last: dt.date) -> None:
        self.program, self.first, self.last = program, first, last
        self.start = local_day_start_utc(program, first)
        self.end = local_day_start_utc(program, last + dt.timedelta(days=1))
        self.dialect = db.session.get_bind().dialect.name

    def day_of(self, column: Any) -> ColumnElement[dt.date]:
        return local_date_of(self.program, column, self.start, self.end, self.dialect)

    def within(self, column: Any) -> list[ColumnElement[bool]]:
        return [column >= self.start, column < self.end]


def _arm(day: Any, store_id: Any, **counters: Any) -> list[Any]:
    """The columns of one source: its day, its store, its counters and 0 for the others."""
    return [day.label("day"), store_id.label("store_id"),
            *(counters.get(name, literal(0)).label(name) for name in COUNTERS)]


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum_if(condition: Any, value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _sales(window: Window) -> Any:
    # Through the program's stores: sale's (store_id, created_at) index, one range per store.
    day = window.day_of(Sale.created_at)
    with_points = Sale.points_redeemed > 0
    return (select(*_arm(day, Sale.store_id, sales=func.count(),
                         sales_minor=func.sum(Sale.total_minor),
                         sales_with_points=_count_if(with_points),
                         sales_with_points_minor=_sum_if(with_points, Sale.total_minor),
                         cash_minor=func.sum(Sale.cash_minor),
                         redeemed_minor=func.sum(Sale.redeemed_minor)))
            .select_from(Store).join(Sale, Sale.store_id == Store.id)
            .where(Store.program_id == window.program.id, *window.within(Sale.created_at),
                   Sale.kind == "sale", Sale.status != "voided")
            .group_by(day, Sale.store_id))


def _returns(window: Window) -> Any:
    day = window.day_of(SaleReturn.created_at)
    return (select(*_arm(day, Sale.store_id, returns=func.count(),
                         returned_minor=func.sum(SaleReturn.amount_minor)))
            .select_from(SaleReturn).join(Sale, Sale.id == SaleReturn.sale_id)
            .where(SaleReturn.program_id == window.program.id,
                   *window.within(SaleReturn.created_at))
            .group_by(day, Sale.store_id))


def _points(window: Window) -> Any:
    """Points by kind as pos_loyalty.program_figures adds them up (pending points count on
    the day they were credited, as there)."""
    day = window.day_of(LedgerEntry.created_at)
    store_id = func.coalesce(LedgerEntry.store_id, NO_STORE)
    change = LedgerEntry.points + LedgerEntry.pending_delta

    def of(*kinds: str) -> Any:
        return _sum_if(LedgerEntry.kind.in_(kinds), change)
    assert set(EARNING_KINDS) == {"earn", "campaign", *BONUS_ENTRY_KINDS}
    return (select(*_arm(day, store_id, points_earned=of("earn"),
                         points_campaign=of("campaign"), points_bonus=of(*BONUS_ENTRY_KINDS),
                         points_redeemed=-of(*REDEEMED_KINDS), points_expired=-of("expire"),
                         points_taken_back=-of(*TAKEN_BACK_KINDS),
                         points_adjusted=of("adjust"), points_imported=of("import")))
            .where(LedgerEntry.program_id == window.program.id,
                   *window.within(LedgerEntry.created_at))
            .group_by(day, store_id))


def _enrolments(window: Window) -> Any:
    day = window.day_of(Account.created_at)
    store_id = func.coalesce(Account.enrolled_store_id, NO_STORE)
    by_channel = {f"enrolled_{channel}": _count_if(Account.enrolled_via == channel)
                  for channel in ENROLMENT_CHANNELS}
    return (select(*_arm(day, store_id, enrolled_unknown=_count_if(
                Account.enrolled_via.is_(None)), **by_channel))
            .where(Account.program_id == window.program.id, *window.within(Account.created_at))
            .group_by(day, store_id))


def _receipts_without_card(window: Window) -> Any:
    return (select(*_arm(TerminalDay.day, TerminalDay.store_id, receipts_without_card=func.sum(
                TerminalDay.receipts_without_card)))
            .where(TerminalDay.program_id == window.program.id,
                   TerminalDay.day >= window.first, TerminalDay.day <= window.last)
            .group_by(TerminalDay.day, TerminalDay.store_id))


def _from_outbox(window: Window, of_store: bool, columns: list[Any], group: list[Any]) -> Any:
    """`columns` of the window's SMS (not pushes, not wallet updates) grouped by `group`, read
    on an index: those of a store
    through the program's stores, or those of no store (expiry warnings, codes)."""
    query = select(*columns)
    if of_store:
        query = (query.select_from(Store).join(OutboxMessage, OutboxMessage.store_id == Store.id)
                 .where(Store.program_id == window.program.id))
    else:
        query = query.where(OutboxMessage.program_id == window.program.id,
                            OutboxMessage.store_id.is_(None))
    return query.where(*window.within(OutboxMessage.created_at),
                       OutboxMessage.channel == "sms").group_by(*group)


def _sms(window: Window) -> list[Any]:
    day = window.day_of(OutboxMessage.created_at)
    store_id = func.coalesce(OutboxMessage.store_id, NO_STORE)
    status = OutboxMessage.status
    columns = _arm(day, store_id, sms_sent=_count_if(status.in_(SMS_HANDED_OVER)),
                   sms_delivered=_count_if(status.in_(SMS_DELIVERED)),
                   sms_failed=_count_if(status.in_(SMS_FAILED)))
    return [_from_outbox(window, of_store, columns, [day, store_id])
            for of_store in (True, False)]


def _insert_sms_costs(window: Window) -> None:
    day = window.day_of(OutboxMessage.created_at)
    store_id = func.coalesce(OutboxMessage.store_id, NO_STORE)
    unit = func.coalesce(OutboxMessage.price_unit, "")
    columns = [literal(window.program.id), day, store_id, unit, func.count(),
               func.coalesce(func.sum(OutboxMessage.price_micros), 0)]
    for of_store in (True, False):
        db.session.execute(insert(RollupSmsCostDay).from_select(
            ["program_id", "day", "store_id", "price_unit", "messages", "cost_micros"],
            _from_outbox(window, of_store, columns, [day, store_id, unit])))


def _insert_tier_moves(window: Window) -> None:
    day = window.day_of(TierChange.created_at)
    from_tier = func.coalesce(TierChange.from_tier, "")
    to_tier = func.coalesce(TierChange.to_tier, "")
    db.session.execute(insert(RollupTierDay).from_select(
        ["program_id", "day", "from_tier", "to_tier", "reason", "count"],
        select(literal(window.program.id), day, from_tier, to_tier, TierChange.reason,
               func.count())
        .where(TierChange.program_id == window.program.id,
               *window.within(TierChange.created_at))
        .group_by(day, from_tier, to_tier, TierChange.reason)))


def _insert_campaign_days(window: Window) -> None:
    """A campaign's entries of the window with the sales they were given on (a voided sale
    keeps its points here: the void's take-back counts as taken back)."""
    day = window.day_of(LedgerEntry.created_at)
    store_id = func.coalesce(LedgerEntry.store_id, NO_STORE)
    completed = Sale.status == "completed"
    db.session.execute(insert(RollupCampaignDay).from_select(
        ["program_id", "campaign_id", "day", "store_id", "sales", "sales_minor", "points"],
        select(literal(window.program.id), LedgerEntry.campaign_id, day, store_id,
               _count_if(completed), _sum_if(completed, Sale.total_minor),
               func.sum(LedgerEntry.points + LedgerEntry.pending_delta))
        .select_from(LedgerEntry).outerjoin(Sale, Sale.id == LedgerEntry.sale_id)
        .where(LedgerEntry.program_id == window.program.id, LedgerEntry.kind == "campaign",
               *window.within(LedgerEntry.created_at))
        .group_by(LedgerEntry.campaign_id, day, store_id)))
