"""The card as Google Wallet shows it, built from one PassContent: its class and object, the
barcode the till scans, and the signed "Save to Google Wallet" offer."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import jwt
import pytest

from google_keys import WALLET_EMAIL, key_file
from pos_loyalty.cards import make_card_number
from pos_loyalty.notify.google_auth import GoogleServiceAccount
from pos_loyalty.wallet.content import PassContent
from pos_loyalty.wallet.google_wallet import (
    barcode_type, class_id, loyalty_class, loyalty_object, object_id, public_logo_uri,
    save_jwt,
)

NOW = dt.datetime(2026, 3, 9, 10, 0)
ISSUER = "3388000000022100000"
CARD = make_card_number("29", 1234)          # 13 digits, its EAN check digit right
CONTENT = PassContent(
    program_name="Boulangerie Paul", first_name="Camille", language="fr",
    available_points=120, points_value="12,00\u00a0€", tier_name="Or", card_number=CARD,
    background_color="#7a1f2b", accent_color="#f2c14e", logo=None, updated_at=NOW)
CLASS_ID = f"{ISSUER}.boulangerie-paul"
OBJECT_ID = f"{ISSUER}.0123456789abcdef0123456789abcdef"


def test_card_number_with_a_right_ean_check_digit_shows_as_ean_13() -> None:
    assert len(CARD) == 13
    assert barcode_type(CARD) == "EAN_13"


@pytest.mark.parametrize("number", [
    CARD[:12] + str((int(CARD[12]) + 1) % 10),    # a wrong check digit
    CARD[:12],                                     # 12 digits
    "LOY-000123-K",                                # a code128 program's number
    CARD + "0"])
def test_any_other_card_number_shows_as_code_128(number: str) -> None:
    assert barcode_type(number) == "CODE_128"


def test_ids_keep_only_the_characters_google_allows() -> None:
    assert class_id(ISSUER, "boulangerie paul/été") == f"{ISSUER}.boulangerie_paul__t_"
    assert class_id(ISSUER, "boulangerie-paul.v2") == f"{ISSUER}.boulangerie-paul.v2"
    assert object_id(ISSUER, "0a1b") == f"{ISSUER}.0a1b"


def test_object_in_french_shows_balance_value_tier_and_barcode() -> None:
    assert loyalty_object(OBJECT_ID, CLASS_ID, CONTENT) == {
        "id": OBJECT_ID, "classId": CLASS_ID, "state": "ACTIVE",
        "accountId": CARD, "accountName": "Camille",
        "loyaltyPoints": {"label": "Points", "balance": {"int": 120}},
        "secondaryLoyaltyPoints": {"label": "Valeur", "balance": {"string": "12,00\u00a0€"}},
        "textModulesData": [{"id": "tier", "header": "Niveau", "body": "Or"}],
        "barcode": {"type": "EAN_13", "value": CARD, "alternateText": CARD}}


@pytest.mark.parametrize("language", ["en", "de"])
def test_object_in_any_other_language_is_in_english(language: str) -> None:
    content = dataclasses.replace(CONTENT, language=language, tier_name="Gold")
    card = loyalty_object(OBJECT_ID, CLASS_ID, content)
    assert card["secondaryLoyaltyPoints"]["label"] == "Worth"
    assert card["textModulesData"] == [{"id": "tier", "header": "Tier", "body": "Gold"}]


def test_object_without_tier_or_first_name_leaves_them_out() -> None:
    content = dataclasses.replace(CONTENT, tier_name=None, first_name="", card_number="LOY-7")
    card = loyalty_object(OBJECT_ID, CLASS_ID, content)
    assert "textModulesData" not in card and "accountName" not in card
    assert card["barcode"] == {"type": "CODE_128", "value": "LOY-7", "alternateText": "LOY-7"}


def test_class_carries_the_brand_and_waits_for_review() -> None:
    assert loyalty_class(CLASS_ID, CONTENT, "Paul SAS", None) == {
        "id": CLASS_ID, "issuerName": "Paul SAS", "programName": "Boulangerie Paul",
        "hexBackgroundColor": "#7a1f2b", "reviewStatus": "UNDER_REVIEW"}


def test_class_with_a_public_logo_shows_it() -> None:
    logo = "https://loyalty.example.com/admin/logo/3.png"
    assert loyalty_class(CLASS_ID, CONTENT, "Paul SAS", logo)["programLogo"] == {
        "sourceUri": {"uri": logo},
        "contentDescription": {"defaultValue": {"language": "fr",
                                                "value": "Boulangerie Paul"}}}


@pytest.mark.parametrize(("logo_url", "public", "uri"), [
    ("/admin/settings/logo/3.png", "https://loyalty.example.com/",
     "https://loyalty.example.com/admin/settings/logo/3.png"),
    ("https://cdn.example.com/logo.png", "", "https://cdn.example.com/logo.png"),
    ("/admin/settings/logo/3.png", "", None),
    ("http://127.0.0.1:5000/admin/settings/logo/3.png", "", None),
    ("", "https://loyalty.example.com", None)])
def test_logo_is_shown_only_where_google_can_fetch_it(logo_url, public, uri) -> None:
    assert public_logo_uri(logo_url, public) == uri


def test_save_jwt_is_signed_by_the_issuers_key_and_offers_class_and_object(
        tmp_path: Path) -> None:
    key = key_file(tmp_path, WALLET_EMAIL, "https://oauth2.googleapis.com/token")
    account = GoogleServiceAccount.from_file(key.path)
    program_class = loyalty_class(CLASS_ID, CONTENT, "Paul SAS", None)
    card = loyalty_object(OBJECT_ID, CLASS_ID, CONTENT)
    token = save_jwt(account, program_class, card, NOW)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, key.public_key_pem, algorithms=["RS256"], audience="google")
    assert claims == {"iss": WALLET_EMAIL, "aud": "google", "typ": "savetowallet",
                      "iat": 1773050400, "origins": [],
                      "payload": {"loyaltyClasses": [program_class],
                                  "loyaltyObjects": [card]}}
