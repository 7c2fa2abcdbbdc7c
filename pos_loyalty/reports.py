"""Read-only views of a store's receipts for the till: one receipt, recent sales, the shift.

Nothing here changes a balance; `preview_return` runs the real return and rolls it back, so the
till shows exactly what the core would do without a second copy of the return rules.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from pos_loyalty import notify
from pos_loyalty.db import db
from pos_loyalty.errors import SaleNotFound
from pos_loyalty.models import (
    Account, LedgerEntry, Program, Sale, SaleLine, SaleReturn, Staff, Terminal,
)
from pos_loyalty.programs import local_day_start_utc

# Sale ids are 32-bit on PostgreSQL: a larger id from a URL is simply not there.
MAX_SALE_ID = 2**31 - 1
# Entries a sale itself writes; the last one carries the balance printed on the receipt.
SALE_ENTRY_KINDS = ("earn", "campaign", "redeem", "hold", "hold_release")
# The SMS counts the shift report shows, named as `pos-loyalty sms stats` names them.
SHIFT_SMS_STATUSES = ("queued", "sent", "delivered", "failed", "dead")


def store_sale(program: Program, store_id: int, sale_id: int) -> Sale:
    """A sale of this store; another store's receipt is as unknown as a missing one."""
    sale = db.session.get(Sale, sale_id) if 0 < sale_id <= MAX_SALE_ID else None
    if sale is None or sale.program_id != program.id or sale.store_id != store_id:
        raise SaleNotFound("No such receipt in this store.")
    return sale


def receipt(program: Program, store_id: int, sale_id: int) -> dict[str, Any]:
    """What the receipt screen prints: the sale, its lines, returns and the balance after."""
    sale = store_sale(program, store_id, sale_id)
    lines = db.session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id)
                               .order_by(SaleLine.line_no)).all()
    returns = db.session.scalars(select(SaleReturn).where(SaleReturn.sale_id == sale.id)
                                 .order_by(SaleReturn.id)).all()
    balance_after = db.session.scalar(
        select(LedgerEntry.available_after).where(LedgerEntry.sale_id == sale.id,
                                                  LedgerEntry.kind.in_(SALE_ENTRY_KINDS))
        .order_by(LedgerEntry.id.desc()).limit(1))
    account = db.session.get(Account, sale.account_id)
    return {"sale": sale, "lines": lines, "returns": returns, "balance_after": balance_after,
            "returnable_minor": sale.total_minor - sale.returned_minor,
            "first_name": account.first_name if account else ""}


def find_receipts(program: Program, store_id: int, receipt_number: str) -> list[Sale]:
    """The store's sales with this receipt number (unique per terminal, so maybe several)."""
    return list(db.session.scalars(select(Sale).where(
        Sale.program_id == program.id, Sale.store_id == store_id, Sale.kind == "sale",
        Sale.receipt_number == receipt_number.strip()).order_by(Sale.id.desc()).limit(20)))


def recent_sales(program: Program, store_id: int, account_id: int, limit: int = 10) -> list[Sale]:
    """The customer's latest sales in this store, newest first."""
    return list(db.session.scalars(select(Sale).where(
        Sale.program_id == program.id, Sale.store_id == store_id, Sale.account_id == account_id,
        Sale.kind == "sale").order_by(Sale.id.desc()).limit(limit)))


def sales_of_day(program: Program, store_id: int, day: dt.date, terminal_id: int | None = None,
                 limit: int = 100) -> list[Sale]:
    """The store's sales of one local day (of one terminal when given), newest first."""
    query = select(Sale).where(Sale.program_id == program.id, Sale.store_id == store_id,
                               Sale.kind == "sale", *_day_bounds(program, day, Sale.created_at))
    if terminal_id is not None:
        query = query.where(Sale.terminal_id == terminal_id)
    return list(db.session.scalars(query.order_by(Sale.id.desc()).limit(limit)))


def _day_range(program: Program, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local day as [start, end) in naive UTC."""
    return (local_day_start_utc(program, day),
            local_day_start_utc(program, day + dt.timedelta(days=1)))


def _day_bounds(program: Program, day: dt.date, column: Any) -> tuple[Any, Any]:
    start, end = _day_range(program, day)
    return column >= start, column < end


@dataclass
class ShiftRow:
    """One cashier's loyalty activity over a day ("" = sales made through the POS API)."""
    cashier: str
    sales: int = 0
    voided: int = 0
    total_minor: int = 0
    points_issued: int = 0
    points_spent: int = 0
    returns: int = 0
    points_taken_back: int = 0
    points_given_back: int = 0


@dataclass
class ShiftReport:
    day: dt.date
    rows: list[ShiftRow] = field(default_factory=list)
    total: ShiftRow = field(default_factory=lambda: ShiftRow(cashier="*"))
    # SMS written that day, by their status now: about this store's sales, returns and
    # adjustments, and in the whole program (expiry warnings and codes name no store).
    sms: dict[str, int] = field(default_factory=dict)
    sms_all_stores: dict[str, int] = field(default_factory=dict)


def shift_report(program: Program, store_id: int, day: dt.date) -> ShiftReport:
    """Sales with loyalty, points issued, spent and returned, by cashier, for one local day,
    and the SMS counts of that day.

    Voided sales are counted apart and add nothing to points issued or spent: the void gave
    everything back.
    """
    names = dict(db.session.execute(select(Staff.id, Staff.username)
                                    .where(Staff.program_id == program.id)).all())
    rows: dict[str, ShiftRow] = {}

    def row(staff_id: int | None) -> ShiftRow:
        name = names.get(staff_id, "") if staff_id is not None else ""
        return rows.setdefault(name, ShiftRow(cashier=name))

    sale_totals = db.session.execute(
        select(Sale.staff_id, Sale.status, func.count(), func.sum(Sale.total_minor),
               func.sum(Sale.points_earned), func.sum(Sale.points_redeemed))
        .where(Sale.program_id == program.id, Sale.store_id == store_id, Sale.kind == "sale",
               *_day_bounds(program, day, Sale.created_at))
        .group_by(Sale.staff_id, Sale.status)).all()
    for staff_id, status, count, total, earned, redeemed in sale_totals:
        target = row(staff_id)
        if status == "voided":
            target.voided += count
            continue
        target.sales += count
        target.total_minor += int(total or 0)
        target.points_issued += int(earned or 0)
        target.points_spent += int(redeemed or 0)
    return_totals = db.session.execute(
        select(SaleReturn.staff_id, func.count(), func.sum(SaleReturn.points_reversed),
               func.sum(SaleReturn.points_restored))
        .join(Terminal, Terminal.id == SaleReturn.terminal_id)
        .where(SaleReturn.program_id == program.id, Terminal.store_id == store_id,
               *_day_bounds(program, day, SaleReturn.created_at))
        .group_by(SaleReturn.staff_id)).all()
    for staff_id, count, reversed_points, restored_points in return_totals:
        target = row(staff_id)
        target.returns += count
        target.points_taken_back += int(reversed_points or 0)
        target.points_given_back += int(restored_points or 0)
    here = notify.sms_stats(program.id, *_day_range(program, day), store_id=store_id)
    everywhere = notify.sms_stats(program.id, *_day_range(program, day))
    report = ShiftReport(day=day, rows=sorted(rows.values(), key=lambda r: r.cashier),
                         sms={status: here[status] for status in SHIFT_SMS_STATUSES},
                         sms_all_stores={status: everywhere[status]
                                         for status in SHIFT_SMS_STATUSES})
    for each in report.rows:
        for name in ("sales", "voided", "total_minor", "points_issued", "points_spent",
                     "returns", "points_taken_back", "points_given_back"):
            setattr(report.total, name, getattr(report.total, name) + getattr(each, name))
    return report
