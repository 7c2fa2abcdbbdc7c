"""The back office's CSV exports: members, ledger entries and sales of a period.

Each export is audited (who took which data, when), then streamed: the rows are read a page
at a time, each page in its own short read transaction (`exports.rows_after` says why), so
memory stays flat and the tills keep writing while a large file downloads.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select

from pos_loyalty import audit, exports
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.exports import Cells, Period
from pos_loyalty.models import Account, LedgerEntry, Program, Sale
from pos_loyalty.programs import local_day

def members_csv(program: Program, actor: str, now: dt.datetime) -> Iterator[str]:
    """Every open account: phone, name, card, balance and its value, profile, opt-in."""
    _audit(program, actor, now, "members")
    cells = Cells(program)
    return exports.csv_text(_with_header(exports.MEMBER_HEADER, _paged(
        exports.member_query(program), Account.id, cells.member)))


def ledger_csv(program: Program, first: Any, last: Any, actor: str,
               now: dt.datetime) -> Iterator[str]:
    """The ledger entries of the local days `first` to `last` (ISO dates), for accounting:
    each with its value in money; ValidationFailed (before any byte) for a bad period."""
    chosen = exports.read_period(first, last, local_day(program, now))
    _audit(program, actor, now, "ledger", chosen)
    cells = Cells(program)
    return exports.csv_text(_with_header(exports.LEDGER_HEADER, _paged(
        exports.ledger_query(program, chosen), LedgerEntry.id, cells.entry)))


def sales_csv(program: Program, first: Any, last: Any, actor: str,
              now: dt.datetime) -> Iterator[str]:
    """The sales of the local days `first` to `last` with loyalty: totals, cash, points
    used and earned, returns; ValidationFailed (before any byte) for a bad period."""
    chosen = exports.read_period(first, last, local_day(program, now))
    _audit(program, actor, now, "sales", chosen)
    cells = Cells(program)
    return exports.csv_text(_with_header(exports.SALE_HEADER, _paged(
        exports.sale_query(program, chosen), Sale.id, cells.sale)))


def _audit(program: Program, actor: str, now: dt.datetime, what: str,
           chosen: Period | None = None) -> None:
    """Who took which data out, and when: written before the first byte goes."""
    details = {} if chosen is None else {"from": chosen.first.isoformat(),
                                         "to": chosen.last.isoformat()}
    run_in_transaction(lambda: audit.record(program, actor, "data_exported", f"export:{what}",
                                            now, **details))


def _with_header(header: list[str], rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield header
    yield from rows


def _paged(query: Select, id_column: Any,
           to_cells: Callable[[Any], list[Any]]) -> Iterator[list[Any]]:
    after = 0
    while True:
        page = retry_read(lambda: exports.rows_after(query, id_column, after))
        db.session.commit()   # the end of this page's read (objects stay loaded)
        if not page:
            return
        for row in page:
            yield to_cells(row)
        after = page[-1][0]
