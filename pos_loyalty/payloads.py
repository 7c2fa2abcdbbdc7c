"""Reading JSON request bodies into checked values: every mistake names its field."""
from __future__ import annotations

import json
from typing import Any

from flask import Request

from pos_loyalty.errors import MalformedRequest, UnsupportedMediaType, ValidationFailed
from pos_loyalty.rules import BasketLine

MAX_MINOR = 10**12          # ten billion in a 2-decimal currency: no real till gets near it
MAX_POINTS = 10**9            # far above any real balance, far below BIGINT
MAX_QUANTITY = 1_000_000
MAX_LINES = 500
MAX_ID = 2**31 - 1          # ids are INTEGER columns: larger ones overflow PostgreSQL
MAX_HOLD_TTL_SECONDS = 86_400   # a day; each program's hold_max_ttl_seconds is the real limit


def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 415 for another content type, 400 for broken JSON."""
    if optional and not request.get_data():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise MalformedRequest()
    if not _is_unicode(body):
        raise MalformedRequest("The request body is not valid Unicode (a lone \\uD800 escape).")
    return body


def _is_unicode(body: dict[str, Any]) -> bool:
    """JSON may escape half a UTF-16 pair; such a string cannot be hashed or stored."""
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def integer(body: dict[str, Any], field: str, *, minimum: int = 0, maximum: int = MAX_MINOR,
            default: int | None = None, required: bool = True) -> int | None:
    value = body.get(field, default)
    if value is None:
        if required:
            raise ValidationFailed(f"{field} is required.", field=field)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be a whole number.", field=field)
    if not minimum <= value <= maximum:
        raise ValidationFailed(f"{field} must be between {minimum} and {maximum}.", field=field)
    return value


def text(body: dict[str, Any], field: str, *, max_length: int = 64, required: bool = True,
         default: str = "") -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise ValidationFailed(f"{field} is required.", field=field)
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationFailed(f"{field} must be a non-empty string.", field=field)
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise ValidationFailed(f"{field} cannot contain a NUL character.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters.", field=field)
    return value.strip()


def basket(body: dict[str, Any]) -> list[BasketLine]:
    """`lines` when given, else `total_minor` as one line."""
    if "lines" not in body:
        total = integer(body, "total_minor", minimum=1)
        return [BasketLine(sku="TOTAL", category="", quantity=1, unit_price_minor=total)]
    lines = body["lines"]
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_LINES:
        raise ValidationFailed(f"lines must be a list of 1 to {MAX_LINES} items.", field="lines")
    parsed = [_line(item, index) for index, item in enumerate(lines)]
    if sum(line.amount_minor for line in parsed) > MAX_MINOR:
        raise ValidationFailed("The basket total is too large.", field="lines")
    if sum(line.amount_minor for line in parsed) <= 0:
        raise ValidationFailed("The basket total must be more than zero.", field="lines")
    if "total_minor" in body and body["total_minor"] != sum(l.amount_minor for l in parsed):
        raise ValidationFailed("total_minor does not match the sum of the lines.",
                               field="total_minor")
    return parsed


def _line(item: Any, index: int) -> BasketLine:
    if not isinstance(item, dict):
        raise ValidationFailed(f"lines[{index}] must be an object.", field=f"lines[{index}]")
    prefix = f"lines[{index}]."
    try:
        return BasketLine(
            sku=text(item, "sku"),
            category=text(item, "category", required=False).lower(),
            quantity=integer(item, "quantity", minimum=1, maximum=MAX_QUANTITY),
            unit_price_minor=integer(item, "unit_price_minor", minimum=0))
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=prefix + str(exc.details.get("field"))) from exc
