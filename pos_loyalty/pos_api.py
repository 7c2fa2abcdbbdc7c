"""Server-to-server POS API (/api/pos/v1): terminal key auth, thin views over the core."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from pos_loyalty import openapi, rate_limits, sales, terminal_days
from pos_loyalty.clock import now
from pos_loyalty.errors import Unauthorized, ValidationFailed
from pos_loyalty.payloads import (
    MAX_HOLD_TTL_SECONDS, MAX_ID, MAX_LINES, MAX_POINTS, MAX_QUANTITY, basket, choice, integer,
    json_body, text,
)
from pos_loyalty.programs import terminal_for_key
from pos_loyalty.proofs import PROOF_MAX_LENGTH
from pos_loyalty.rules import CARD_ENTRIES
from pos_loyalty.usecases import checkout, customers, till_reports, wallets

bp = Blueprint("pos_api", __name__, url_prefix="/api/pos/v1")

PUBLIC_ENDPOINTS = {"pos_api.openapi_document"}
# The endpoints limited per terminal, and the [pos_api] setting holding each one's limits.
# Endpoints naming the same setting share one budget: a card lookup counts the same by number
# in the URL or in the body.
TERMINAL_RATE_LIMITS = {
    "pos_api.get_card": "lookup_rate_limit",
    "pos_api.lookup_card": "lookup_rate_limit",
    "pos_api.identify": "identify_rate_limit",
}


@bp.before_request
def authenticate_terminal() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    found = terminal_for_key(key.strip(), now()) if scheme.lower() == "bearer" and key else None
    if found is None:
        raise Unauthorized()
    g.terminal, g.program, g.store = found
    setting = TERMINAL_RATE_LIMITS.get(request.endpoint or "")
    if setting is not None:
        limits = current_app.config["LOYALTY"]["pos_api"][setting]
        rate_limits.count_or_refuse(limits, "pos-terminal", setting, str(g.terminal.id))


def _idempotency_key() -> str | None:
    return request.headers.get("Idempotency-Key")


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.pos_document())


@bp.get("/cards/<card_number>")
def get_card(card_number: str) -> Response:
    """Deprecated: the card number lands in access logs; POST /cards/lookup instead."""
    return jsonify(customers.look_up_card(g.program, card_number, now()))


@bp.post("/cards/lookup")
def lookup_card() -> Response:
    body = json_body(request)
    return jsonify(customers.look_up_card_at_till(g.program, g.terminal, body.get("card_number"),
                                                  _card_entry(body), now()))


@bp.post("/cards/wallet-link")
def card_wallet_link() -> Response:
    """The customer's add-to-wallet page, for the receipt to print as a QR code."""
    body = json_body(request)
    return jsonify(wallets.till_wallet_link(g.program, body.get("card_number"),
                                            now()).to_json())


@bp.post("/identify")
def identify() -> Response:
    body = json_body(request)
    if ("phone" in body) == ("card_number" in body):
        raise ValidationFailed("Send phone or card_number, with pin.", field="phone")
    return jsonify(customers.identify(g.program, g.terminal, body.get("pin"), now(),
                                      phone=body.get("phone"),
                                      card_number=body.get("card_number")))


def _card_entry(body: dict[str, Any]) -> str:
    return choice(body, "card_entry", CARD_ENTRIES, default="typed")


def _proof(body: dict[str, Any]) -> str | None:
    return text(body, "proof", max_length=PROOF_MAX_LENGTH, required=False) or None


@bp.post("/quote")
def quote_basket() -> Response:
    body = json_body(request)
    redeem = integer(body, "redeem_points", maximum=MAX_POINTS, default=0)
    # The terminal's store: store campaigns apply in the quote as they will in the sale.
    q = checkout.quote(g.program, body.get("card_number"), basket(body), now(), redeem,
                       g.terminal.store_id)
    return jsonify({
        "total_minor": q.total_minor, "eligible_earn_minor": q.eligible_earn_minor,
        "max_redeem_points": q.max_redeem_points, "max_redeem_minor": q.max_redeem_minor,
        "min_cash_minor": q.min_cash_minor, "points_if_no_redeem": q.points_if_no_redeem,
        "redeem_points": q.points_redeemed, "redeemed_minor": q.redeemed_minor,
        "cash_due_minor": q.cash_minor, "points_earned": q.points_earned,
        "base_points": q.base_points, "tier_points": q.tier_points,
        "applied_campaigns": [sales.applied_view(c) for c in q.campaigns], "tier": q.tier})


@bp.post("/sales")
def create_sale() -> tuple[Response, int]:
    body = json_body(request)
    sale_request = sales.SaleRequest(
        card_number=body.get("card_number"),
        receipt_number=text(body, "receipt_number"),
        lines=basket(body),
        redeem_points=integer(body, "redeem_points", maximum=MAX_POINTS, default=0),
        hold_id=integer(body, "hold_id", minimum=1, maximum=MAX_ID, required=False),
        card_entry=_card_entry(body), proof=_proof(body))
    return jsonify(checkout.sell(g.program, g.terminal, sale_request, now(),
                                 _idempotency_key())), 201


@bp.post(f"/sales/<int(max={MAX_ID}):sale_id>/returns")
def create_return(sale_id: int) -> tuple[Response, int]:
    body = json_body(request)
    if ("lines" in body) == ("amount_minor" in body):
        raise ValidationFailed("Send either amount_minor or lines.", field="amount_minor")
    amount = integer(body, "amount_minor", minimum=1, required=False)
    lines = _returned_lines(body["lines"]) if "lines" in body else None
    return jsonify(checkout.return_sale(g.program, g.terminal, sale_id, now(),
                                        _idempotency_key(), amount_minor=amount,
                                        lines=lines)), 201


def _returned_lines(raw: Any) -> list[sales.ReturnedLine]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_LINES:
        raise ValidationFailed(f"lines must be a list of 1 to {MAX_LINES} items.", field="lines")
    parsed = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValidationFailed(f"lines[{index}] must be an object.", field=f"lines[{index}]")
        parsed.append(sales.ReturnedLine(sku=text(item, "sku"),
                                         quantity=integer(item, "quantity", minimum=1,
                                                          maximum=MAX_QUANTITY)))
    return parsed


@bp.post(f"/sales/<int(max={MAX_ID}):sale_id>/void")
def void_sale(sale_id: int) -> tuple[Response, int]:
    return jsonify(checkout.void_sale(g.program, g.terminal, sale_id, now(),
                                      idempotency_key=_idempotency_key())), 200


@bp.post("/holds")
def create_hold() -> tuple[Response, int]:
    body = json_body(request)
    receipt = text(body, "receipt_number")
    points = integer(body, "points", minimum=1, maximum=MAX_POINTS)
    ttl = integer(body, "ttl_seconds", minimum=1, maximum=MAX_HOLD_TTL_SECONDS,
                  required=False)
    return jsonify(checkout.hold_points(g.program, g.terminal, body.get("card_number"), receipt,
                                        points, ttl, now(), _idempotency_key(),
                                        card_entry=_card_entry(body),
                                        proof=_proof(body))), 201


@bp.post(f"/holds/<int(max={MAX_ID}):hold_id>/capture")
def capture_hold(hold_id: int) -> tuple[Response, int]:
    body = json_body(request, optional=True)
    points = integer(body, "points", minimum=1, maximum=MAX_POINTS, required=False)
    return jsonify(checkout.capture_hold(g.program, g.terminal, hold_id, points, now(),
                                         _idempotency_key())), 200


@bp.post(f"/holds/<int(max={MAX_ID}):hold_id>/void")
def void_hold(hold_id: int) -> tuple[Response, int]:
    return jsonify(checkout.release_hold(g.program, g.terminal, hold_id, now(),
                                         _idempotency_key())), 200


@bp.put("/days/<day>/receipts-without-card")
def report_receipts_without_card(day: str) -> Response:
    """Idempotent by nature: the same day sent again (a replay, a corrected count) replaces
    the count, so no Idempotency-Key is needed."""
    parsed = terminal_days.parse_day(day)
    count = integer(json_body(request), "count",
                    maximum=terminal_days.MAX_RECEIPTS_WITHOUT_CARD)
    return jsonify(till_reports.report_receipts_without_card(g.program, g.terminal, parsed,
                                                             count, now()))


@bp.get("/days/<day>/receipts-without-card")
def get_receipts_without_card(day: str) -> Response:
    return jsonify(till_reports.receipts_without_card(g.terminal, terminal_days.parse_day(day)))
