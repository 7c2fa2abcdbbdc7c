"""The two OpenAPI documents as generated clients read them: every operation named, every request
body typed, every error code an API can answer listed, formats the server really accepts."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobile_api.openapi import mobile_document
from pos_loyalty import accounts
from pos_loyalty import errors as e
from pos_loyalty.config import load_settings
from pos_loyalty.openapi import pos_document
from pos_loyalty.openapi_schemas import CARD_NUMBER_PATTERN, PHONE_PATTERN, error_codes
from pos_loyalty.rules import ProgramRules

DOCUMENTS = {"pos": pos_document(), "mobile": mobile_document()}
# Errors of pos_loyalty.errors that neither API answers, and why.
NOT_ANSWERED_BY_AN_API = {
    e.Forbidden: "only /metrics without its token (an operations endpoint, in no API document)",
    e.PhoneTaken: "enrolment at a till or the CLI; the app attaches to the phone's account",
    e.InvalidLogin: "staff log in at the cashier UI and the back office only",
    e.LoginNotForHere: "a till login at the back office, or the other way round",
    e.InvalidSecondFactor: "the back office's two-factor sign-in",
    e.OfferEnded: "changing a campaign or promotion that ended: the back office only",
    e.CampaignTermLocked: "changing a running campaign's terms: the back office only",
    e.CardAlreadyLinked: "linking at the till; the app answers card_not_found for any card "
                         "it cannot link, so it learns no one's card numbers",
    e.AccountErased: "the back office's customer care (an erased customer's account)",
    e.AdjustmentAlreadyDecided: "the back office's approvals of support's adjustments",
    e.UsernameTaken: "staff logins are made in the back office and the CLI",
    e.StoreHasHistory: "stores are deleted in the back office only",
    e.StoreHasStaff: "stores are deleted in the back office only",
    e.LastAdmin: "staff roles are changed in the back office only",
    e.OwnLoginChange: "staff roles are changed in the back office only",
    e.ImportFileUnreadable: "member imports: the back office and the CLI",
    e.ImportFileChanged: "member imports: the back office only",
    e.WalletLinkInvalid: "the signed add-to-wallet page (/wallet/<token>), an HTML page",
    e.PassAuthenticationFailed: "Apple's pass web service, whose contract is Apple's",
    e.PassNotFound: "Apple's pass web service, whose contract is Apple's",
}
# Errors defined outside pos_loyalty.errors: the cashier UI's own, which no API answers.
CASHIER_UI_ONLY = {"FormError"}
MOBILE_ONLY = {e.InvalidAppKey, e.InvalidToken, e.TokenReused, e.InvalidCode, e.CodeExpired,
               e.TooManyAttempts, e.TooManyCodes, e.PhoneCountryNotAllowed, e.CardLimitReached,
               e.AccountNotFound,
               # a referral code is given at enrolment: in the app, at the web till, the CLI
               e.ReferralCodeUnknown, e.ReferralSelf, e.ReferralNotNewcomer,
               # the app's phones and the card in the wallets
               e.DeviceNotFound, e.WalletNotConfigured}
MOBILE_ALSO = {e.ValidationFailed, e.MalformedRequest, e.UnsupportedMediaType,
               e.InvalidCardNumber, e.CardNotFound, e.InvalidPin, e.TooManyTries, e.ServerBusy}


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": operation
            for path, item in document["paths"].items() for method, operation in item.items()}


def codes(document: dict[str, Any]) -> set[str]:
    return set(error_codes(document["paths"]))


def core_errors() -> list[type[e.LoyaltyError]]:
    return [error for error in e.all_errors() if error.__module__ == e.__name__]


def test_every_operation_has_a_stable_unique_operation_id():
    assert {name: op["operationId"] for name, op in operations(pos_document()).items()} == {
        "GET /openapi.json": "openapi_document", "GET /cards/{card_number}": "get_card",
        "POST /cards/lookup": "lookup_card", "POST /cards/wallet-link": "card_wallet_link",
        "POST /identify": "identify", "POST /quote": "quote_basket",
        "POST /sales": "create_sale", "POST /sales/{sale_id}/returns": "create_return",
        "POST /sales/{sale_id}/void": "void_sale", "POST /holds": "create_hold",
        "POST /holds/{hold_id}/capture": "capture_hold", "POST /holds/{hold_id}/void": "void_hold",
        "PUT /days/{day}/receipts-without-card": "report_receipts_without_card",
        "GET /days/{day}/receipts-without-card": "get_receipts_without_card"}
    assert {name: op["operationId"] for name, op in operations(mobile_document()).items()} == {
        "GET /openapi.json": "openapi_document", "GET /branding": "get_branding",
        "GET /promotions": "list_promotions", "GET /stores": "list_stores",
        "POST /auth/register": "request_registration_code",
        "POST /auth/verify": "complete_registration", "POST /auth/login": "log_in",
        "POST /auth/refresh": "refresh_tokens", "POST /auth/logout": "log_out",
        "POST /auth/pin/reset": "reset_pin", "GET /me": "get_profile",
        "PATCH /me": "update_profile", "DELETE /me": "erase_account",
        "GET /me/export": "export_personal_data", "PUT /me/pin": "change_pin",
        "GET /me/card": "get_card", "GET /me/card/barcode.svg": "get_card_barcode_svg",
        "GET /me/card/barcode.png": "get_card_barcode_png",
        "GET /me/card/qr.svg": "get_card_qr_svg", "GET /me/card/qr.png": "get_card_qr_png",
        "POST /me/cards": "link_card", "GET /me/balance": "get_balance",
        "GET /me/history": "get_history", "GET /me/tier": "get_tier",
        "GET /campaigns": "list_campaigns", "GET /me/referral": "get_referral",
        "POST /me/devices": "register_device", "GET /me/devices": "list_devices",
        "DELETE /me/devices/{device_id}": "remove_device",
        "GET /me/wallet/apple": "get_apple_wallet_pass",
        "GET /me/wallet/google": "get_google_wallet_link", "GET /me/wallet/link": "get_wallet_link"}


@pytest.mark.parametrize("face", DOCUMENTS)
def test_no_request_body_is_left_untyped(face):
    document = DOCUMENTS[face]
    bodies = {name: op["requestBody"]["content"]["application/json"]["schema"]
              for name, op in operations(document).items() if "requestBody" in op}
    assert bodies
    for name, body in bodies.items():
        schema = resolve(document, body)
        assert schema["type"] == "object" and schema["properties"], name
        assert not {"oneOf", "anyOf", "allOf", "not"} & set(schema), name
        assert untyped(document, schema) == [], name


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def untyped(document: dict[str, Any], schema: dict[str, Any], where: str = "") -> list[str]:
    """The places under `schema` that say no type (a client would make them Any)."""
    schema = resolve(document, schema)
    if "oneOf" in schema:
        return [found for option in schema["oneOf"]
                for found in untyped(document, option, where)]
    if "type" not in schema:
        return [where or "(body)"]
    found = [place for name, field in schema.get("properties", {}).items()
             for place in untyped(document, field, f"{where}.{name}")]
    if "items" in schema:
        found += untyped(document, schema["items"], f"{where}[]")
    return found


def test_the_pos_document_names_every_error_the_pos_api_can_answer():
    expected = set(core_errors()) - MOBILE_ONLY - set(NOT_ANSWERED_BY_AN_API)
    assert {error.code for error in expected} <= codes(pos_document())


def test_the_mobile_document_names_every_error_the_app_can_get():
    assert {error.code for error in MOBILE_ONLY | MOBILE_ALSO} <= codes(mobile_document())


def test_every_error_class_is_answered_by_an_api_or_said_why_not():
    answered = codes(pos_document()) | codes(mobile_document())
    assert {error for error in core_errors() if error.code not in answered} \
        == set(NOT_ANSWERED_BY_AN_API)


def test_errors_defined_elsewhere_are_the_cashier_ui_s_alone():
    """An API error class made outside pos_loyalty/errors.py would be missing from the documents."""
    error_names = {error.__name__ for error in e.all_errors()} | {"LoyaltyError"}
    root = Path(__file__).resolve().parents[2]
    sources = [path for package in ("pos_loyalty", "mobile_api", "cashier_ui")
               for path in (root / package).rglob("*.py") if path != Path(e.__file__).resolve()]
    elsewhere = {node.name for path in sources for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.ClassDef) and error_names & {
                     getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}}
    assert elsewhere == CASHIER_UI_ONLY


@pytest.mark.parametrize("face", DOCUMENTS)
def test_the_error_body_lists_the_codes_its_operations_name(face):
    document = DOCUMENTS[face]
    enum = document["components"]["schemas"]["ErrorCode"]["enum"]
    assert enum == sorted(codes(document))
    http_codes = {"not_found", "request_entity_too_large", "too_many_requests"}
    assert set(enum) <= {error.code for error in e.all_errors()} | http_codes


# --- formats ---------------------------------------------------------------------------------

def rules(symbology: str) -> ProgramRules:
    return ProgramRules.from_settings({**load_settings()["rules"], "card_symbology": symbology})


def server_reading(raw: str, symbology: str) -> str:
    """What accounts.normalize_number says: "ok", or which part it refuses."""
    try:
        accounts.normalize_number(raw, rules(symbology))
    except e.InvalidCardNumber as refused:
        return "check" if refused.message.endswith("is wrong.") else "format"
    return "ok"


CARD_TEXT = st.text(st.sampled_from("0123456789AZaz -\t\n.+/#é٣"), max_size=40)


@given(CARD_TEXT)
def test_every_card_number_the_server_takes_matches_the_pattern(raw):
    if "ok" in (server_reading(raw, "ean13"), server_reading(raw, "code128")):
        assert re.search(CARD_NUMBER_PATTERN, raw)


@given(CARD_TEXT)
def test_a_card_number_matching_the_pattern_can_only_be_refused_for_its_check_character(raw):
    if re.search(CARD_NUMBER_PATTERN, raw):
        assert {server_reading(raw, "ean13"), server_reading(raw, "code128")} & {"ok", "check"}


@pytest.mark.parametrize("raw", ["2900000000018", "2900 0000 0001 8", " 290-000-000-0018\n",
                                 "lc0000000420"])
def test_card_numbers_as_people_type_them_match_the_pattern(raw):
    assert re.search(CARD_NUMBER_PATTERN, raw)
    assert "ok" in (server_reading(raw, "ean13"), server_reading(raw, "code128"))


@pytest.mark.parametrize("raw", ["+33612345678", "0612345678", "06 12 34 56 78",
                                 "06.12.34.56.78", "06-12-34-56-78", "+33 (0)6 12 34 56 78",
                                 "+44 7911 123456"])
def test_phone_numbers_as_people_type_them_match_the_pattern_and_are_read(raw):
    assert re.search(PHONE_PATTERN, raw)
    assert accounts.parse_phone(raw, "FR").startswith("+")


@pytest.mark.parametrize("raw", ["", "call me", "12", "+33 6 12 34 56 78 ext. 9", "tel:0612"])
def test_text_that_is_no_phone_number_does_not_match_the_pattern(raw):
    assert not re.search(PHONE_PATTERN, raw)
