"""Reading JSON request bodies into checked values: every mistake names its field."""
from __future__ import annotations

import json
import re
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
# Our bodies nest three levels (body, lines, a line); 32 leaves room and stops a deep one
# (a thousand levels) before anything walks it recursively.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep."
# Never accepted in text a person typed or a till sent (names, receipt numbers, items): C0
# and C1 control characters (NUL, tab and line breaks too) and DEL; the invisible marks that
# change the order text is shown in (LRM, RLM, bidi embeddings, overrides and isolates), with
# which a name or receipt number reads differently on a screen than it is stored.
FORBIDDEN_IN_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 415 for another content type, 400 for broken JSON."""
    if optional and not request.get_data():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        body = request.get_json(silent=True)
    except RecursionError:   # Python's parser recurses once per level: ~1,000 levels end it
        raise MalformedRequest(TOO_DEEP) from None
    if not isinstance(body, dict):
        raise MalformedRequest()
    if not _nested_at_most(body, MAX_JSON_DEPTH):
        raise MalformedRequest(TOO_DEEP)
    if not _is_unicode(body):
        raise MalformedRequest("The request body is not valid Unicode (a lone \\uD800 escape).")
    return body


def _nested_at_most(body: Any, depth: int) -> bool:
    """Whether no array or object lies deeper than `depth` levels (walked without recursion)."""
    level = [body]
    for _ in range(depth):
        level = [child for value in level if isinstance(value, (dict, list))
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return True
    return not any(isinstance(value, (dict, list)) for value in level)


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
    if len(value) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters.", field=field)
    return plain_text(value.strip(), field)


def is_plain_text(value: str) -> bool:
    """Whether `value` is free of control and text-direction characters (FORBIDDEN_IN_TEXT)."""
    return FORBIDDEN_IN_TEXT.search(value) is None


def plain_text(value: str, field: str) -> str:
    """`value`, or ValidationFailed naming `field` when it holds a control character (NUL,
    which PostgreSQL cannot store, among them) or an invisible text-direction mark."""
    if not is_plain_text(value):
        raise ValidationFailed(f"{field} cannot contain control or text-direction characters.",
                               field=field)
    return value


def choice(body: dict[str, Any], field: str, allowed: tuple[str, ...], *, default: str) -> str:
    """One of `allowed`; `default` when the field is absent or null."""
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise ValidationFailed(f"{field} must be one of: {', '.join(allowed)}.", field=field)
    return value


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
