"""The signed "add to wallet" link: its page, the pass it hands out, and a till scanning that
pass's barcode."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re

import pytest
import zxingcpp
from PIL import Image

from apple_pass_credentials import openssl_verifies
import apple_wallet_setup
from apple_wallet_setup import AppleWallet, pass_document
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import WalletLinkInvalid
from pos_loyalty.models import Account, Program
from pos_loyalty.wallet import links
from pos_loyalty.wallet.pass_preview import render_pass_png


pass_chain, wallet = apple_wallet_setup.pass_chain, apple_wallet_setup.wallet  # fixtures


def link_of(wallet: AppleWallet, account_id: int) -> str:
    return links.link_token(wallet.shop.program, account_id, wallet.shop.now)


def test_apple_wallet_link_page_offers_both_wallets_in_french(wallet: AppleWallet):
    token = link_of(wallet, wallet.account_of(wallet.shop.customer(points=10)))
    page = wallet.client.get(f"/wallet/{token}")
    assert (page.status_code, page.mimetype) == (200, "text/html")
    html = page.get_data(as_text=True)
    assert '<html lang="fr">' in html and "<h1>Votre carte Demo Boulangerie</h1>" in html
    assert f'<a class="wallet" href="/wallet/{token}/apple.pkpass">Ajouter à Apple Wallet</a>' \
        in html
    assert f'<a class="wallet" href="/wallet/{token}/google">Enregistrer dans Google Wallet</a>' \
        in html
    assert "<script" not in html
    style = re.search(r"<style>(.*)</style>", html).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert page.headers["Content-Security-Policy"] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")
    assert "background:rgb(31, 41, 55);color:rgb(255, 255, 255)" in style
    assert (page.headers["Cache-Control"], page.headers["X-Frame-Options"]) == (
        "no-store", "DENY")


def test_apple_wallet_link_page_follows_the_browsers_language(wallet: AppleWallet):
    token = link_of(wallet, wallet.account_of(wallet.shop.customer(points=10)))
    html = wallet.client.get(f"/wallet/{token}",
                             headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(True)
    assert "Add to Apple Wallet" in html and "Save to Google Wallet" in html


def test_apple_wallet_link_page_escapes_the_brand_name(wallet: AppleWallet):
    def rename() -> None:
        program = db.session.get(Program, wallet.shop.till.program_id)
        program.branding = {**(program.branding or {}), "app_name": "<b>Pain & Co</b>"}
    run_in_transaction(rename)
    token = link_of(wallet, wallet.account_of(wallet.shop.customer(points=10)))
    html = wallet.client.get(f"/wallet/{token}").get_data(as_text=True)
    assert "Votre carte &lt;b&gt;Pain &amp; Co&lt;/b&gt;" in html and "<b>" not in html


def test_apple_wallet_expired_link_is_a_404_page(wallet: AppleWallet):
    token = link_of(wallet, wallet.account_of(wallet.shop.customer(points=10)))
    wallet.shop.now += dt.timedelta(hours=71, minutes=59)
    assert wallet.client.get(f"/wallet/{token}").status_code == 200
    wallet.shop.now += dt.timedelta(minutes=1)
    for path in (f"/wallet/{token}", f"/wallet/{token}/apple.pkpass"):
        page = wallet.client.get(path)
        assert (page.status_code, page.mimetype) == (404, "text/html")
        assert "Ce lien n&#39;est pas valable ou a expiré" in page.get_data(as_text=True)


def test_apple_wallet_tampered_link_is_a_404_page(wallet: AppleWallet):
    mine = wallet.account_of(wallet.shop.customer(points=10))
    other = wallet.account_of(wallet.shop.customer(points=10))
    header, payload, signature = link_of(wallet, mine).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_payload = base64.urlsafe_b64encode(
        json.dumps({**claims, "sub": str(other)}).encode()).rstrip(b"=").decode()
    for token in (f"{header}.{forged_payload}.{signature}", "not-a-token"):
        page = wallet.client.get(f"/wallet/{token}/apple.pkpass")
        assert (page.status_code, page.mimetype) == (404, "text/html")


def test_apple_wallet_link_of_one_program_is_refused_by_another(wallet: AppleWallet):
    token = link_of(wallet, wallet.account_of(wallet.shop.customer(points=10)))
    with pytest.raises(WalletLinkInvalid):
        links.account_of_link("other", token, wallet.shop.now)
    assert links.account_of_link("demo", token, wallet.shop.now) == \
        links.account_of_link(wallet.shop.program, token, wallet.shop.now)


@pytest.mark.parametrize("barcode_format", ["code128", "qr"])
def test_apple_wallet_pass_from_the_link_is_scanned_at_the_till(wallet: AppleWallet,
                                                                barcode_format):
    wallet.shop.till.app.config["LOYALTY"]["wallet"]["apple_barcode_format"] = barcode_format
    card = wallet.shop.customer(points=150, first_name="Camille")
    account_id = wallet.account_of(card)
    reply = wallet.client.get(f"/wallet/{link_of(wallet, account_id)}/apple.pkpass")
    assert (reply.status_code, reply.mimetype) == (200, "application/vnd.apple.pkpass")
    assert reply.headers["Content-Disposition"] == 'attachment; filename="demo.pkpass"'
    assert openssl_verifies(reply.data, wallet.folder / "root.pem", wallet.folder)
    document = pass_document(reply.data)
    assert document["barcodes"][0]["message"] == card
    assert document["storeCard"]["secondaryFields"][0]["value"] == "Camille"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(render_pass_png(reply.data))))
    assert [code.text for code in found] == [card]
    assert wallet.shop.look_up(found[0].text)["account"]["id"] == account_id


def test_apple_wallet_pass_speaks_english_to_an_english_customer(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=150))
    run_in_transaction(lambda: setattr(db.session.get(Account, account_id), "locale", "en_GB"))
    fields = pass_document(wallet.pkpass(account_id))["storeCard"]
    assert (fields["primaryFields"][0]["label"], fields["auxiliaryFields"][0]["label"]) == (
        "Balance", "Worth")
    assert fields["auxiliaryFields"][0]["value"] == "€15.00"


def test_apple_wallet_pass_of_a_french_program_speaks_french(wallet: AppleWallet):
    fields = pass_document(wallet.pkpass(wallet.account_of(wallet.shop.customer(points=150))))
    assert (fields["storeCard"]["primaryFields"][0]["label"],
            fields["storeCard"]["auxiliaryFields"][0]["value"]) == ("Solde", "15,00\xa0€")


def test_apple_wallet_link_of_an_unconfigured_wallet_says_so(app, shop, client):
    account_id = shop.look_up(shop.customer(points=10))["account"]["id"]
    token = links.link_token(shop.program, account_id, shop.now)
    page = client.get(f"/wallet/{token}/apple.pkpass")
    assert (page.status_code, page.mimetype) == (409, "text/html")
    assert "Cette carte ne peut pas encore être ajoutée" in page.get_data(as_text=True)
