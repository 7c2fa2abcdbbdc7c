"""Reading what the cashier typed into checked values; a mistake names the field in words."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from cashier_ui.i18n import gettext as _
from cashier_ui.messages import FormError
from pos_loyalty.payloads import (
    MAX_LINES, MAX_MINOR, MAX_POINTS, MAX_QUANTITY, is_plain_text,
)
from pos_loyalty.rules import BasketLine, currency_exponent

MAX_TEXT = 64


def parse_amount(raw: str | None, currency: str, label: str) -> int | None:
    """"12,50" or "12.50" -> 1250 minor units; None when the field is empty."""
    text = (raw or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not text:
        return None
    text = text.replace(",", ".")
    exponent = currency_exponent(currency)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FormError(_("%(field)s is not an amount.", field=label)) from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -exponent:
        raise FormError(_("%(field)s is not an amount.", field=label))
    minor = int(value.scaleb(exponent))
    if minor > MAX_MINOR:
        raise FormError(_("%(field)s is too large.", field=label))
    return minor


def parse_whole(raw: str | None, label: str, *, minimum: int = 0, maximum: int = MAX_POINTS,
                default: int | None = None) -> int:
    text = (raw or "").strip().replace(" ", "")
    if not text:
        if default is not None:
            return default
        raise FormError(_("%(field)s is required.", field=label))
    try:
        value = int(text)
    except ValueError:
        raise FormError(_("%(field)s must be a whole number.", field=label)) from None
    if not minimum <= value <= maximum:
        raise FormError(_("%(field)s must be between %(low)s and %(high)s.", field=label,
                          low=minimum, high=maximum))
    return value


def parse_text(raw: str | None, label: str, *, required: bool = True,
               max_length: int = MAX_TEXT) -> str:
    text = (raw or "").strip()
    if required and not text:
        raise FormError(_("%(field)s is required.", field=label))
    if len(text) > max_length:
        raise FormError(_("%(field)s is too long.", field=label))
    if not is_plain_text(text):
        raise FormError(_("%(field)s cannot contain control or text-direction characters.",
                          field=label))
    return text


def basket_rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """The itemised rows as typed, the empty ones left out (to render the form again)."""
    rows = zip(form.getlist("line_item"), form.getlist("line_category"),
               form.getlist("line_quantity"), form.getlist("line_price"))
    return [{"item": item, "category": category, "quantity": quantity, "price": price}
            for item, category, quantity, price in rows
            if item.strip() or price.strip()]


def parse_basket(form: MultiDict[str, str], currency: str) -> list[BasketLine]:
    """The itemised lines when any is filled in, else the total as one line."""
    rows = basket_rows(form)
    if len(rows) > MAX_LINES:
        raise FormError(_("A basket has at most %(count)s lines.", count=MAX_LINES))
    if rows:
        return [_line(row, number, currency) for number, row in enumerate(rows, start=1)]
    total = parse_amount(form.get("total"), currency, _("Total"))
    if not total:
        raise FormError(_("Enter the total of the bill, or its lines."))
    return [BasketLine(sku="TOTAL", category="", quantity=1, unit_price_minor=total)]


def _line(row: dict[str, str], number: int, currency: str) -> BasketLine:
    label = _("Line %(number)s", number=number)
    price = parse_amount(row["price"], currency, label + " – " + _("Unit price"))
    if price is None:
        raise FormError(_("%(field)s is required.", field=label + " – " + _("Unit price")))
    return BasketLine(
        sku=parse_text(row["item"], label + " – " + _("Item"), required=False) or f"ITEM{number}",
        category=parse_text(row["category"], label + " – " + _("Category"),
                            required=False).lower(),
        quantity=parse_whole(row["quantity"], label + " – " + _("Quantity"), minimum=1,
                             maximum=MAX_QUANTITY, default=1),
        unit_price_minor=price)


def basket_to_json(lines: list[BasketLine]) -> str:
    return json.dumps([[line.sku, line.category, line.quantity, line.unit_price_minor]
                       for line in lines], separators=(",", ":"))


def basket_from_json(raw: str | None) -> list[BasketLine]:
    """The basket carried in the confirm form's hidden field."""
    try:
        items: Any = json.loads(raw or "")
        lines = [BasketLine(str(sku)[:MAX_TEXT], str(category)[:MAX_TEXT], int(quantity),
                            int(price)) for sku, category, quantity, price in items]
    except (ValueError, TypeError):
        raise FormError(_("The basket was lost: enter it again.")) from None
    if not lines or len(lines) > MAX_LINES or any(
            line.quantity < 1 or line.unit_price_minor < 0
            or not is_plain_text(line.sku + line.category) for line in lines):
        raise FormError(_("The basket was lost: enter it again."))
    return lines
