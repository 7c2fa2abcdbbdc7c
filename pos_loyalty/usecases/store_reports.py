"""What a store's till reads back: receipts, today's sales, the shift report.

Reads only, each in its own short transaction; every figure comes from `pos_loyalty.reports`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import reports
from pos_loyalty.db import run_in_transaction
from pos_loyalty.models import Program, Sale
from pos_loyalty.notify.texts import language_of
from pos_loyalty.usecases import offers
from pos_loyalty.wallet import links


def receipt(program: Program, store_id: int, sale_id: int,
            language: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The receipt of one of the store's sales, with its lines, returns and balance after,
    the campaigns that gave it points (named in `language`, else the program's), and, at
    `now`, the add-to-wallet page of a customer whose card is in no wallet yet."""
    def work() -> dict[str, Any]:
        shown = reports.receipt(program, store_id, sale_id)
        link = links.receipt_link(program, shown["sale"].account_id, now) \
            if now is not None else None
        return {**shown, "wallet_link": link, "campaigns": offers.sale_campaigns(
            program, shown["sale"].id, language or language_of(program, None))}
    return run_in_transaction(work)


def check_store_sale(program: Program, store_id: int, sale_id: int) -> None:
    """SaleNotFound unless the sale is one of this store's."""
    run_in_transaction(lambda: reports.store_sale(program, store_id, sale_id))


def find_receipts(program: Program, store_id: int, receipt_number: str) -> list[Sale]:
    return run_in_transaction(lambda: reports.find_receipts(program, store_id, receipt_number))


def recent_sales(program: Program, store_id: int, account_id: int) -> list[Sale]:
    return run_in_transaction(lambda: reports.recent_sales(program, store_id, account_id))


def sales_of_day(program: Program, store_id: int, day: dt.date,
                 terminal_id: int | None = None) -> list[Any]:
    return run_in_transaction(lambda: reports.sales_of_day(program, store_id, day,
                                                           terminal_id=terminal_id))


def shift_report(program: Program, store_id: int, day: dt.date) -> reports.ShiftReport:
    return run_in_transaction(lambda: reports.shift_report(program, store_id, day))
