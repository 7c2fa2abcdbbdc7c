"""The card in Google Wallet, from the "Save to Google Wallet" link to the balance Google shows
after a sale, against the fake Google."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

from google_keys import WALLET_EMAIL, ServiceAccountKey, trusted_key
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import AccountNotFound, WalletNotConfigured
from pos_loyalty.models import Account, Card, WalletPass
from pos_loyalty.notify.channels import PushResult, push_config, wallet_config
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.wallet.google_passes import save_link, update_google_pass
from pos_loyalty.wallet.google_wallet import GoogleWalletClient, make_google_wallet_client

ISSUER = "3388000000022100000"
SAVE_URL = "https://pay.google.com/gp/v/save/"
CLASS_ID = f"{ISSUER}.demo"


@pytest.fixture
def wallet_key(app, google: FakeGoogle, tmp_path: Path) -> ServiceAccountKey:
    """The program's Google Wallet issuer, its key trusted by the fake Google."""
    key = trusted_key(google, tmp_path, WALLET_EMAIL)
    app.config["LOYALTY"]["wallet"].update(
        google_issuer_id=ISSUER, google_service_account_file=str(key.path),
        google_wallet_api_base_url=google.url, public_base_url="https://loyalty.example.com")
    return key


@pytest.fixture
def wallet_client(shop, wallet_key) -> Iterator[GoogleWalletClient]:
    program = shop.program
    client = make_google_wallet_client(wallet_config(program), push_config(program))
    yield client
    client.close()


def account_id_of(card_number: str) -> int:
    return db.session.scalar(select(Card.account_id).where(Card.number == card_number))


def google_passes(account_id: int) -> list[WalletPass]:
    db.session.expire_all()
    return list(db.session.scalars(select(WalletPass).where(WalletPass.account_id == account_id)))


def offered(shop, account_id: int, key: ServiceAccountKey) -> dict:
    """The claims of the account's "Save to Google Wallet" link, its signature checked."""
    link = run_in_transaction(lambda: save_link(shop.program, account_id, shop.now))
    assert link.startswith(SAVE_URL)
    return jwt.decode(link[len(SAVE_URL):], key.public_key_pem, algorithms=["RS256"],
                      audience="google")


def wallet_steps(google: FakeGoogle) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.replace(ISSUER, "ISSUER"), r.status)
            for r in google.requests if r.path.startswith("/walletobjects/")]


def test_save_link_makes_one_google_pass_and_counts_it(shop, wallet_key) -> None:
    card = shop.customer(points=120)
    account_id = account_id_of(card)
    claims = offered(shop, account_id, wallet_key)
    [wallet_pass] = google_passes(account_id)
    assert (wallet_pass.wallet, len(wallet_pass.serial)) == ("google", 32)
    assert db.session.get(Account, account_id).wallet_passes == 1
    assert (claims["iss"], claims["typ"], claims["origins"]) == (WALLET_EMAIL, "savetowallet", [])
    [program_class] = claims["payload"]["loyaltyClasses"]
    assert program_class == {"id": CLASS_ID, "issuerName": "Demo Boulangerie",
                             "programName": "Demo Boulangerie",
                             "hexBackgroundColor": "#1f2937", "reviewStatus": "UNDER_REVIEW"}
    [card_object] = claims["payload"]["loyaltyObjects"]
    assert card_object == {
        "id": f"{ISSUER}.{wallet_pass.serial}", "classId": CLASS_ID, "state": "ACTIVE",
        "accountId": card, "accountName": "Camille",
        "loyaltyPoints": {"label": "Points", "balance": {"int": 120}},
        "secondaryLoyaltyPoints": {"label": "Valeur", "balance": {"string": "12,00\u00a0€"}},
        "barcode": {"type": "EAN_13", "value": card, "alternateText": card}}


def test_second_save_link_offers_the_same_pass(shop, wallet_key) -> None:
    account_id = account_id_of(shop.customer(points=5))
    first = offered(shop, account_id, wallet_key)["payload"]["loyaltyObjects"][0]["id"]
    second = offered(shop, account_id, wallet_key)["payload"]["loyaltyObjects"][0]["id"]
    assert first == second
    assert len(google_passes(account_id)) == 1
    assert db.session.get(Account, account_id).wallet_passes == 1


def test_uploaded_logo_is_shown_from_the_public_address(shop, wallet_key) -> None:
    def set_logo() -> None:
        shop.program.branding = {**shop.program.branding, "logo_url": "/admin/logo/demo/1.png"}
    run_in_transaction(set_logo)
    account_id = account_id_of(shop.customer())
    [program_class] = offered(shop, account_id, wallet_key)["payload"]["loyaltyClasses"]
    assert program_class["programLogo"]["sourceUri"] == {
        "uri": "https://loyalty.example.com/admin/logo/demo/1.png"}


def test_save_link_without_an_issuer_is_refused(app, shop, wallet_key) -> None:
    app.config["LOYALTY"]["wallet"]["google_issuer_id"] = ""
    account_id = account_id_of(shop.customer())
    with pytest.raises(WalletNotConfigured):
        run_in_transaction(lambda: save_link(shop.program, account_id, shop.now))
    assert google_passes(account_id) == []


def test_save_link_for_another_programs_account_is_refused(shop, wallet_key) -> None:
    account_id = account_id_of(shop.customer())
    other, _, _ = shop.till.other_brand()
    with pytest.raises(AccountNotFound):
        run_in_transaction(lambda: save_link(other, account_id, shop.now))
    assert google_passes(account_id) == []


def test_account_without_a_google_pass_is_left_alone(shop, google, wallet_client) -> None:
    account_id = account_id_of(shop.customer(points=10))
    assert update_google_pass(shop.program, account_id, shop.now, wallet_client) == \
        PushResult("ok", "no google pass")
    assert google.requests == []


def test_google_shows_the_balance_after_each_sale(shop, google, wallet_key,
                                                  wallet_client) -> None:
    card = shop.customer(points=120)
    account_id = account_id_of(card)
    offered(shop, account_id, wallet_key)
    serial = google_passes(account_id)[0].serial
    card_object = f"{ISSUER}.{serial}"

    assert update_google_pass(shop.program, account_id, shop.now, wallet_client) == \
        PushResult("ok", provider_id=card_object)
    assert google.objects[card_object]["loyaltyPoints"]["balance"] == {"int": 120}
    assert google.classes[CLASS_ID]["programName"] == "Demo Boulangerie"

    shop.sell(card, 2500)                            # 25 € earn 25 points
    assert update_google_pass(shop.program, account_id, shop.now, wallet_client).status == "ok"
    assert google.objects[card_object]["loyaltyPoints"]["balance"] == {"int": 145}
    assert google.objects[card_object]["secondaryLoyaltyPoints"]["balance"] == {
        "string": "14,50\u00a0€"}
    assert wallet_steps(google) == [
        ("PUT", "/walletobjects/v1/loyaltyClass/ISSUER.demo", 404),
        ("POST", "/walletobjects/v1/loyaltyClass", 200),
        ("PUT", f"/walletobjects/v1/loyaltyObject/ISSUER.{serial}", 404),
        ("POST", "/walletobjects/v1/loyaltyObject", 200),
        ("PUT", f"/walletobjects/v1/loyaltyObject/ISSUER.{serial}", 200)]
    assert google.tokens_issued == 1


def test_unavailable_google_wallet_is_retried(shop, google, wallet_key,
                                              wallet_client) -> None:
    account_id = account_id_of(shop.customer(points=40))
    offered(shop, account_id, wallet_key)
    google.wallet_answer("unavailable")
    assert update_google_pass(shop.program, account_id, shop.now, wallet_client) == \
        PushResult("retry", "Google Wallet 503: scripted", 30.0)
    assert google.classes == {} and google.objects == {}
    assert update_google_pass(shop.program, account_id, shop.now, wallet_client).status == "ok"
    assert [card["loyaltyPoints"]["balance"] for card in google.objects.values()] == \
        [{"int": 40}]


def test_issuer_id_read_as_a_number_from_the_environment_names_the_same_ids(
        app, shop, wallet_key) -> None:
    app.config["LOYALTY"]["wallet"]["google_issuer_id"] = int(ISSUER)   # LOYALTY_WALLET__...
    account_id = account_id_of(shop.customer())
    payload = offered(shop, account_id, wallet_key)["payload"]
    serial = google_passes(account_id)[0].serial
    assert payload["loyaltyClasses"][0]["id"] == CLASS_ID
    assert payload["loyaltyObjects"][0]["id"] == f"{ISSUER}.{serial}"
