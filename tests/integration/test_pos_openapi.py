"""The POS API's OpenAPI document: valid, complete, and true to what the API answers."""
from __future__ import annotations

import re
import uuid

from openapi_spec_validator import validate
from schema_fuzz import fuzz_failures

from pos_loyalty import accounts
from pos_loyalty.db import run_in_transaction, utcnow
from pos_loyalty.openapi import EXAMPLE_CARD, pos_document

PREFIX = "/api/pos/v1"


def test_the_document_is_valid_openapi_3_0(client):
    reply = client.get(f"{PREFIX}/openapi.json")
    assert reply.status_code == 200
    assert reply.get_json() == pos_document()
    validate(reply.get_json())
    assert reply.get_json()["openapi"] == "3.0.3"


def test_the_document_lists_exactly_the_routes_of_the_blueprint(app):
    routes = {(re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method.upper()) for path, item in pos_document()["paths"].items()
                  for method in item}
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
        "GET /openapi.json": None, "GET /cards/{card_number}": None, "POST /identify": None,
        "POST /quote": None, "POST /sales": True, "POST /sales/{sale_id}/returns": True,
        "POST /sales/{sale_id}/void": False, "POST /holds": False,
        "POST /holds/{hold_id}/capture": False, "POST /holds/{hold_id}/void": False}


def test_fuzzed_requests_get_documented_answers_and_never_a_server_error(app, till):
    card = till.customer(points=5_000)
    assert card == EXAMPLE_CARD  # the boundary cases use the document's example
    blank_card = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    sale_ids = [till.sell(card, total_minor=4_000, redeem_points=100).get_json()["sale_id"]
                for _ in range(3)]
    hold_ids = [till.post("/holds", {"card_number": card, "receipt_number": f"H{n}",
                                     "points": 50}).get_json()["hold_id"] for n in range(3)]
    known_values = {"card_number": [card, blank_card], "sale_id": sale_ids,
                    "hold_id": hold_ids, "phone": [till.last_phone], "pin": ["1234"],
                    "redeem_points": [0, 10], "points": [1, 25],
                    "Idempotency-Key": lambda: str(uuid.uuid4())}

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
