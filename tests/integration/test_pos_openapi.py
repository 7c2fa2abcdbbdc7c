"""The POS API's OpenAPI document: valid, complete, and true to what the API answers."""
from __future__ import annotations

import uuid

from apple_pass_credentials import make_pass_chain
from apple_wallet_setup import configure_wallet
from openapi_check import (
    CheckedClient, error_code, routes_and_documented, served_document,
)
from schema_fuzz import fuzz_failures

from pos_loyalty import accounts, cards
from pos_loyalty.db import run_in_transaction, utcnow
from pos_loyalty.openapi import pos_document
from pos_loyalty.openapi_schemas import EXAMPLE_CARD
from pos_loyalty.programs import local_day

PREFIX = "/api/pos/v1"


def test_the_document_is_valid_openapi_3_1(client):
    assert served_document(client, PREFIX) == pos_document()


def test_the_document_lists_exactly_the_routes_of_the_blueprint(app):
    routes, documented = routes_and_documented(app, PREFIX, pos_document())
    assert documented == routes


def test_sale_and_return_require_an_idempotency_key_the_other_writes_accept_one():
    document = pos_document()
    keys = document["components"]["parameters"]
    required = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            refs = [p["$ref"].rsplit("/", 1)[-1] for p in operation.get("parameters", [])
                    if "$ref" in p]
            required[f"{method.upper()} {path}"] = keys[refs[0]]["required"] if refs else None
    assert required == {
        "GET /openapi.json": None, "GET /cards/{card_number}": None,
        "POST /cards/lookup": None, "POST /cards/wallet-link": None, "POST /identify": None,
        "POST /quote": None, "POST /sales": True, "POST /sales/{sale_id}/returns": True,
        "POST /sales/{sale_id}/void": False, "POST /holds": False,
        "POST /holds/{hold_id}/capture": False, "POST /holds/{hold_id}/void": False,
        "PUT /days/{day}/receipts-without-card": None,
        "GET /days/{day}/receipts-without-card": None}


def test_fuzzed_requests_get_documented_answers_and_never_a_server_error(app, till,
                                                                          monkeypatch):
    monkeypatch.setattr(cards, "random_card_number", lambda *_: EXAMPLE_CARD)
    card = till.customer(points=5_000)  # the boundary cases use the document's example
    monkeypatch.undo()
    proof = till.post("/identify", {"card_number": card, "pin": "1234"}).get_json()["proof"]
    blank_card = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    sale_ids = [till.sell(card, total_minor=4_000, redeem_points=100).get_json()["sale_id"]
                for _ in range(3)]
    hold_ids = [till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                     "receipt_number": f"H{n}",
                                     "points": 50}).get_json()["hold_id"] for n in range(3)]
    known_values = {"card_number": [card, blank_card], "sale_id": sale_ids,
                    "hold_id": hold_ids, "phone": [till.last_phone], "pin": ["1234"],
                    "redeem_points": [0, 10], "points": [1, 25], "proof": [proof],
                    "Idempotency-Key": lambda: str(uuid.uuid4()),
                    "day": [local_day(till.program(), utcnow()).isoformat()]}

    failures = fuzz_failures(app, f"{PREFIX}/openapi.json", till.headers,
                             known_values=known_values, max_examples=25)

    assert failures == [], "\n\n".join(failures)


def test_text_the_database_cannot_store_is_refused_with_a_documented_error(till):
    card = till.customer()
    nul = till.sell(card, total_minor=100, receipt="R\u00001")
    assert nul.status_code == 422
    assert nul.get_json()["error"]["details"] == {"field": "receipt_number"}
    lone_surrogate = till.client.post(
        f"{PREFIX}/sales", data='{"card_number": "%s", "receipt_number": "R\\ud800", '
                                '"total_minor": 100}' % card,
        content_type="application/json", headers={**till.headers, "Idempotency-Key": "k1"})
    assert lone_surrogate.status_code == 400
    assert lone_surrogate.get_json()["error"]["code"] == "malformed_request"


def test_a_till_s_day_keeps_to_the_document_as_openapi_core_reads_it(till, tmp_path):
    card = till.customer(points=5_000)
    phone = till.last_phone
    blank = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    pos = CheckedClient(till.client, PREFIX, pos_document(), till.headers)

    assert pos.get(f"/cards/{card}").get_json()["account"]["available_points"] == 5_000
    assert pos.post("/cards/lookup", {"card_number": card, "card_entry": "scanned"}).get_json()[
        "proof"].startswith("pf1.")
    assert pos.get(f"/cards/{blank[:4]} {blank[4:]}").get_json()["account"] is None
    configure_wallet(till.app, make_pass_chain(), tmp_path)
    assert pos.post("/cards/wallet-link", {"card_number": card}).get_json()["url"].startswith(
        "https://loyalty.example.com/wallet/")
    assert pos.post("/identify", {"phone": phone, "pin": "1234"}).get_json()["card_number"] \
        == card
    quote = pos.post("/quote", {"card_number": card, "total_minor": 2_000, "redeem_points": 50})
    assert quote.get_json()["cash_due_minor"] == 1_500
    lines = [{"sku": "BREAD", "category": "bakery", "quantity": 2, "unit_price_minor": 1_500},
             {"sku": "CIGS", "category": "tobacco", "quantity": 1, "unit_price_minor": 1_000}]
    assert pos.post("/quote", {"card_number": card, "lines": lines}).get_json()[
        "eligible_earn_minor"] == 3_000

    sale = pos.post("/sales", {"card_number": card, "receipt_number": "R1", "lines": lines,
                               "redeem_points": 100, "card_entry": "scanned"},
                    headers={"Idempotency-Key": "k-R1"})
    assert sale.status_code == 201
    sale_id = sale.get_json()["sale_id"]
    returned = pos.post(f"/sales/{sale_id}/returns", {"lines": [{"sku": "BREAD", "quantity": 1}]},
                        headers={"Idempotency-Key": "k-R1-return-1"})
    assert returned.status_code == 201
    assert pos.post(f"/sales/{sale_id}/returns", {"amount_minor": 500},
                    headers={"Idempotency-Key": "k-R1-return-2"}).status_code == 201
    assert pos.post(f"/sales/{sale_id}/void").get_json()["status"] == "voided"

    hold = pos.post("/holds", {"card_number": card, "card_entry": "scanned",
                               "receipt_number": "R2", "points": 300})
    hold_id = hold.get_json()["hold_id"]
    assert pos.post(f"/holds/{hold_id}/capture", {"points": 200}).get_json()["status"] \
        == "captured"
    other_hold = pos.post("/holds", {"card_number": card, "card_entry": "scanned",
                                     "receipt_number": "R3", "points": 10})
    other_id = other_hold.get_json()["hold_id"]
    assert pos.post(f"/holds/{other_id}/void").get_json()["status"] == "voided"
    assert pos.get("/openapi.json").get_json()["openapi"] == "3.1.0"
    today = local_day(till.program(), utcnow()).isoformat()
    assert pos.call("PUT", f"/days/{today}/receipts-without-card", {"count": 12}).get_json()[
        "count"] == 12
    assert pos.get(f"/days/{today}/receipts-without-card").get_json()["count"] == 12

    assert pos.operations_answered_with_success() == {
        op["operationId"] for item in pos_document()["paths"].values() for op in item.values()}


def test_a_till_s_mistakes_get_the_documented_errors_as_openapi_core_reads_them(till):
    card = till.customer(points=100)
    unknown = cards.make_card_number("29", 99_999_999)
    wrong_check_digit = card[:-1] + str((int(card[-1]) + 1) % 10)
    pos = CheckedClient(till.client, PREFIX, pos_document(), till.headers)
    sale = {"card_number": card, "receipt_number": "R1", "total_minor": 1_000}

    assert error_code(pos.get(f"/cards/{unknown}")) == (404, "card_not_found")
    assert error_code(pos.get(f"/cards/{wrong_check_digit}")) == (422, "invalid_card_number")
    assert error_code(pos.get("/cards/29.00", valid=False)) == (422, "invalid_card_number")
    assert error_code(pos.get(f"/cards/{card}", headers={"Authorization": "Bearer nope"})) \
        == (401, "unauthorized")
    assert error_code(pos.post("/identify", {"phone": till.last_phone, "pin": "0000"})) \
        == (401, "invalid_pin")
    assert error_code(pos.post("/identify", {"phone": "+33699999999", "pin": "1234"})) \
        == (401, "invalid_pin")
    assert error_code(pos.post("/quote", {"card_number": card})) == (422, "validation_error")
    assert error_code(pos.post("/quote", {"card_number": card, "total_minor": 0},
                               valid=False)) == (422, "validation_error")
    assert error_code(pos.post("/quote", data=b"{", valid=False)) == (400, "malformed_request")
    assert error_code(pos.post("/quote", data=b"total_minor=1", content_type="text/plain",
                               valid=False)) == (415, "unsupported_media_type")
    assert error_code(pos.post("/quote", {**sale, "redeem_points": 1_000})) \
        == (422, "redeem_limit_exceeded")

    assert pos.post("/sales", sale, headers={"Idempotency-Key": "k1"}).status_code == 201
    assert error_code(pos.post("/sales", {**sale, "total_minor": 2_000},
                               headers={"Idempotency-Key": "k1"})) == (409, "idempotency_conflict")
    assert error_code(pos.post("/sales", sale, headers={"Idempotency-Key": "k2"})) \
        == (409, "duplicate_receipt")
    assert error_code(pos.post("/sales", sale, valid=False)) == (400, "idempotency_key_required")
    assert error_code(pos.post("/sales/999999/returns", {"amount_minor": 100},
                               headers={"Idempotency-Key": "k3"})) == (404, "sale_not_found")
    assert error_code(pos.post("/sales/1/returns", {"amount_minor": 100, "lines": [
        {"sku": "TOTAL", "quantity": 1}]}, headers={"Idempotency-Key": "k4"})) \
        == (422, "validation_error")
    assert error_code(pos.post("/holds", {"card_number": card, "card_entry": "scanned",
                                          "receipt_number": "H1",
                                          "points": 500})) == (422, "insufficient_points")
    assert error_code(pos.post("/holds/999999/void")) == (404, "hold_not_found")
    assert error_code(pos.post("/quote", {"card_number": card, "total_minor": 100,
                                          "padding": "x" * 1_100_000})) \
        == (413, "request_entity_too_large")
