"""OpenAPI 3.1 document of the POS API, served at /api/pos/v1/openapi.json.

Built from small schema helpers. The request bounds are the ones `pos_loyalty.payloads` and the
views check; each operation lists every error it can answer (as error classes), so a
schema-driven fuzzer (tests/integration/test_pos_openapi.py) checks the answers as well as the
routes, and openapi-core checks real flows against it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from werkzeug import exceptions as http

from pos_loyalty import errors as e
from pos_loyalty.openapi_schemas import (
    OPENAPI_VERSION, ErrorClass, Schema, card_number, error_responses, error_schemas,
    json_content, nullable, phone, ref,
)
from pos_loyalty.payloads import MAX_ID, MAX_LINES, MAX_MINOR, MAX_POINTS, MAX_QUANTITY
from pos_loyalty.proofs import PROOF_MAX_LENGTH
from pos_loyalty.rules import CARD_ENTRIES
from pos_loyalty.terminal_days import MAX_DAYS_BACK, MAX_RECEIPTS_WITHOUT_CARD

Errors = Iterable[ErrorClass]

TEXT_MAX_LENGTH = 64           # payloads.text's default
IDEMPOTENCY_KEY_MAX_LENGTH = 255
HOLD_TTL_MAX_SECONDS = 86_400  # the program's hold_max_ttl_seconds may be lower

CARD_STATUSES = ["blank", "active", "blocked", "lost", "replaced", "closed"]
ACCOUNT_STATUSES = ["active", "blocked", "closed"]


# --- schema helpers -------------------------------------------------------------------------

def integer(minimum: int | None = None, maximum: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "integer", "format": "int64", **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def string(min_length: int = 1, max_length: int = TEXT_MAX_LENGTH, **extra: Any) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


def non_blank(**extra: Any) -> Schema:
    """A text field that must hold something besides white space (it is stored stripped)."""
    return string(pattern=r"\S", **extra)


def request_object(properties: Schema, required: list[str], **extra: Any) -> Schema:
    """A request body: unknown fields are ignored by the server, so they are allowed."""
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:  # OpenAPI 3.0 refuses an empty list
        schema["required"] = required
    return schema


def reply_object(properties: Schema) -> Schema:
    """A response body: every field is always there and there are no others."""
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def counts(*names: str) -> Schema:
    """Integer response fields (points and minor amounts; a balance may be negative)."""
    return {name: integer() for name in names}


def reply(description: str, schema_name: str) -> Schema:
    return {"description": description, "content": json_content(ref(schema_name))}


# --- components -----------------------------------------------------------------------------

BASKET_LINE = request_object({
    "sku": non_blank(),
    "category": string(min_length=0, description="Lower-cased; some categories earn nothing."),
    "quantity": integer(1, MAX_QUANTITY),
    "unit_price_minor": integer(0, MAX_MINOR),
}, ["sku", "quantity", "unit_price_minor"])

BASKET = {
    "total_minor": integer(1, MAX_MINOR, description="The bill; required when no lines are "
                                                     "sent, and their sum when both are."),
    "lines": {"type": "array", "items": ref("BasketLine"), "minItems": 1, "maxItems": MAX_LINES,
              "description": f"The bill line by line; the lines' total is 1 to {MAX_MINOR}."},
}
# The views enforce these rules (422 validation_error); a schema-level oneOf of required-only
# branches would leave generated clients with an untyped body.
BASKET_RULE = "Send total_minor, or lines (then total_minor, if sent, must be their sum)."

CARD_NUMBER = card_number()
CARD_ENTRY = {"type": "string", "enum": list(CARD_ENTRIES), "default": "typed",
              "description": "How the till got card_number: \"scanned\" when its scanner read "
                             "the barcode (a plastic card, or the phone app's card with its live "
                             "code, sent as read), \"typed\" otherwise. Spending points needs a "
                             "scan or a proof; earning needs neither."}
PROOF = string(max_length=PROOF_MAX_LENGTH, description=(
    "The proof that identify (phone or card number, and the PIN) or the look-up of a scanned "
    "card gave this terminal for this customer; it lasts a few minutes (proof_expires_at)."))
SPENDING_RULE = (" Spending points (redeem_points above 0, or a hold) needs the customer at "
                 "the till: card_entry \"scanned\", or a proof; else 403 proof_required, whose "
                 "details.reason says what was missing: typed_number, "
                 "virtual_card_without_live_code (a phone app's card scanned without its live "
                 "code: it earns, it does not spend), live_code_expired, live_code_invalid, "
                 "live_code_locked (too many wrong codes of late), proof_invalid (another "
                 "terminal's or customer's, over, or not ours).")
PROOF_REPLY = {"proof": {"type": "string"},
               "proof_expires_at": {"type": "string", "format": "date-time"}}

CARD_VIEW = {
    "card_number": {"type": "string"},
    "status": {"type": "string", "enum": CARD_STATUSES},
    "account": {**nullable(ref("Account")),
                "description": "null for a blank card not yet given to a customer."}}

SCHEMAS: dict[str, Schema] = {
    "Balance": reply_object(counts("available", "pending")),
    "Account": reply_object({
        "id": integer(1), "first_name": {"type": "string"}, "phone_masked": {"type": "string"},
        "status": {"type": "string", "enum": ACCOUNT_STATUSES},
        **counts("available_points", "pending_points", "available_value_minor"),
        "can_redeem": {"type": "boolean"},
        "tier": {**nullable(ref("TierName")),
                 "description": "The customer's VIP tier, named in the program's language; "
                                "null below the first tier or when the program has none."}}),
    "TierName": reply_object({"key": {"type": "string"}, "name": {"type": "string"}}),
    "CardView": reply_object(CARD_VIEW),
    "BasketLine": BASKET_LINE,
    "IdentifiedCard": reply_object({
        **CARD_VIEW,
        **{name: {**field, "description": "Send it with the sale or hold that spends points "
                                          "(this terminal, this customer, until it ends)."}
           for name, field in PROOF_REPLY.items()}}),
    "LookedUpCard": reply_object({
        **CARD_VIEW,
        **{name: {**nullable(field), "description": "A proof when card_entry was \"scanned\" "
                                                    "and the scan shows the customer at the "
                                                    "till (a plastic card, or the phone's card "
                                                    "with a valid live code); else null."}
           for name, field in PROOF_REPLY.items()}}),
    "LookupRequest": request_object({"card_number": CARD_NUMBER, "card_entry": CARD_ENTRY},
                                    ["card_number"]),
    "WalletLinkRequest": request_object({"card_number": CARD_NUMBER}, ["card_number"]),
    "WalletLink": reply_object({
        "url": {"type": "string", "description": "The page that adds the card to Apple or "
                                                 "Google Wallet: print it as a QR code."},
        "expires_at": {"type": "string", "format": "date-time"}}),
    "IdentifyRequest": request_object(
        {"phone": phone(), "card_number": CARD_NUMBER, "pin": string()}, ["pin"],
        description="Send phone or card_number (one of them), with the customer's PIN."),
    "QuoteRequest": request_object({
        "card_number": CARD_NUMBER, **BASKET,
        "redeem_points": integer(0, MAX_POINTS, default=0)},
        ["card_number"], description=BASKET_RULE),
    "Quote": reply_object({
        **counts("total_minor", "eligible_earn_minor", "max_redeem_points", "max_redeem_minor",
                 "min_cash_minor", "points_if_no_redeem", "redeem_points", "redeemed_minor",
                 "cash_due_minor", "points_earned", "base_points", "tier_points"),
        "applied_campaigns": {
            "type": "array", "items": ref("AppliedCampaign"),
            "description": "The campaigns that would give points at this terminal's store now; "
                           "points_earned = base_points + tier_points + theirs. The sale "
                           "gives the same, unless a daily cap or a campaign's budget cuts "
                           "it (the sale's answer says what was granted)."},
        "tier": nullable({"type": "string", "description": "The customer's tier key (its "
                          "multiplier gives tier_points); null below the first tier."})}),
    "SaleRequest": request_object({
        "card_number": CARD_NUMBER, "receipt_number": non_blank(), **BASKET,
        "redeem_points": integer(0, MAX_POINTS, default=0),
        "hold_id": integer(1, MAX_ID, description="Spend from this hold of the terminal (its "
                                                  "points needed the customer when held)."),
        "card_entry": CARD_ENTRY, "proof": PROOF},
        ["card_number", "receipt_number"], description=BASKET_RULE + SPENDING_RULE),
    "AppliedCampaign": reply_object({
        "id": integer(1), "name": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "What to call it per language, e.g. {\"fr\": \"Points "
                                  "doublés\", \"en\": \"Double points\"}; may be empty "
                                  "(then show name)."},
        "points": integer(1)}),
    "Sale": reply_object({
        "sale_id": integer(1), "receipt_number": {"type": "string"},
        **counts("total_minor", "points_redeemed", "redeemed_minor", "cash_due_minor",
                 "points_earned", "points_capped", "base_points", "tier_points"),
        "applied_campaigns": {
            "type": "array", "items": ref("AppliedCampaign"),
            "description": "The campaigns that gave points, as granted (after caps and "
                           "budgets); points_earned = base_points + tier_points + theirs."},
        "tier": nullable({"type": "string", "description": "The customer's tier key when the "
                          "sale started (its points use it); null below the first tier."}),
        "tier_reached": nullable({"type": "string", "description": "The tier this sale moved "
                                  "the customer up to (from the next sale on), else null."}),
        "balance": ref("Balance")}),
    "ReturnedLine": request_object({"sku": non_blank(), "quantity": integer(1, MAX_QUANTITY)},
                                   ["sku", "quantity"]),
    "ReturnRequest": request_object({
        "amount_minor": integer(1, MAX_MINOR),
        "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES,
                  "items": ref("ReturnedLine")}},
        [], description="Send exactly one of amount_minor (the refunded value) or lines."),
    "Return": reply_object({
        "return_id": integer(1), "sale_id": integer(1),
        **counts("amount_minor", "points_reversed", "points_restored", "refund_cash_minor"),
        "balance": ref("Balance")}),
    "VoidedSale": reply_object({
        "sale_id": integer(1), "status": {"type": "string", "enum": ["voided"]},
        **counts("points_reversed", "points_restored"), "balance": ref("Balance")}),
    "HoldRequest": request_object({
        "card_number": CARD_NUMBER, "receipt_number": non_blank(),
        "points": integer(1, MAX_POINTS),
        "ttl_seconds": integer(1, HOLD_TTL_MAX_SECONDS,
                               description="Default and ceiling come from the program."),
        "card_entry": CARD_ENTRY, "proof": PROOF},
        ["card_number", "receipt_number", "points"], description=SPENDING_RULE.strip()),
    "Hold": reply_object({
        "hold_id": integer(1), **counts("points"),
        "expires_at": {"type": "string", "format": "date-time"}, "balance": ref("Balance")}),
    "CaptureRequest": request_object({"points": integer(
        1, MAX_POINTS, description="Fewer points than held; the rest goes back.")}, []),
    "CapturedHold": reply_object({
        "hold_id": integer(1), "status": {"type": "string", "enum": ["captured"]},
        **counts("captured_points", "released_points"), "balance": ref("Balance")}),
    "VoidedHold": reply_object({
        "hold_id": integer(1), "status": {"type": "string", "enum": ["voided"]},
        **counts("released_points"), "balance": ref("Balance")}),
    "ReceiptsWithoutCardRequest": request_object({"count": integer(
        0, MAX_RECEIPTS_WITHOUT_CARD,
        description="The terminal's sales receipts of the day that carried no loyalty "
                    "card (neither scanned nor typed); returns left out.")},
        ["count"]),
    "ReceiptsWithoutCard": reply_object({
        "day": {"type": "string", "format": "date"},
        "count": integer(0, MAX_RECEIPTS_WITHOUT_CARD),
        "store_id": integer(1, description="The terminal's store when the day was first "
                                           "reported."),
        "reported_at": {"type": "string", "format": "date-time",
                        "description": "When the count now recorded was sent."}}),
}


# --- operations -----------------------------------------------------------------------------

AUTH_ERRORS: Errors = [e.Unauthorized]
BODY_ERRORS: Errors = [e.MalformedRequest, http.RequestEntityTooLarge, e.UnsupportedMediaType,
                       e.ValidationFailed]
# A write that carries an Idempotency-Key: an empty key is refused, a long one is invalid.
IDEMPOTENT_ERRORS: Errors = [e.IdempotencyKeyMissing, e.ValidationFailed, e.IdempotencyConflict,
                             e.ConcurrentChange]
CARD_ERRORS: Errors = [e.CardNotFound, e.InvalidCardNumber]
# Unmatched URLs (a slash in a card number, a sale id that is not a number) get a plain 404.
ROUTE_ERRORS: Errors = [http.NotFound]
SPENDING_ERRORS: Errors = [e.CardBlocked, e.AccountBlocked, e.CardNotLinked,
                           e.InsufficientPoints, e.ProofRequired]
# The program's ceilings on one sale: its total and the points it earns.
CEILING_ERRORS: Errors = [e.ReceiptTooLarge, e.TooManyPoints]
# Any call that reaches the database: 503 with Retry-After when it cannot answer.
SERVICE_ERRORS: Errors = [e.DatabaseUnavailable]
# Card lookups and identifications are limited per terminal ([pos_api] *_rate_limit).
RATE_LIMIT_ERRORS: Errors = [e.TooManyRequests]


DAY_PARAMETER = {
    "name": "day", "in": "path", "required": True,
    "description": "A local day of the program (its time zone), YYYY-MM-DD.",
    "schema": {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
               "example": "2026-03-09"}}


def path_id(name: str, what: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": f"The {what}'s id.",
            "schema": integer(0, MAX_ID)}


def operation(operation_id: str, summary: str, replies: dict[int, Schema], errors: Errors, *,
              body: str | None = None, body_required: bool = True,
              parameters: list[Schema] | None = None) -> Schema:
    responses = {str(status): response for status, response in replies.items()}
    responses.update(error_responses([*AUTH_ERRORS, *errors, *SERVICE_ERRORS]))
    spec: Schema = {"operationId": operation_id, "summary": summary, "responses": responses}
    if parameters:
        spec["parameters"] = parameters
    if body is not None:
        spec["requestBody"] = {"required": body_required, "content": json_content(ref(body))}
    return spec


def write(operation_id: str, summary: str, replies: dict[int, Schema], errors: Errors, *,
          key_required: bool, parameters: list[Schema] | None = None, **options: Any) -> Schema:
    """A POST run once per Idempotency-Key (the key is optional where the contract allows)."""
    key = {"$ref": "#/components/parameters/" + (
        "IdempotencyKey" if key_required else "OptionalIdempotencyKey")}
    return {"post": operation(operation_id, summary, replies, [*IDEMPOTENT_ERRORS, *errors],
                              parameters=[*(parameters or []), key], **options)}


def idempotency_key(required: bool) -> Schema:
    return {"name": "Idempotency-Key", "in": "header", "required": required,
            "schema": string(max_length=IDEMPOTENCY_KEY_MAX_LENGTH),
            "description": "Same key and body replays the first answer; same key and another "
                           "body is 409 idempotency_conflict."}


def paths() -> Schema:
    sale_id, hold_id = path_id("sale_id", "sale"), path_id("hold_id", "hold")
    card = {"name": "card_number", "in": "path", "required": True, "schema": CARD_NUMBER}
    return {
        "/openapi.json": {"get": {
            "operationId": "openapi_document", "summary": "This document.", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                  "content": json_content({"type": "object"})}}}},
        "/cards/{card_number}": {"get": {**operation(
            "get_card", "Deprecated: POST /cards/lookup. A card and its customer's balance.",
            {200: reply("The card; account is null for a blank card.", "CardView")},
            [*CARD_ERRORS, *ROUTE_ERRORS, *RATE_LIMIT_ERRORS], parameters=[card]),
            "deprecated": True,
            "description": "The card number is in the URL, so it lands in access logs; POST "
                           "/cards/lookup answers the same with the number in the body."}},
        "/cards/lookup": {"post": operation(
            "lookup_card", "A card and its customer's balance; with card_entry \"scanned\", "
            "a proof for the sale that spends points.",
            {200: reply("The card; account is null for a blank card.", "LookedUpCard")},
            [*BODY_ERRORS, *CARD_ERRORS, *RATE_LIMIT_ERRORS], body="LookupRequest")},
        "/cards/wallet-link": {"post": operation(
            "card_wallet_link",
            "The customer's add-to-wallet page, valid [wallet] link_hours, for the receipt to "
            "print as a QR code (the customer scans it to put the card in Apple or Google "
            "Wallet). 409 wallet_not_configured when the program offers no wallet.",
            {200: reply("The page's address.", "WalletLink")},
            [*BODY_ERRORS, *CARD_ERRORS, *RATE_LIMIT_ERRORS, e.WalletNotConfigured],
            body="WalletLinkRequest")},
        "/identify": {"post": operation(
            "identify", "Find a customer by phone or card number and PIN: the card and a proof "
            "that the customer is at this till. An unknown phone answers as a wrong PIN; wrong "
            "PINs are throttled per account, per account at this terminal and per terminal "
            "(429 too_many_tries, Retry-After).",
            {200: reply("The customer's newest active card (found by phone), or the card given, "
                        "with the proof.", "IdentifiedCard")},
            [*BODY_ERRORS, *CARD_ERRORS, e.InvalidPin, e.TooManyTries, e.ServerBusy,
             e.CardNotLinked, *RATE_LIMIT_ERRORS], body="IdentifyRequest")},
        "/quote": {"post": operation(
            "quote_basket", "What a basket may spend and earn; nothing is written.",
            {200: reply("The quote.", "Quote")},
            [*BODY_ERRORS, *CARD_ERRORS, e.RedeemLimitExceeded, *CEILING_ERRORS],
            body="QuoteRequest")},
        "/sales": write(
            "create_sale", "Record a sale: spend points, earn on the cash part.",
            {201: reply("The sale.", "Sale")},
            [*BODY_ERRORS, *CARD_ERRORS, *SPENDING_ERRORS, e.HoldNotFound, e.DuplicateReceipt,
             e.HoldClosed, e.RedeemLimitExceeded, *CEILING_ERRORS],
            key_required=True, body="SaleRequest"),
        "/sales/{sale_id}/returns": write(
            "create_return", "Return part of a sale: earned points back, spent points restored.",
            {201: reply("The return.", "Return")},
            [*BODY_ERRORS, *ROUTE_ERRORS, e.SaleNotFound, e.SaleVoided, e.ReturnExceedsSale],
            key_required=True, parameters=[sale_id], body="ReturnRequest"),
        "/sales/{sale_id}/void": write(
            "void_sale", "Undo what is left of a sale, once, on the terminal that made it, while "
            "the program's void window is open.",
            {200: reply("The voided sale.", "VoidedSale")},
            [*ROUTE_ERRORS, e.SaleNotFound, e.SaleVoided, e.VoidWindowClosed],
            key_required=False, parameters=[sale_id]),
        "/holds": write(
            "create_hold", "Set points aside for a receipt.",
            {201: reply("The hold.", "Hold")},
            [*BODY_ERRORS, *CARD_ERRORS, *SPENDING_ERRORS],
            key_required=False, body="HoldRequest"),
        "/holds/{hold_id}/capture": write(
            "capture_hold", "Spend held points (all, or fewer).",
            {200: reply("The captured hold.", "CapturedHold")},
            [*BODY_ERRORS, *ROUTE_ERRORS, e.HoldNotFound, e.HoldClosed],
            key_required=False, parameters=[hold_id], body="CaptureRequest",
            body_required=False),
        "/holds/{hold_id}/void": write(
            "void_hold", "Give held points back.",
            {200: reply("The voided hold.", "VoidedHold")},
            [*ROUTE_ERRORS, e.HoldNotFound, e.HoldClosed],
            key_required=False, parameters=[hold_id]),
        "/days/{day}/receipts-without-card": {
            "put": operation(
                "report_receipts_without_card",
                "Report the day's receipts without a loyalty card, so the adoption rate "
                "(receipts with a card / all receipts) has a real denominator. Sets the "
                "terminal's count for that local day of the program, replacing any count "
                "sent before: a replay or a corrected count writes the same row, so no "
                "Idempotency-Key is needed. Send it at the end of the day (or more often: the "
                f"last count sent counts). A day after today or more than {MAX_DAYS_BACK} "
                "days back is 422 validation_error on day.",
                {200: reply("The count as recorded.", "ReceiptsWithoutCard")},
                [*BODY_ERRORS, *ROUTE_ERRORS], parameters=[DAY_PARAMETER],
                body="ReceiptsWithoutCardRequest"),
            "get": operation(
                "get_receipts_without_card",
                "What this terminal reported for the day; 404 day_not_reported when nothing.",
                {200: reply("The count as recorded.", "ReceiptsWithoutCard")},
                [e.ValidationFailed, e.DayNotReported, *ROUTE_ERRORS],
                parameters=[DAY_PARAMETER])},
    }


def pos_document() -> dict[str, Any]:
    """A fresh copy each time: callers may change it without touching the module's schemas."""
    operations = paths()
    return copy.deepcopy({
        "openapi": OPENAPI_VERSION,
        "info": {"title": "pos-loyalty POS API", "version": "1",
                 "description": "Server-to-server API for tills. Amounts are integers in minor "
                                "units (*_minor); points are integers. Errors are "
                                "{\"error\": {\"code\", \"message\", \"details\"?}}; each "
                                "operation names the codes it may answer."},
        "servers": [{"url": "/api/pos/v1"}],
        "security": [{"terminalKey": []}],
        "paths": operations,
        "components": {
            "securitySchemes": {"terminalKey": {
                "type": "http", "scheme": "bearer",
                "description": "The terminal's API key: Authorization: Bearer tk_..."}},
            "parameters": {"IdempotencyKey": idempotency_key(True),
                           "OptionalIdempotencyKey": idempotency_key(False)},
            "schemas": {**SCHEMAS, **error_schemas(operations)},
        },
    })
