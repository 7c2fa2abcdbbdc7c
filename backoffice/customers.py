"""Customers: one search box, and the customer page with everything support needs to help.

The page's forms post to `customer_actions`; an action refused shows this page again with the
sentence and what was typed.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import g, render_template, request

from backoffice.blueprint import area, bp, setting
from backoffice.customer_words import customer_words
from cashier_ui.i18n import current_language
from pos_loyalty.clock import now
from pos_loyalty.payloads import MAX_ID
from pos_loyalty.usecases import customer_care

MAX_QUERY = 254
# Ledger entry ids are BIGINT: a larger cursor would overflow PostgreSQL.
MAX_CURSOR = 2**63 - 1


@bp.get("/customers")
@area("customers")
def customers() -> Any:
    text = request.args.get("q", "").strip()[:MAX_QUERY]
    after = cursor("after")
    found = customer_care.find_customers(g.program, text, after, int(setting("page_size")))
    return render_template("backoffice/customers.html", q=text, found=found,
                           **customer_words())


@bp.get(f"/customers/<int(max={MAX_ID}):account_id>")
@area("customers")
def customer(account_id: int) -> Any:
    return customer_page(account_id)


def customer_page(account_id: int, error: str = "", status: int = 200,
                  typed: dict[str, str] | None = None) -> tuple[str, int]:
    """The customer page; after a refused action, with its sentence, status and the typed
    values (the adjustment's key kept: a claim rolled back may be used again)."""
    record = customer_care.customer(g.program, account_id, now(), current_language(),
                                    cursor("entries_before"),
                                    int(setting("page_size")))
    typed = typed or {}
    return render_template("backoffice/customer.html", record=record, error=error,
                           typed=typed, adjust_key=typed.get("idempotency_key")
                           or str(uuid.uuid4()),
                           limit=customer_care.support_limit(),
                           currency=g.program.currency, **customer_words()), status


def cursor(name: str) -> int | None:
    """A page link's id, or None when it is not one (the first page then)."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_CURSOR else None
