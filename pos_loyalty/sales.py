"""Checkout use cases: quote a basket, record a sale, a return, a void.

Each runs inside one transaction that the caller commits; every points change goes through
`pos_loyalty.ledger`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pos_loyalty import holds, ledger, notify
from pos_loyalty.accounts import account_of_card, expiry_for, find_card
from pos_loyalty.db import db
from pos_loyalty.errors import (
    AccountBlocked, CardNotLinked, DuplicateReceipt, ReturnExceedsSale, SaleNotFound, SaleVoided,
    ValidationFailed,
)
from pos_loyalty.models import (
    Account, DailyIssuance, Hold, LedgerEntry, Program, Sale, SaleLine, SaleReturn, Terminal,
)
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for
from pos_loyalty.rules import BasketLine, Quote, quote, return_split
from pos_loyalty.upkeep import bring_up_to_date


@dataclass(frozen=True)
class SaleRequest:
    card_number: Any
    receipt_number: str
    lines: list[BasketLine]
    redeem_points: int = 0
    hold_id: int | None = None
    staff_id: int | None = None


def quote_for_card(program: Program, card_number: Any, lines: list[BasketLine],
                   redeem_points: int = 0) -> Quote:
    account = account_of_card(find_card(program, card_number))
    available = account.available_points if account else 0
    can_redeem = account is not None and account.status == "active"
    return quote(lines, available, can_redeem, rules_for(program), redeem_points)


def record_sale(program: Program, terminal: Terminal, request: SaleRequest,
                now: dt.datetime) -> dict[str, Any]:
    """One receipt: spend the chosen points, earn on the money part, in one transaction."""
    rules = rules_for(program)
    card = find_card(program, request.card_number)
    account = account_of_card(card, for_spending=True)
    if account is None:
        raise CardNotLinked()
    if account.status != "active":
        raise AccountBlocked()
    _refuse_duplicate_receipt(terminal, request.receipt_number)
    bring_up_to_date(program, account, now)
    held = _held_points(program, terminal, request, now)
    q = quote(request.lines, account.available_points + held, True, rules,
              request.redeem_points)
    sale = _insert_sale(program, terminal, request, account, card.id, q, now)
    ctx = _ctx(program, terminal, now, sale.id, request.staff_id)
    balance = _redeem(program, terminal, request, account.id, q.points_redeemed, ctx, now)
    granted = _points_within_caps(program, account.id, q.points_earned, now)
    if granted:
        available_at = now + dt.timedelta(days=rules.pending_days)
        entry = ledger.credit(ctx, account.id, granted, "earn", available_at=available_at,
                              expires_at=expiry_for(rules, available_at))
        balance = {"available": entry.available_after, "pending": entry.pending_after}
    if granted != q.points_earned:
        sale.points_earned = granted
    _insert_lines(sale, request.lines, q)
    db.session.flush()
    if balance is None:
        current = ledger.lock_account(account.id)
        balance = {"available": current.available, "pending": current.pending}
    notify.queue_balance_change(program, account.id, change=granted - q.points_redeemed,
                                balance=balance["available"], now=now, store_id=terminal.store_id)
    return {"sale_id": sale.id, "receipt_number": sale.receipt_number,
            "total_minor": q.total_minor, "points_redeemed": q.points_redeemed,
            "redeemed_minor": q.redeemed_minor, "cash_due_minor": q.cash_minor,
            "points_earned": granted, "points_capped": q.points_earned - granted,
            "balance": balance}


def _ctx(program: Program, terminal: Terminal, now: dt.datetime, sale_id: int | None = None,
         staff_id: int | None = None) -> ledger.EntryContext:
    return ledger.EntryContext(program_id=program.id, now=now, sale_id=sale_id,
                               store_id=terminal.store_id, terminal_id=terminal.id,
                               staff_id=staff_id)


def _refuse_duplicate_receipt(terminal: Terminal, receipt_number: str) -> None:
    exists = db.session.scalar(select(Sale.id).where(
        Sale.terminal_id == terminal.id, Sale.receipt_number == receipt_number,
        Sale.kind == "sale"))
    if exists:
        raise DuplicateReceipt()


def _held_points(program: Program, terminal: Terminal, request: SaleRequest,
                 now: dt.datetime) -> int:
    if request.hold_id is None:
        return 0
    return holds.open_hold(program, terminal, request.hold_id, now).points


def _insert_sale(program: Program, terminal: Terminal, request: SaleRequest, account: Account,
                 card_id: int, q: Quote, now: dt.datetime) -> Sale:
    sale = Sale(program_id=program.id, store_id=terminal.store_id, terminal_id=terminal.id,
                staff_id=request.staff_id, account_id=account.id, card_id=card_id,
                receipt_number=request.receipt_number, total_minor=q.total_minor,
                points_redeemed=q.points_redeemed, redeemed_minor=q.redeemed_minor,
                cash_minor=q.cash_minor, eligible_earn_minor=q.eligible_earn_minor,
                earn_base_minor=q.earn_base_minor, points_earned=q.points_earned,
                created_at=now)
    db.session.add(sale)
    db.session.flush()
    return sale


def _redeem(program: Program, terminal: Terminal, request: SaleRequest, account_id: int,
            points: int, ctx: ledger.EntryContext, now: dt.datetime) -> dict[str, int] | None:
    """Spend the points: from the hold when there is one, else straight from the balance."""
    if request.hold_id is not None:
        captured = holds.capture_hold(program, terminal, request.hold_id, points or None, now,
                                      sale_id=ctx.sale_id) if points else \
            holds.void_hold(program, terminal, request.hold_id, now)
        return captured["balance"]
    if points == 0:
        return None
    entry = ledger.spend(ctx, account_id, points, "redeem")
    return {"available": entry.available_after, "pending": entry.pending_after}


def _points_within_caps(program: Program, account_id: int, points: int,
                        now: dt.datetime) -> int:
    """Earned points cut to the customer's and the program's daily caps (0 = no cap)."""
    rules = rules_for(program)
    if points <= 0:
        return 0
    day = local_day(program, now)
    if rules.daily_customer_cap_points > 0:
        earned_today = int(db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0))
            .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "earn",
                   LedgerEntry.created_at >= local_day_start_utc(program, day))))
        points = max(0, min(points, rules.daily_customer_cap_points - earned_today))
    if rules.daily_program_cap_points > 0 and points > 0:
        points = _count_program_issuance(program.id, day, points, rules.daily_program_cap_points)
    return points


def _count_program_issuance(program_id: int, day: dt.date, points: int, cap: int) -> int:
    """Add to the day's counter under its row lock; grant only what fits under the cap."""
    table = DailyIssuance.__table__
    where = (table.c.program_id == program_id) & (table.c.day == day)
    total = db.session.execute(update(table).where(where).values(points=table.c.points + points)
                               .returning(table.c.points)).scalar()
    if total is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(insert(table).values(program_id=program_id, day=day, points=0)
                           .on_conflict_do_nothing())
        total = db.session.execute(update(table).where(where)
                                   .values(points=table.c.points + points)
                                   .returning(table.c.points)).scalar_one()
    if total <= cap:
        return points
    over = min(points, total - cap)
    db.session.execute(update(table).where(where).values(points=table.c.points - over))
    return points - over


def _insert_lines(sale: Sale, lines: list[BasketLine], q: Quote) -> None:
    db.session.execute(SaleLine.__table__.insert(), [
        {"sale_id": sale.id, "line_no": number, "sku": line.sku, "category": line.category,
         "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "amount_minor": line.amount_minor, "earn_base_minor": base, "returned_quantity": 0}
        for number, (line, base) in enumerate(zip(lines, q.line_earn_base_minor), start=1)])


# --- returns and voids ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnedLine:
    sku: str
    quantity: int


def find_sale(program: Program, sale_id: int, terminal: Terminal | None = None) -> Sale:
    """A sale of the program (of the terminal, when given), read under its account's lock."""
    sale = db.session.get(Sale, sale_id)
    if sale is None or sale.program_id != program.id or (
            terminal is not None and sale.terminal_id != terminal.id):
        raise SaleNotFound()
    ledger.lock_account(sale.account_id)
    db.session.refresh(sale)
    return sale


def record_return(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime, *,
                  amount_minor: int | None = None, lines: list[ReturnedLine] | None = None,
                  staff_id: int | None = None) -> dict[str, Any]:
    """Take back points earned on the returned part; give back points spent on it."""
    sale = find_sale(program, sale_id)
    if sale.status == "voided":
        raise SaleVoided()
    if lines:
        amount, base = _returned_lines(sale, lines)
    else:
        amount = amount_minor or 0
        base = None
    if amount <= 0:
        raise ValidationFailed("A return needs an amount or lines.", field="amount_minor")
    returned_after = sale.returned_minor + amount
    if returned_after > sale.total_minor:
        raise ReturnExceedsSale(
            f"At most {sale.total_minor - sale.returned_minor} can still be returned.",
            returnable_minor=sale.total_minor - sale.returned_minor)
    if base is None:
        base_after = sale.earn_base_minor * returned_after // sale.total_minor
    else:
        base_after = sale.returned_earn_base_minor + base
    base_after = max(sale.returned_earn_base_minor, min(base_after, sale.earn_base_minor))
    split = return_split(
        total_minor=sale.total_minor, cash_minor=sale.cash_minor,
        points_earned=sale.points_earned, points_redeemed=sale.points_redeemed,
        earn_base_minor=sale.earn_base_minor, returned_minor_before=sale.returned_minor,
        returned_minor_after=returned_after, returned_base_before=sale.returned_earn_base_minor,
        returned_base_after=base_after)
    reversed_now, balance = _unwind(program, terminal, sale, split.points_reversed,
                                    split.points_restored, "return", now, staff_id)
    sale.returned_minor, sale.returned_earn_base_minor = returned_after, base_after
    sale.points_reversed += split.points_reversed
    sale.points_restored += split.points_restored
    sale_return = SaleReturn(program_id=program.id, sale_id=sale.id, terminal_id=terminal.id,
                             staff_id=staff_id, amount_minor=amount,
                             points_reversed=reversed_now, points_restored=split.points_restored,
                             refund_cash_minor=split.refund_cash_minor, created_at=now)
    db.session.add(sale_return)
    db.session.flush()
    notify.queue_balance_change(program, sale.account_id,
                                change=split.points_restored - reversed_now,
                                balance=balance["available"], now=now, store_id=terminal.store_id)
    return {"return_id": sale_return.id, "sale_id": sale.id, "amount_minor": amount,
            "points_reversed": reversed_now, "points_restored": split.points_restored,
            "refund_cash_minor": split.refund_cash_minor, "balance": balance}


def _returned_lines(sale: Sale, returned: list[ReturnedLine]) -> tuple[int, int]:
    """Mark lines returned; the money and the earning base they carry."""
    by_sku: dict[str, list[SaleLine]] = {}
    for line in db.session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id)
                                   .order_by(SaleLine.line_no)):
        by_sku.setdefault(line.sku, []).append(line)
    amount = base = 0
    for item in returned:
        want = item.quantity
        for line in by_sku.get(item.sku, []):
            take = min(want, line.quantity - line.returned_quantity)
            if take <= 0:
                continue
            base_before = line.earn_base_minor * line.returned_quantity // line.quantity
            line.returned_quantity += take
            base += line.earn_base_minor * line.returned_quantity // line.quantity - base_before
            amount += take * line.unit_price_minor
            want -= take
        if want:
            raise ReturnExceedsSale(f"More of {item.sku!r} than is left on the receipt.",
                                    sku=item.sku)
    return amount, base


def _unwind(program: Program, terminal: Terminal, sale: Sale, reverse: int, restore: int,
            kind: str, now: dt.datetime, staff_id: int | None) -> tuple[int, dict[str, int]]:
    """Give back spent points, then take back earned ones; (points taken, balance after)."""
    ctx = _ctx(program, terminal, now, sale.id, staff_id)
    captured_holds = select(Hold.id).where(Hold.sale_id == sale.id)
    spent_entries = db.session.scalars(select(LedgerEntry.id).where(
        ((LedgerEntry.sale_id == sale.id) & (LedgerEntry.kind == "redeem"))
        | ((LedgerEntry.kind == "hold") & LedgerEntry.hold_id.in_(captured_holds)))).all()
    ledger.give_back(ctx, sale.account_id, restore, f"{kind}_restore", spent_entries)
    taken = ledger.take_back(ctx, sale.account_id, reverse, f"{kind}_reverse",
                             rules_for(program).allow_negative_balance)
    current = ledger.lock_account(sale.account_id)
    return taken, {"available": current.available, "pending": current.pending}


def void_sale(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime,
              staff_id: int | None = None) -> dict[str, Any]:
    """Undo what is left of a sale, once, on the terminal that made it."""
    sale = find_sale(program, sale_id, terminal)
    if sale.status == "voided":
        raise SaleVoided("This sale was already voided.")
    reverse = sale.points_earned - sale.points_reversed
    restore = sale.points_redeemed - sale.points_restored
    taken, balance = _unwind(program, terminal, sale, reverse, restore, "void", now, staff_id)
    sale.points_reversed, sale.points_restored = sale.points_earned, sale.points_redeemed
    sale.status, sale.voided_at = "voided", now
    db.session.flush()
    notify.queue_balance_change(program, sale.account_id, change=restore - taken,
                                balance=balance["available"], now=now, store_id=terminal.store_id)
    return {"sale_id": sale.id, "status": "voided", "points_reversed": taken,
            "points_restored": restore, "balance": balance}
