"""Server-to-server POS API (/api/pos/v1): terminal key auth, thin views over the core."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from pos_loyalty import accounts, holds, openapi, sales
from pos_loyalty.clock import now
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import Unauthorized, ValidationFailed
from pos_loyalty.idempotency import request_fingerprint, run_once
from pos_loyalty.payloads import MAX_ID, MAX_POINTS, basket, integer, json_body, text
from pos_loyalty.programs import terminal_for_key
from pos_loyalty.security import app_hasher, app_lockout_policy
from pos_loyalty.upkeep import bring_up_to_date

bp = Blueprint("pos_api", __name__, url_prefix="/api/pos/v1")

PUBLIC_ENDPOINTS = {"pos_api.openapi_document"}


@bp.before_request
def authenticate_terminal() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    found = terminal_for_key(key.strip()) if scheme.lower() == "bearer" and key else None
    if found is None:
        raise Unauthorized()
    g.terminal, g.program, g.store = found


def _idempotent_write(work: Callable[[], tuple[int, dict[str, Any]]], *,
                      key_required: bool = True,
                      claim_with_first_read: bool = False) -> tuple[Response, int]:
    """Run a write in one transaction, once per Idempotency-Key."""
    key = request.headers.get("Idempotency-Key")
    body = request.get_json(silent=True) if request.get_data() else None
    fingerprint = request_fingerprint(request.method, request.path, body)
    scope = f"terminal:{g.terminal.id}"
    if key is None and not key_required:
        status, reply = run_in_transaction(work)
    else:
        status, reply = run_in_transaction(lambda: run_once(
            scope, key, fingerprint, work, claim_with_first_read=claim_with_first_read))
    return jsonify(reply), status


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.pos_document())


@bp.get("/cards/<card_number>")
def get_card(card_number: str) -> Response:
    def work() -> dict[str, Any]:
        card = accounts.find_card(g.program, card_number)
        return _card_view_up_to_date(card)
    return jsonify(run_in_transaction(work))


def _card_view_up_to_date(card: Any) -> dict[str, Any]:
    account = accounts.account_of_card(card)
    if account is not None:
        bring_up_to_date(g.program, account, now())
    return accounts.card_view(g.program, card)


@bp.post("/identify")
def identify() -> Response:
    body = json_body(request)
    check = run_in_transaction(lambda: accounts.check_pin(
        g.program, body.get("phone"), body.get("pin"), now(), app_lockout_policy(),
        app_hasher()))
    if check.error is not None:
        raise check.error

    def view() -> dict[str, Any]:
        return _card_view_up_to_date(accounts.primary_card(check.account.id))
    return jsonify(run_in_transaction(view))


@bp.post("/quote")
def quote_basket() -> Response:
    body = json_body(request)
    redeem = integer(body, "redeem_points", maximum=MAX_POINTS, default=0)
    q = run_in_transaction(lambda: sales.quote_for_card(
        g.program, body.get("card_number"), basket(body), redeem))
    return jsonify({
        "total_minor": q.total_minor, "eligible_earn_minor": q.eligible_earn_minor,
        "max_redeem_points": q.max_redeem_points, "max_redeem_minor": q.max_redeem_minor,
        "min_cash_minor": q.min_cash_minor, "points_if_no_redeem": q.points_if_no_redeem,
        "redeem_points": q.points_redeemed, "redeemed_minor": q.redeemed_minor,
        "cash_due_minor": q.cash_minor, "points_earned": q.points_earned})


@bp.post("/sales")
def create_sale() -> tuple[Response, int]:
    body = json_body(request)
    sale_request = sales.SaleRequest(
        card_number=body.get("card_number"),
        receipt_number=text(body, "receipt_number"),
        lines=basket(body),
        redeem_points=integer(body, "redeem_points", maximum=MAX_POINTS, default=0),
        hold_id=integer(body, "hold_id", minimum=1, maximum=MAX_ID, required=False))
    return _idempotent_write(
        lambda: (201, sales.record_sale(g.program, g.terminal, sale_request, now())),
        claim_with_first_read=True)


@bp.post(f"/sales/<int(max={MAX_ID}):sale_id>/returns")
def create_return(sale_id: int) -> tuple[Response, int]:
    body = json_body(request)
    if ("lines" in body) == ("amount_minor" in body):
        raise ValidationFailed("Send either amount_minor or lines.", field="amount_minor")
    amount = integer(body, "amount_minor", minimum=1, required=False)
    lines = _returned_lines(body["lines"]) if "lines" in body else None
    return _idempotent_write(lambda: (201, sales.record_return(
        g.program, g.terminal, sale_id, now(), amount_minor=amount, lines=lines)))


def _returned_lines(raw: Any) -> list[sales.ReturnedLine]:
    if not isinstance(raw, list) or not raw or len(raw) > 500:
        raise ValidationFailed("lines must be a list of 1 to 500 items.", field="lines")
    parsed = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationFailed(f"lines[{index}] must be an object.", field=f"lines[{index}]")
        parsed.append(sales.ReturnedLine(sku=text(item, "sku"),
                                         quantity=integer(item, "quantity", minimum=1,
                                                          maximum=1_000_000)))
    return parsed


@bp.post(f"/sales/<int(max={MAX_ID}):sale_id>/void")
def void_sale(sale_id: int) -> tuple[Response, int]:
    return _idempotent_write(lambda: (200, sales.void_sale(g.program, g.terminal, sale_id, now())),
                             key_required=False)


@bp.post("/holds")
def create_hold() -> tuple[Response, int]:
    body = json_body(request)
    receipt = text(body, "receipt_number")
    points = integer(body, "points", minimum=1, maximum=MAX_POINTS)
    ttl = integer(body, "ttl_seconds", minimum=1, maximum=86_400, required=False)
    return _idempotent_write(lambda: (201, holds.create_hold(
        g.program, g.terminal, body.get("card_number"), receipt, points, ttl, now())),
        key_required=False)


@bp.post(f"/holds/<int(max={MAX_ID}):hold_id>/capture")
def capture_hold(hold_id: int) -> tuple[Response, int]:
    body = json_body(request, optional=True)
    points = integer(body, "points", minimum=1, maximum=MAX_POINTS, required=False)
    return _idempotent_write(lambda: (200, holds.capture_hold(
        g.program, g.terminal, hold_id, points, now())), key_required=False)


@bp.post(f"/holds/<int(max={MAX_ID}):hold_id>/void")
def void_hold(hold_id: int) -> tuple[Response, int]:
    return _idempotent_write(lambda: (200, holds.void_hold(g.program, g.terminal, hold_id, now())),
                             key_required=False)
