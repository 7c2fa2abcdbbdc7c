"""The issue's "done when", end to end: the customer adds the card to Apple or Google Wallet
from the app, the till scans the pass's barcode, the sale's worker round updates the pass; an
iPhone with the app gets its pushes through APNs. Apple and Google are local fakes."""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from apns_fixtures import KEY_ID, TEAM, pkcs8
from apple_pass_credentials import PASS_TYPE_ID, make_pass_chain
from certificates import issue, make_ca
from google_keys import WALLET_EMAIL, trusted_key
from mobile_app import MobileApp, mobile  # noqa: F401 (the fixture)
from pos_loyalty.db import db
from pos_loyalty.models import Account, OutboxMessage, PushDevice
from pos_loyalty.notify.channels import PUSH, WALLET
from pos_loyalty.notify.fake_apns import FakeApns
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.notify.push_sender import PushSender
from pos_loyalty.notify.senders import ConsoleSender
from pos_loyalty.notify.worker import process_round
from pos_loyalty.wallet.pass_preview import render_pass_png
from pos_loyalty.wallet.sender import WalletSender

SERVICE = "/api/wallet/apple/v1"
IPHONE_TOKEN = "a1" * 32
WALLET_DEVICE, WALLET_PUSH_TOKEN = "wallet-device-of-camille", "b2" * 32
APP_TOPIC = "com.example.loyalty"
ISSUER = "3388000000022"
MONDAY = dt.datetime(2026, 3, 9, 10, 0)


@dataclass
class Apple:
    app_pushes: FakeApns      # token authentication: the brand app's .p8 key
    wallet_pushes: FakeApns   # TLS client certificate: the pass type's


@pytest.fixture
def apple(app, mobile: MobileApp, tmp_path: Path) -> Iterator[Apple]:
    """APNs for the app and for Wallet, each a fake that checks its kind of credentials, with
    [push] and [wallet] set as a store owner would."""
    mobile.freeze(MONDAY)
    server_ca = make_ca("APNs test CA")
    server_files = [str(path) for path in issue(
        server_ca, "api.push.apple.test", server_names=("127.0.0.1",)).write(tmp_path, "apns")]
    (tmp_path / "apns-ca.pem").write_bytes(server_ca.certificate_pem)
    chain = make_pass_chain()
    settings = chain.write(tmp_path)
    (tmp_path / "pass-cas.pem").write_bytes(chain.root.certificate_pem
                                            + chain.wwdr.certificate_pem)
    app_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "AuthKey.p8").write_bytes(pkcs8(app_key))
    with FakeApns(*server_files, token_keys={KEY_ID: app_key.public_key()}, team_id=TEAM,
                  clock=lambda: MONDAY) as app_pushes, \
            FakeApns(*server_files, client_ca_file=str(tmp_path / "pass-cas.pem")) as wallet:
        app.config["LOYALTY"]["push"].update(
            apns_team_id=TEAM, apns_key_id=KEY_ID, apns_key_file=str(tmp_path / "AuthKey.p8"),
            apns_topic=APP_TOPIC, apns_base_url=app_pushes.url,
            ca_file=str(tmp_path / "apns-ca.pem"))
        app.config["LOYALTY"]["wallet"].update(settings, apple_apns_base_url=wallet.url)
        app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
        yield Apple(app_pushes, wallet)


@pytest.fixture
def google(app, mobile: MobileApp, tmp_path: Path) -> Iterator[FakeGoogle]:
    mobile.freeze(MONDAY)
    with FakeGoogle() as fake:
        key = trusted_key(fake, tmp_path, WALLET_EMAIL)
        app.config["LOYALTY"]["wallet"].update(
            google_issuer_id=ISSUER, google_service_account_file=str(key.path),
            google_wallet_api_base_url=fake.url)
        app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
        yield fake


def worker_round() -> None:
    senders = {PUSH: PushSender(), WALLET: WalletSender()}
    try:
        process_round(ConsoleSender(), channels=senders)
    finally:
        for sender in senders.values():
            sender.close()


def pass_json(pkpass: bytes) -> dict:
    return json.loads(zipfile.ZipFile(io.BytesIO(pkpass)).read("pass.json"))


def scanned(pkpass: bytes) -> str:
    """What the till's scanner reads off the pass as Wallet shows it."""
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(render_pass_png(pkpass))))
    return barcode.text


def test_the_card_in_apple_wallet_is_scanned_and_its_balance_follows_the_sale(
        mobile: MobileApp, till, apple: Apple):
    customer = mobile.register()
    pkpass = mobile.get("/me/wallet/apple", customer.access_token).data
    card = pass_json(pkpass)
    serial = card["serialNumber"]
    auth = {"Authorization": f"ApplePass {card['authenticationToken']}"}
    assert card["storeCard"]["primaryFields"][0]["value"] == 0
    registered = mobile.client.post(
        f"{SERVICE}/devices/{WALLET_DEVICE}/registrations/{PASS_TYPE_ID}/{serial}",
        json={"pushToken": WALLET_PUSH_TOKEN}, headers=auth)
    assert registered.status_code == 201
    tag = mobile.client.get(f"{SERVICE}/devices/{WALLET_DEVICE}/registrations/"
                            f"{PASS_TYPE_ID}").get_json()["lastUpdated"]

    number = scanned(pkpass)
    assert number == customer.card_number
    assert till.sell(number, total_minor=2500).status_code == 201
    worker_round()

    [push] = apple.wallet_pushes.requests
    assert push.device_token == WALLET_PUSH_TOKEN
    assert (push.headers["apns-topic"], push.body) == (PASS_TYPE_ID, {})
    assert push.client_subject.endswith(f"CN=Pass Type ID: {PASS_TYPE_ID}")
    changed = mobile.client.get(f"{SERVICE}/devices/{WALLET_DEVICE}/registrations/"
                                f"{PASS_TYPE_ID}", query_string={"passesUpdatedSince": tag})
    assert changed.get_json()["serialNumbers"] == [serial]
    fetched = mobile.client.get(f"{SERVICE}/passes/{PASS_TYPE_ID}/{serial}", headers=auth)
    assert pass_json(fetched.data)["storeCard"]["primaryFields"][0]["value"] == 25


def test_the_card_in_google_wallet_is_updated_after_the_sale(mobile: MobileApp, till,
                                                             google: FakeGoogle):
    customer = mobile.register()
    link = mobile.get("/me/wallet/google", customer.access_token).get_json()["url"]
    assert link.startswith("https://pay.google.com/gp/v/save/")
    db.session.expire_all()
    assert db.session.get(Account, customer.account_id).wallet_passes == 1
    assert till.sell(customer.card_number, total_minor=2500).status_code == 201
    worker_round()
    [card] = google.objects.values()
    assert card["loyaltyPoints"]["balance"] == {"int": 25}
    assert card["barcode"]["value"] == customer.card_number
    till.sell(customer.card_number, total_minor=1000)
    worker_round()
    [card] = google.objects.values()
    assert card["loyaltyPoints"]["balance"] == {"int": 35}


def test_an_iphone_with_the_app_gets_the_push_and_a_gone_one_is_forgotten(
        mobile: MobileApp, till, apple: Apple):
    customer = mobile.register()
    assert mobile.post("/me/devices", {"platform": "ios", "token": IPHONE_TOKEN},
                       customer.access_token).status_code == 201
    assert till.sell(customer.card_number, total_minor=2500).status_code == 201
    worker_round()
    [alert] = apple.app_pushes.requests
    assert alert.device_token == IPHONE_TOKEN
    assert alert.headers["apns-topic"] == APP_TOPIC
    assert alert.body["aps"]["alert"]["title"] == "Demo Boulangerie"
    assert alert.body["balance"] == "25"
    apple.app_pushes.answer(IPHONE_TOKEN, "unregistered")
    till.sell(customer.card_number, total_minor=1000)
    worker_round()
    db.session.expire_all()
    assert db.session.query(PushDevice).count() == 0
    assert db.session.get(Account, customer.account_id).push_devices == 0
    last = db.session.query(OutboxMessage).order_by(OutboxMessage.id.desc()).first()
    assert (last.channel, last.status, last.to_phone) == ("sms", "queued", customer.phone)
