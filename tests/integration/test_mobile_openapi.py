"""The mobile API's OpenAPI document: valid, complete, and true to what the API answers.

Schemathesis fuzzes every operation: each generated request carries the app key and a fresh
customer's token, so the /me endpoints are really exercised (a DELETE /me or a logout only ends
that one customer). Real flows then go through openapi-core, request and answer.
"""
from __future__ import annotations

import datetime as dt

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from openapi_check import (
    CheckedClient, error_code, routes_and_documented, served_document,
)
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from apple_pass_credentials import make_pass_chain
from apple_wallet_setup import configure_wallet
from google_keys import WALLET_EMAIL, key_file
from mobile_app import PREFIX, MobileApp, mobile, new_phone, set_limits  # noqa: F401
from pos_loyalty import accounts, adjustments, programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Program
from pos_loyalty.security import app_hasher

from mobile_api.openapi import mobile_document
from pos_loyalty import app_sessions as tokens
from pos_loyalty import brand

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def fresh_token(mobile: MobileApp) -> str:
    def work() -> str:
        program = db.session.get(Program, mobile.program_id)
        card = accounts.create_customer(program, new_phone(), "1234", utcnow(), app_hasher(),
                                        channel="app")
        account = db.session.get(Account, card.account_id)
        return tokens.start_session(program, account, utcnow()).access_token
    return run_in_transaction(work)


def test_the_document_is_valid_openapi_3_1(mobile: MobileApp):
    assert served_document(mobile.client, PREFIX) == mobile_document()


def test_the_document_lists_exactly_the_routes_of_the_blueprint(app):
    routes, documented = routes_and_documented(app, PREFIX, mobile_document())
    assert documented == routes


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
def test_mobile_api_keeps_to_its_openapi_document(mobile: MobileApp, mode):
    schema = schemathesis.openapi.from_wsgi("/api/mobile/v1/openapi.json", mobile.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {f"{method.upper()} {path}" for path, item in mobile_document()["paths"].items()
                  for method in item}
    # schemathesis leaves out the document's own path
    assert {operation.label for operation in operations} == documented - {"GET /openapi.json"}

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
                             database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            headers = {"X-App-Key": mobile.app_key,
                       "Authorization": f"Bearer {fresh_token(mobile)}"}
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()


def checked(mobile: MobileApp) -> CheckedClient:
    return CheckedClient(mobile.client, PREFIX, mobile_document(), {"X-App-Key": mobile.app_key})


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_a_customer_s_app_keeps_to_the_document_as_openapi_core_reads_it(mobile: MobileApp,
                                                                         tmp_path):
    now = utcnow()
    blank = run_in_transaction(lambda: _program_with_a_store_a_promotion_and_a_card(mobile, now))
    app = checked(mobile)
    phone = new_phone()

    assert app.get("/branding").get_json()["currency"] == "EUR"
    assert len(app.get("/promotions").get_json()["promotions"]) == 1
    assert app.get("/stores?lat=45.76&lng=4.83").get_json()["stores"][0]["distance_m"] == 0
    assert app.post("/auth/register", {"phone": phone}).status_code == 202
    verified = app.post("/auth/verify", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "2468"})
    assert verified.status_code == 201
    logged_in = app.post("/auth/login", {"phone": phone, "pin": "2468"}).get_json()
    me = bearer(app.post("/auth/refresh", {"refresh_token": logged_in["refresh_token"]})
                .get_json())
    assert app.get("/me", headers=me).get_json()["phone"] == phone
    assert app.call("PATCH", "/me", {"first_name": "Chloé", "birthday": "1990-04-01",
                                     "email": None}, headers=me).get_json()["birthday"] \
        == "1990-04-01"
    card = app.get("/me/card", headers=me).get_json()["card_number"]
    for image in ("barcode.svg", "barcode.png", "qr.svg", "qr.png"):
        assert app.get(f"/me/card/{image}", headers=me).status_code == 200
    assert app.post("/me/cards", {"card_number": blank}, headers=me).status_code == 201
    assert app.post("/me/cards", {"card_number": blank}, headers=me).status_code == 200
    for points in (120, 30):
        run_in_transaction(lambda: adjustments.adjust_points(
            mobile.program(), card, points, "welcome", "tests", utcnow()))
    assert app.get("/me/balance", headers=me).get_json()["next_expiry"]["points"] == 150
    assert app.get("/me/tier", headers=me).get_json()["tier"] is None
    assert app.get("/campaigns", headers=me).get_json() == {"campaigns": []}
    page = app.get("/me/history?limit=1", headers=me).get_json()
    assert app.get(f"/me/history?limit=1&cursor={page['next_cursor']}",
                   headers=me).get_json()["next_cursor"] is None
    assert len(app.get("/me/referral", headers=me).get_json()["code"]) == 8
    _wallets_and_devices(app, me, mobile, tmp_path)
    assert app.call("PUT", "/me/pin", {"old_pin": "2468", "new_pin": "1357"},
                    headers=me).status_code == 204
    assert app.post("/auth/pin/reset", {"phone": phone}).status_code == 202
    reset = app.post("/auth/pin/reset", {"phone": phone, "code": mobile.last_code(phone),
                                         "pin": "8642"})
    me = bearer(reset.get_json())
    assert len(app.get("/me/export", headers=me).get_json()["cards"]) == 2
    assert app.post("/auth/logout", headers=me).status_code == 204
    me = bearer(app.post("/auth/login", {"phone": phone, "pin": "8642"}).get_json())
    assert app.call("DELETE", "/me", headers=me).status_code == 204
    assert app.get("/openapi.json", headers={"X-App-Key": ""}).status_code == 200

    assert app.operations_answered_with_success() == {
        op["operationId"] for item in mobile_document()["paths"].values()
        for op in item.values()}


def _wallets_and_devices(app: CheckedClient, me: dict[str, str], mobile: MobileApp,
                         folder) -> None:
    """The phone's push token and the card in both wallets, set up as a store owner would."""
    configure_wallet(mobile.app, make_pass_chain(), folder,
                     public_base_url="https://loyalty.example.com",
                     google_issuer_id="3388000000022",
                     google_service_account_file=str(key_file(
                         folder, WALLET_EMAIL, "https://oauth2.example.com/token").path))
    device = app.post("/me/devices", {"platform": "android", "token": "fcm-token-1",
                                      "app_version": "3.2.0"}, headers=me)
    assert device.status_code == 201
    assert len(app.get("/me/devices", headers=me).get_json()["devices"]) == 1
    assert app.call("DELETE", f"/me/devices/{device.get_json()['id']}",
                    headers=me).status_code == 204
    assert app.get("/me/wallet/apple", headers=me).data[:2] == b"PK"
    assert app.get("/me/wallet/google", headers=me).get_json()["url"].startswith(
        "https://pay.google.com/gp/v/save/")
    assert app.get("/me/wallet/link", headers=me).get_json()["url"].startswith(
        "https://loyalty.example.com/wallet/")


def _program_with_a_store_a_promotion_and_a_card(mobile: MobileApp, now: dt.datetime) -> str:
    program = mobile.program()
    programs.create_store(program, "Boulangerie Lyon", latitude=45.76, longitude=4.83)
    brand.create_promotion(program, "Double points", now - dt.timedelta(days=1),
                           now + dt.timedelta(days=1))
    return accounts.issue_cards(program, 1, now)[0]


def test_an_app_s_mistakes_get_the_documented_errors_as_openapi_core_reads_them(
        mobile: MobileApp):
    customer = mobile.register()
    other = mobile.register()
    app = checked(mobile)
    me = {"Authorization": f"Bearer {customer.access_token}"}
    phone = new_phone()

    assert error_code(app.get("/branding", headers={"X-App-Key": "ak_nope"})) \
        == (401, "invalid_app_key")
    assert error_code(app.get("/me", headers={"Authorization": "Bearer nope"})) \
        == (401, "invalid_token")
    assert error_code(app.post("/me/cards", {"card_number": other.card_number}, headers=me)) \
        == (404, "card_not_found")
    assert error_code(app.post("/me/cards", {"card_number": "2900000009999"}, headers=me)) \
        == (422, "invalid_card_number")
    unknown = accounts.cards.make_card_number("29", 99_999_999)
    assert error_code(app.post("/me/cards", {"card_number": unknown}, headers=me)) \
        == (404, "card_not_found")
    assert error_code(app.get("/me/history?limit=0", headers=me, valid=False)) \
        == (422, "validation_error")

    assert app.post("/auth/refresh", {"refresh_token": customer.refresh_token}).status_code == 200
    assert error_code(app.post("/auth/refresh", {"refresh_token": customer.refresh_token})) \
        == (401, "token_reused")
    assert error_code(app.post("/auth/verify", {"phone": phone, "code": "123456",
                                                "pin": "2468"})) == (400, "code_expired")
    app.post("/auth/register", {"phone": phone})
    wrong = f"{(int(mobile.last_code(phone)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert error_code(app.post("/auth/verify", {"phone": phone, "code": wrong,
                                                    "pin": "2468"})) == (401, "invalid_code")
    assert error_code(app.post("/auth/verify", {"phone": phone, "code": wrong, "pin": "2468"})) \
        == (429, "too_many_attempts")
    for _ in range(5):
        assert error_code(app.post("/auth/login", {"phone": other.phone, "pin": "9999"})) \
            == (401, "invalid_pin")
    assert error_code(app.post("/auth/login", {"phone": other.phone, "pin": "9999"})) \
        == (429, "too_many_tries")
    assert error_code(app.post("/auth/register", {"phone": "+33 0000"})) \
        == (422, "validation_error")
    assert error_code(app.post("/auth/register", {"phone": "call me"}, valid=False)) \
        == (422, "validation_error")
    assert error_code(app.post("/auth/register", data=b"[1]", valid=False)) \
        == (400, "malformed_request")
    assert error_code(app.post("/auth/register", data=b"phone=1", content_type="text/plain",
                               valid=False)) == (415, "unsupported_media_type")
    assert error_code(app.post("/auth/register", {"phone": new_phone(),
                                                  "padding": "x" * 1_100_000})) \
        == (413, "request_entity_too_large")

    set_limits(mobile.app, codes_per_hour=1)
    assert error_code(app.post("/auth/register", {"phone": phone})) == (429, "too_many_codes")
    set_limits(mobile.app, auth="1 per minute")
    assert error_code(app.post("/auth/login", {"phone": phone, "pin": "1234"})) \
        == (401, "invalid_pin")
    assert error_code(app.post("/auth/login", {"phone": phone, "pin": "1234"})) \
        == (429, "too_many_requests")
