"""The add-to-wallet link where a customer meets it without the app: the till's receipt (a
QR code), the POS API for a till that prints its own receipts, and an SMS reply to WALLET."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from apple_pass_credentials import make_pass_chain
from apple_wallet_setup import configure_wallet
from pos_loyalty import accounts
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account
from pos_loyalty.wallet import links
from test_cashier_ui import Cashier, add_staff, words
from mobile_app import mobile  # noqa: F401 (the fixture)
from test_notify_webhooks import signed_post, twilio_settings  # noqa: F401 (the fixture)

PUBLIC = "https://loyalty.example.com"
MONDAY = dt.datetime(2026, 3, 9, 10, 0)
SCALE = 8   # pixels per QR module


@pytest.fixture
def wallet(app, till, tmp_path):
    till.app.extensions["pos_loyalty.clock"] = lambda: MONDAY
    configure_wallet(app, make_pass_chain(), tmp_path, public_base_url=PUBLIC)


@pytest.fixture
def cashier(till) -> Cashier:
    add_staff(till, "camille", "cashier")
    person = Cashier(till, "camille")
    person.log_in()
    return person


def account_of(till, card: str) -> int:
    return run_in_transaction(lambda: accounts.find_card(till.program(), card).account_id)


def test_the_receipt_offers_the_wallet_as_a_qr_code_that_opens_the_customer_s_page(
        till, cashier, wallet, client):
    card = till.customer()
    page = cashier.sell(card, total="20,00")
    receipt = cashier.get(page.location)
    assert "Scan with your phone to add your card to Apple Wallet or Google Wallet" in \
        words(receipt)
    svg = receipt.get_data(as_text=True).split('<div class="wallet-qr">')[1].split("</div>")[0]
    url = decoded_qr(svg)
    assert url.startswith(f"{PUBLIC}/wallet/")
    token = url.removeprefix(f"{PUBLIC}/wallet/")
    assert run_in_transaction(lambda: links.account_of_link(
        till.program(), token, MONDAY)) == account_of(till, card)
    assert client.get(f"/wallet/{token}").status_code == 200


def decoded_qr(svg: str) -> str:
    """The text of the page's QR code, read as a phone's camera would: its modules (one
    "Mx,y" square each in the SVG's path) drawn large on white, then decoded."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", (size * SCALE, size * SCALE), 255)
    draw = ImageDraw.Draw(image)
    for x, y in re.findall(r"M(\d+),(\d+)H", svg):
        left, top = int(x) * SCALE, int(y) * SCALE
        draw.rectangle([left, top, left + SCALE - 1, top + SCALE - 1], fill=0)
    [code] = zxingcpp.read_barcodes(image)
    return code.text


def test_a_customer_with_the_card_in_a_wallet_is_not_offered_it_again(till, cashier, wallet):
    card = till.customer()
    run_in_transaction(lambda: setattr(db.session.get(Account, account_of(till, card)),
                                       "wallet_passes", 1))
    page = cashier.sell(card, total="20,00")
    assert "wallet-qr" not in cashier.get(page.location).get_data(as_text=True)


def test_without_a_wallet_configured_the_receipt_offers_nothing(till, cashier):
    page = cashier.sell(till.customer(), total="20,00")
    assert "wallet-qr" not in cashier.get(page.location).get_data(as_text=True)


def test_a_till_gets_the_link_to_print_and_clear_errors_otherwise(till, wallet):
    card = till.customer()
    reply = till.post("/cards/wallet-link", {"card_number": card})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["url"].startswith(f"{PUBLIC}/wallet/")
    assert body["expires_at"] == "2026-03-12T10:00:00Z"   # [wallet] link_hours: 72
    blank = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, MONDAY))[0]
    refused = till.post("/cards/wallet-link", {"card_number": blank})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (404, "card_not_found")


def test_a_program_without_a_wallet_answers_409(till):
    reply = till.post("/cards/wallet-link", {"card_number": till.customer()})
    assert (reply.status_code, reply.get_json()["error"]["code"]) == \
        (409, "wallet_not_configured")


def test_texting_wallet_gets_the_link_back(client, till, wallet):
    till.customer()
    reply = signed_post(client, "/webhooks/twilio/inbound",
                        {"From": till.last_phone, "Body": "carte"})
    text = reply.get_data(as_text=True)
    assert "Demo Boulangerie : ajoutez votre carte à votre téléphone : " \
           f"{PUBLIC}/wallet/" in text


def test_texting_wallet_without_a_wallet_gets_the_help(client, till):
    till.customer()
    reply = signed_post(client, "/webhooks/twilio/inbound",
                        {"From": till.last_phone, "Body": "WALLET"})
    assert "envoyez SOLDE pour recevoir votre solde" in reply.get_data(as_text=True)


def test_the_app_is_told_when_the_program_offers_no_wallet(mobile):
    customer = mobile.register()
    for path in ("/me/wallet/link", "/me/wallet/apple", "/me/wallet/google"):
        reply = mobile.get(path, customer.access_token)
        assert (reply.status_code, reply.get_json()["error"]["code"]) == \
            (409, "wallet_not_configured"), path


def test_a_pass_key_that_cannot_be_read_answers_409_not_a_500(app, mobile, tmp_path, caplog):
    configure_wallet(app, make_pass_chain(), tmp_path, public_base_url=PUBLIC)
    (tmp_path / "pass.key").write_text("not a key")
    customer = mobile.register()
    reply = mobile.get("/me/wallet/apple", customer.access_token)
    assert (reply.status_code, reply.get_json()["error"]["code"]) == \
        (409, "wallet_not_configured")
    assert "apple_pass_key_file" in caplog.text
