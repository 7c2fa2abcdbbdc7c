"""What the exports hold: members, ledger entries and sales, as CSV rows, a page at a time.

Each export reads its rows by pages in the order of their id (`rows_after`: the rows whose id
is above the last one read), so the use case can end its read transaction after each page:
on SQLite every transaction takes the write lock (BEGIN IMMEDIATE), and one long read would
stop the tills for the whole download. Memory holds one page, whatever the size.

Cells are written for spreadsheets: money in major units with a dot ("12.50"), local dates and
times in the program's time zone, and text that starts with = + - or @ escaped with a quote,
so a name like "=HYPERLINK(...)" stays text (CSV injection); numbers are never escaped.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import (
    Account, Card, CustomerProfile, LedgerEntry, Program, Sale, Staff, Store, Terminal,
)
from pos_loyalty.programs import local_day_start_utc, rules_for, utc_to_local
from pos_loyalty.rules import ProgramRules, currency_exponent, points_value_minor

PAGE_ROWS = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Period:
    """Local days, both included."""
    first: dt.date
    last: dt.date


# A period is at most this long: a year and a day covers any fiscal year.
MAX_PERIOD_DAYS = 366
EARLIEST_DAY = dt.date(2000, 1, 1)


def read_period(first: Any, last: Any, today: dt.date) -> Period:
    """The local days from `first` to `last` (ISO dates, both included), or ValidationFailed
    naming the field: a date that cannot be read, an end before the start, a period longer
    than MAX_PERIOD_DAYS or starting after today."""
    days = {}
    for name, value in (("from", first), ("to", last)):
        try:
            days[name] = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            days[name] = None
        if days[name] is None or not EARLIEST_DAY <= days[name] <= dt.date(2100, 12, 31):
            raise ValidationFailed("Write the dates as YYYY-MM-DD.", field=name,
                                   reason="format")
    if days["to"] < days["from"]:
        raise ValidationFailed("The period ends before it starts.", field="to", reason="order")
    if (days["to"] - days["from"]).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"A period is at most {MAX_PERIOD_DAYS} days.", field="to",
                               reason="too_long", most=MAX_PERIOD_DAYS)
    if days["from"] > today:
        raise ValidationFailed("The period starts after today.", field="from", reason="future")
    return Period(days["from"], days["to"])



MEMBER_HEADER = ["account_id", "phone", "first_name", "card_number", "points",
                 "pending_points", "value", "currency", "email", "birthday", "language",
                 "opt_in", "status", "member_since"]
LEDGER_HEADER = ["date", "time", "entry_id", "account_id", "card_number", "kind", "points",
                 "pending_points", "value", "currency", "receipt", "store", "actor", "reason"]
SALE_HEADER = ["date", "time", "sale_id", "receipt", "store", "terminal", "cashier",
               "account_id", "card_number", "status", "total", "cash", "paid_with_points",
               "points_redeemed", "points_earned", "returned", "points_taken_back",
               "points_given_back", "currency"]


def _newest_card(account_id: Any) -> Any:
    """The account's newest active card number (the one a till shows), as a subquery."""
    return (select(Card.number).where(Card.account_id == account_id, Card.status == "active")
            .order_by(Card.linked_at.desc(), Card.id.desc()).limit(1).scalar_subquery())


def member_query(program: Program) -> Select:
    return (select(Account.id, Account.phone_e164, Account.first_name, _newest_card(Account.id),
                   Account.available_points, Account.pending_points, CustomerProfile.email,
                   CustomerProfile.birthday, Account.locale, Account.sms_opt_out,
                   Account.status, Account.created_at)
            .outerjoin(CustomerProfile, CustomerProfile.account_id == Account.id)
            .where(Account.program_id == program.id, Account.status != "closed"))


def ledger_query(program: Program, period: Period) -> Select:
    sale_card = aliased(Card)
    return (select(LedgerEntry.id, LedgerEntry.created_at, LedgerEntry.account_id,
                   sale_card.number, _newest_card(LedgerEntry.account_id), LedgerEntry.kind,
                   LedgerEntry.points, LedgerEntry.pending_delta, Sale.receipt_number,
                   Store.name, LedgerEntry.actor, LedgerEntry.reason)
            .outerjoin(Sale, Sale.id == LedgerEntry.sale_id)
            .outerjoin(sale_card, sale_card.id == Sale.card_id)
            .outerjoin(Store, Store.id == LedgerEntry.store_id)
            .where(LedgerEntry.program_id == program.id, *within(program, period,
                                                                  LedgerEntry.created_at)))


def sale_query(program: Program, period: Period) -> Select:
    return (select(Sale.id, Sale.created_at, Sale.receipt_number, Store.name, Terminal.name,
                   Staff.username, Sale.account_id, Card.number, Sale.status,
                   Sale.total_minor, Sale.cash_minor, Sale.redeemed_minor, Sale.points_redeemed,
                   Sale.points_earned, Sale.returned_minor, Sale.points_reversed,
                   Sale.points_restored)
            .join(Store, Store.id == Sale.store_id)
            .join(Terminal, Terminal.id == Sale.terminal_id)
            .outerjoin(Staff, Staff.id == Sale.staff_id)
            .join(Card, Card.id == Sale.card_id)
            .where(Sale.program_id == program.id, Sale.kind == "sale",
                   *within(program, period, Sale.created_at)))


def within(program: Program, period: Period, column: Any) -> list[Any]:
    """`column` (naive UTC) falls on one of the period's local days."""
    return [column >= local_day_start_utc(program, period.first),
            column < local_day_start_utc(program, period.last + dt.timedelta(days=1))]


def signed_value_minor(points: int, rules: ProgramRules) -> int:
    """What `points` are worth at the program's redemption rate, with their sign (a debit's
    value is negative), in minor units."""
    value = points_value_minor(abs(points), rules)
    return -value if points < 0 else value


def rows_after(query: Select, id_column: Any, after: int) -> list[Any]:
    """The next page of `query`: its rows with an id above `after`, in id order."""
    return list(db.session.execute(query.where(id_column > after).order_by(id_column)
                                   .limit(PAGE_ROWS)))


# --- cells -----------------------------------------------------------------------------------

class Cells:
    """How one program's rows become CSV cells: its currency, time zone, rate of points."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.rules = rules_for(program)
        self.exponent = currency_exponent(program.currency)

    def money(self, amount_minor: int) -> Decimal:
        return Decimal(amount_minor).scaleb(-self.exponent)

    def points_value(self, points: int) -> Decimal:
        return self.money(signed_value_minor(points, self.rules))

    def local(self, moment: dt.datetime) -> dt.datetime:
        return utc_to_local(self.program, moment)

    def member(self, row: Any) -> list[Any]:
        (account_id, phone, first_name, card, available, pending, email, birthday, language,
         opted_out, status, created_at) = row
        return [account_id, phone, first_name, card, available, pending,
                self.points_value(max(available, 0)), self.program.currency, email, birthday,
                language, "no" if opted_out else "yes", status, self.local(created_at).date()]

    def entry(self, row: Any) -> list[Any]:
        (entry_id, created_at, account_id, sale_card, newest_card, kind, points, pending,
         receipt, store, actor, reason) = row
        local = self.local(created_at)
        return [local.date(), local.time().replace(microsecond=0), entry_id, account_id,
                sale_card or newest_card, kind, points, pending, self.points_value(points),
                self.program.currency, receipt, store, actor, reason]

    def sale(self, row: Any) -> list[Any]:
        (sale_id, created_at, receipt, store, terminal, cashier, account_id, card, status,
         total, cash, redeemed, points_redeemed, points_earned, returned, taken_back,
         given_back) = row
        local = self.local(created_at)
        return [local.date(), local.time().replace(microsecond=0), sale_id, receipt, store,
                terminal, cashier, account_id, card, status, self.money(total),
                self.money(cash), self.money(redeemed), points_redeemed, points_earned,
                self.money(returned), taken_back, given_back, self.program.currency]


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote; the rest as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def csv_text(rows: Iterable[Sequence[Any]], lines_per_piece: int = PAGE_ROWS) -> Iterator[str]:
    """The rows as CSV text, in pieces of a few hundred lines (what a response streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    waiting = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        waiting += 1
        if waiting == lines_per_piece:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            waiting = 0
    if waiting:
        yield buffer.getvalue()

