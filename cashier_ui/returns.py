"""Returns: find the receipt, choose an amount or lines, see the points move, confirm."""
from __future__ import annotations

import uuid
from typing import Any

from flask import g, redirect, render_template, request, session, url_for

from cashier_ui import forms
from cashier_ui.blueprint import bp
from cashier_ui.i18n import gettext as _
from cashier_ui.messages import FormError, error_sentence
from pos_loyalty import sales
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import checkout, customers, store_reports


@bp.get("/returns")
def returns() -> Any:
    return _returns_page()


def _returns_page(error: str = "", found: list[Any] | None = None, receipt_number: str = "",
                  status: int = 200) -> tuple[str, int]:
    recent, customer = [], None
    number = session.get("card")
    if number:
        try:
            customer = customers.look_up_card(g.program, number, now())["account"]
            if customer is not None:
                recent = store_reports.recent_sales(g.program, g.store.id, customer["id"])
        except LoyaltyError:
            customer = None
    return render_template("cashier/returns.html", error=error, found=found,
                           receipt_number=receipt_number, recent=recent, customer=customer,
                           currency=g.program.currency), status


@bp.post("/returns/find")
def find_receipt() -> Any:
    try:
        number = forms.parse_text(request.form.get("receipt_number"), _("Receipt number"),
                                  required=False)
    except FormError as error:
        return _returns_page(error.message, status=422)
    if not number:
        return _returns_page(_("Type or scan the receipt number."), status=422)
    found = store_reports.find_receipts(g.program, g.store.id, number)
    if len(found) == 1:
        return redirect(url_for("cashier.return_form", sale_id=found[0].id))
    if not found:
        return _returns_page(_("No receipt with this number in this store."),
                             receipt_number=number, status=404)
    return _returns_page(found=found, receipt_number=number)


def _return_page(sale_id: int, **extra: Any) -> tuple[str, int]:
    status = extra.pop("status", 200)
    data = store_reports.receipt(g.program, g.store.id, sale_id)
    return render_template("cashier/return_form.html", **data, currency=g.program.currency,
                           **extra), status


@bp.get("/sales/<int:sale_id>/return")
def return_form(sale_id: int) -> Any:
    return _return_page(sale_id)


def _chosen_return(sale_id: int) -> tuple[int | None, list[sales.ReturnedLine] | None]:
    """An amount, or quantities of lines; exactly one of them."""
    data = store_reports.receipt(g.program, g.store.id, sale_id)
    lines = []
    for line in data["lines"]:
        quantity = forms.parse_whole(request.form.get(f"qty_{line.line_no}"),
                                     _("Quantity to return"), maximum=line.quantity, default=0)
        if quantity:
            lines.append(sales.ReturnedLine(sku=line.sku, quantity=quantity))
    amount = forms.parse_amount(request.form.get("amount"), g.program.currency,
                                _("Amount to return"))
    if lines and amount:
        raise FormError(_("Return either an amount or lines, not both."))
    if not lines and not amount:
        raise FormError(_("Enter an amount or lines to return."))
    return (None, lines) if lines else (amount, None)


def _return_fields() -> dict[str, str]:
    return {name: value for name, value in request.form.items()
            if name == "amount" or name.startswith("qty_")}


@bp.post("/sales/<int:sale_id>/return/preview")
def preview_return(sale_id: int) -> Any:
    try:
        store_reports.check_store_sale(g.program, g.store.id, sale_id)
        amount, lines = _chosen_return(sale_id)
        preview = checkout.preview_return(g.program, g.terminal, sale_id, now(),
                                          amount_minor=amount, lines=lines)
    except LoyaltyError as error:
        return _return_page(sale_id, error=error_sentence(error), typed=_return_fields(),
                            status=error.status)
    return _return_page(sale_id, preview=preview, typed=_return_fields(), key=str(uuid.uuid4()))


@bp.post("/sales/<int:sale_id>/return")
def confirm_return(sale_id: int) -> Any:
    try:
        store_reports.check_store_sale(g.program, g.store.id, sale_id)
        amount, lines = _chosen_return(sale_id)
        done = checkout.return_sale(g.program, g.terminal, sale_id, now(),
                                    request.form.get("idempotency_key"), amount_minor=amount,
                                    lines=lines, staff_id=g.staff.id)
    except LoyaltyError as error:
        return _return_page(sale_id, error=error_sentence(error), typed=_return_fields(),
                            status=error.status)
    return render_template("cashier/return_done.html", done=done, sale_id=sale_id,
                           currency=g.program.currency)
