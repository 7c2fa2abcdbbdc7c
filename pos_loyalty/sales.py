"""Checkout use cases: quote a basket, record a sale, a return, a void.

Each runs inside one transaction that the caller commits; every points change goes through
`pos_loyalty.ledger`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, case, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pos_loyalty import holds, ledger, notify
from pos_loyalty.accounts import account_of_card, expiry_for, find_card, normalize_number
from pos_loyalty.batch import Step, defer, run_together
from pos_loyalty.db import db
from pos_loyalty.errors import (
    AccountBlocked, CardBlocked, CardNotFound, CardNotLinked, DuplicateReceipt, ReturnExceedsSale, SaleNotFound, SaleVoided,
    ValidationFailed,
)
from pos_loyalty.models import (
    Account, Card, DailyIssuance, Hold, LedgerEntry, PointLot, Program, Sale, SaleLine, SaleReturn,
    Terminal,
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
    """One receipt: spend the chosen points, earn on the money part, in one transaction.

    This is every till's hot path, and its cost is round trips to the database, so it makes
    few: one reads card and account and locks the account; one inserts the sale and reads what
    the ledger needs (entry ids, lots, the day's issuance); every other write is deferred and
    sent together at commit (see `pos_loyalty.batch`).
    """
    rules = rules_for(program)
    found = _locked_card_and_account(program, request.card_number, now)
    held = _held_points(program, terminal, request, now)
    q = quote(request.lines, found.available_points + held, True, rules,
              request.redeem_points)
    earnable = _points_within_customer_cap(program, found.account_id, q.points_earned, now)
    read = _insert_sale_and_read(program, terminal, request, found, q, earnable, now)
    ctx = _ctx(program, terminal, now, read.sale_id, request.staff_id)
    before = ledger.Balance(found.available_points, found.pending_points)
    entry_ids = read.entry_ids
    if request.hold_id is not None:
        _spend_hold(program, terminal, request.hold_id, q.points_redeemed, read.sale_id, now)
        before = ledger.lock_account(found.account_id)
        entry_ids = run_together([Step(_next_entry_ids(), {})])[0].rows[0]
    granted = _points_within_program_cap(program, earnable, read.issued_today, now)
    if granted != q.points_earned:
        defer(Step(SET_POINTS_EARNED, {"b_sale": read.sale_id, "b_points": granted}))
    available_at = now + dt.timedelta(days=rules.pending_days)
    after = ledger.settle_sale(
        ctx, found.account_id, before,
        redeem=0 if request.hold_id is not None else q.points_redeemed, earn=granted,
        available_at=available_at, expires_at=expiry_for(rules, available_at),
        entry_ids=entry_ids, lots=read.lots)
    _insert_lines(read.sale_id, request.lines, q)
    balance = {"available": after.available, "pending": after.pending}
    notify.defer_balance_change(program, found, change=granted - q.points_redeemed,
                                balance=balance["available"], now=now,
                                store_id=terminal.store_id, earned=granted,
                                spent=q.points_redeemed)
    return {"sale_id": read.sale_id, "receipt_number": request.receipt_number,
            "total_minor": q.total_minor, "points_redeemed": q.points_redeemed,
            "redeemed_minor": q.redeemed_minor, "cash_due_minor": q.cash_minor,
            "points_earned": granted, "points_capped": q.points_earned - granted,
            "balance": balance}


def _locked_card_and_account(program: Program, card_number: Any, now: dt.datetime) -> Row:
    """The card and its account in one query, the account locked, settled, allowed to buy.

    The row lock (FOR UPDATE on PostgreSQL; SQLite's writers run one at a time) is what lets
    the sale know the balance after it before writing.
    """
    number = normalize_number(card_number, rules_for(program))
    params = {"program_id": program.id, "number": number, "now": now}
    row = db.session.execute(LOCKED_CARD_AND_ACCOUNT, params).first()
    if row is None:
        account_of_card(find_card(program, number))   # raises CardNotFound
        raise CardNotLinked()
    if row.card_status in ("blocked", "lost", "replaced", "closed"):
        raise CardBlocked()
    if row.status != "active":
        raise AccountBlocked()
    if row.has_due_pending or row.has_expired_hold:
        bring_up_to_date(program, db.session.get(Account, row.account_id), now)
        row = db.session.execute(LOCKED_CARD_AND_ACCOUNT, params).one()
    return row


# Built once: the checkout path runs it for every sale. Columns are named as on Account, so
# the SMS code can read the row as an account.
LOCKED_CARD_AND_ACCOUNT = (
    select(Card.id.label("card_id"), Card.status.label("card_status"),
           Account.id.label("account_id"), Account.status, Account.available_points,
           Account.pending_points, Account.phone_e164, Account.locale, Account.sms_opt_out,
           Account.sms_invalid,
           case((Account.pending_points > 0, exists().where(
               PointLot.account_id == Account.id, PointLot.released.is_(False),
               PointLot.available_at <= bindparam("now"))), else_=False).label("has_due_pending"),
           exists().where(Hold.account_id == Account.id, Hold.status == "active",
                          Hold.expires_at <= bindparam("now")).label("has_expired_hold"))
    .join(Account, Account.id == Card.account_id)
    .where(Card.program_id == bindparam("program_id"), Card.number == bindparam("number"))
    .with_for_update(of=Account.__table__))


def _ctx(program: Program, terminal: Terminal, now: dt.datetime, sale_id: int | None = None,
         staff_id: int | None = None) -> ledger.EntryContext:
    return ledger.EntryContext(program_id=program.id, now=now, sale_id=sale_id,
                               store_id=terminal.store_id, terminal_id=terminal.id,
                               staff_id=staff_id)


def _held_points(program: Program, terminal: Terminal, request: SaleRequest,
                 now: dt.datetime) -> int:
    if request.hold_id is None:
        return 0
    return holds.open_hold(program, terminal, request.hold_id, now).points


@dataclass(frozen=True)
class SaleStart:
    """What the second round trip of a sale brings back."""
    sale_id: int
    entry_ids: tuple[int, ...]
    lots: list[tuple[int, int]]
    issued_today: int | None


def _insert_sale_and_read(program: Program, terminal: Terminal, request: SaleRequest,
                          found: Row, q: Quote, earnable: int, now: dt.datetime) -> SaleStart:
    """Insert the sale and read, in one round trip, what the ledger writes need.

    A receipt number already used on this terminal is refused. ON CONFLICT DO NOTHING lets a
    second till with the same receipt wait for the first and then get a clean DuplicateReceipt.
    """
    steps = [Step(_insert_sale_statement(), {
        "program_id": program.id, "store_id": terminal.store_id, "terminal_id": terminal.id,
        "staff_id": request.staff_id, "account_id": found.account_id, "card_id": found.card_id,
        "receipt_number": request.receipt_number, "kind": "sale", "status": "completed",
        "total_minor": q.total_minor, "points_redeemed": q.points_redeemed,
        "redeemed_minor": q.redeemed_minor, "cash_minor": q.cash_minor,
        "eligible_earn_minor": q.eligible_earn_minor, "earn_base_minor": q.earn_base_minor,
        "points_earned": q.points_earned, "returned_minor": 0, "returned_earn_base_minor": 0,
        "points_reversed": 0, "points_restored": 0, "created_at": now, "voided_at": None})]
    with_hold = request.hold_id is not None
    if not with_hold:   # a hold's capture writes entries first: ids are taken after it
        steps.append(Step(_next_entry_ids(), {}))
    if q.points_redeemed and not with_hold:
        steps.append(Step(ledger.SPENDABLE_LOTS, {"account_id": found.account_id}))
    counts_issuance = rules_for(program).daily_program_cap_points > 0 and earnable > 0
    if counts_issuance:
        steps.append(Step(ADD_TO_DAILY_ISSUANCE, {"b_program": program.id,
                                                  "b_day": local_day(program, now),
                                                  "b_points": earnable}))
    outcomes = iter(run_together(steps))
    inserted = next(outcomes).rows
    if not inserted:
        raise DuplicateReceipt()
    entry_ids = () if with_hold else tuple(next(outcomes).rows[0])
    lots = [tuple(lot) for lot in next(outcomes).rows] if q.points_redeemed and not with_hold \
        else []
    issued = None
    if counts_issuance:
        issued = next((row[0] for row in next(outcomes).rows), None)
        if issued is None:
            issued = _start_daily_issuance(program.id, local_day(program, now), earnable)
    return SaleStart(inserted[0][0], entry_ids, lots, issued)


def _next_entry_ids() -> Any:
    dialect = db.session.get_bind().dialect.name
    if dialect not in _ENTRY_IDS:
        _ENTRY_IDS[dialect] = ledger.next_entry_ids_statement(dialect)
    return _ENTRY_IDS[dialect]


_ENTRY_IDS: dict[str, Any] = {}


def dialect_insert():  # type: ignore[no-untyped-def]
    """INSERT with ON CONFLICT for the engine in use (both speak it)."""
    name = db.session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


_SALE_INSERTS: dict[str, Any] = {}


def _insert_sale_statement() -> Any:
    dialect = db.session.get_bind().dialect.name
    if dialect not in _SALE_INSERTS:
        table = Sale.__table__
        _SALE_INSERTS[dialect] = (
            dialect_insert()(table)
            .on_conflict_do_nothing(index_elements=["terminal_id", "receipt_number", "kind"])
            .returning(table.c.id))
    return _SALE_INSERTS[dialect]


_sales = Sale.__table__
SET_POINTS_EARNED = (update(_sales).where(_sales.c.id == bindparam("b_sale"))
                     .values(points_earned=bindparam("b_points")))


def _spend_hold(program: Program, terminal: Terminal, hold_id: int, points: int, sale_id: int,
                now: dt.datetime) -> None:
    """Points held for this receipt pay for it; what is not used goes back."""
    if points:
        holds.capture_hold(program, terminal, hold_id, points, now, sale_id=sale_id)
    else:
        holds.void_hold(program, terminal, hold_id, now)


def _points_within_customer_cap(program: Program, account_id: int, points: int,
                                now: dt.datetime) -> int:
    """Earned points cut to what the customer may still earn today (0 = no cap)."""
    cap = rules_for(program).daily_customer_cap_points
    if points <= 0 or cap <= 0:
        return max(points, 0)
    earned_today = int(db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0))
        .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "earn",
               LedgerEntry.created_at >= local_day_start_utc(program, local_day(program, now)))))
    return max(0, min(points, cap - earned_today))


def _points_within_program_cap(program: Program, points: int, issued_today: int | None,
                               now: dt.datetime) -> int:
    """Grant only what fits under the program's daily cap.

    `issued_today` is the day's counter with `points` already added, under its row lock; what
    does not fit is taken off the counter again.
    """
    cap = rules_for(program).daily_program_cap_points
    if issued_today is None or issued_today <= cap:
        return points
    over = min(points, issued_today - cap)
    defer(Step(TAKE_FROM_DAILY_ISSUANCE, {"b_program": program.id,
                                          "b_day": local_day(program, now), "b_points": over}))
    return points - over


def _start_daily_issuance(program_id: int, day: dt.date, points: int) -> int:
    """The day's first issuance: create its counter row, then add as usual."""
    table = DailyIssuance.__table__
    db.session.execute(dialect_insert()(table).values(program_id=program_id, day=day, points=0)
                       .on_conflict_do_nothing())
    return db.session.execute(ADD_TO_DAILY_ISSUANCE, {"b_program": program_id, "b_day": day,
                                                      "b_points": points}).scalar_one()


_issuance = DailyIssuance.__table__
_today = (_issuance.c.program_id == bindparam("b_program")) & (_issuance.c.day == bindparam("b_day"))
ADD_TO_DAILY_ISSUANCE = (
    update(_issuance).where(_today)
    .values(points=_issuance.c.points + bindparam("b_points")).returning(_issuance.c.points))
TAKE_FROM_DAILY_ISSUANCE = (
    update(_issuance).where(_today).values(points=_issuance.c.points - bindparam("b_points")))


INSERT_LINES = SaleLine.__table__.insert()


def _insert_lines(sale_id: int, lines: list[BasketLine], q: Quote) -> None:
    defer(Step(INSERT_LINES, [
        {"sale_id": sale_id, "line_no": number, "sku": line.sku, "category": line.category,
         "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "amount_minor": line.amount_minor, "earn_base_minor": base, "returned_quantity": 0}
        for number, (line, base) in enumerate(zip(lines, q.line_earn_base_minor), start=1)]))


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
