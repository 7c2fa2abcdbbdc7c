"""The Apple Wallet pass as a bundle: pass.json, images, manifest, signature and the preview,
from a PassContent made by hand (no database)."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.serialization import pkcs7
from flask import Flask
from PIL import Image

from apple_pass_credentials import (
    PASS_TYPE_ID, TEAM_ID, PassChain, bundle_files, make_pass_chain, manifest_matches,
    openssl_verifies, rezipped,
)
from pos_loyalty.config import ConfigError
from pos_loyalty.errors import WalletNotConfigured
from pos_loyalty.wallet import apple_pass
from pos_loyalty.wallet.colours import NEAR_BLACK, WHITE, readable_on
from pos_loyalty.wallet.content import PassContent
from pos_loyalty.wallet.pass_images import initials_of
from pos_loyalty.wallet.pass_preview import render_pass_png

CARD = "2900000000015"


def content(**changes) -> PassContent:
    fields = dict(program_name="Demo Boulangerie", first_name="Camille", language="fr",
                  available_points=1250, points_value="125,00 €", tier_name="Or",
                  card_number=CARD, background_color="#1f2937", accent_color="#f59e0b",
                  logo=None, updated_at=dt.datetime(2026, 3, 9, 10, 0))
    return PassContent(**{**fields, **changes})


@pytest.fixture(scope="module")
def chain() -> PassChain:
    return make_pass_chain()


@pytest.fixture
def config(chain: PassChain, tmp_path: Path) -> dict:
    return {**chain.write(tmp_path), "apple_pass_key_password": "",
            "apple_barcode_format": "code128"}


@pytest.fixture
def plain_app():
    app = Flask("apple_pass_tests")
    app.config.update(LOYALTY={"service": {"env": "development"}}, SECRET_KEY="test-secret")
    with app.app_context():
        yield app


def signed(config: dict, card: PassContent | None = None) -> bytes:
    files = apple_pass.pass_files(card or content(), serial="serial-1",
                                  auth_token=apple_pass.auth_token("serial-1"), config=config)
    credentials = apple_pass.signing_credentials(config)
    return apple_pass.sign_pkpass(files, credentials.certificate, credentials.key,
                                  credentials.wwdr)


# --- signature and manifest ------------------------------------------------------------------

def test_apple_pass_signature_verifies_with_openssl_up_to_the_root(plain_app, config, chain,
                                                                   tmp_path):
    pkpass = signed(config)
    assert openssl_verifies(pkpass, tmp_path / "root.pem", tmp_path)


def test_apple_pass_signature_carries_the_pass_certificate_and_the_wwdr(plain_app, config,
                                                                       chain):
    certificates = pkcs7.load_der_pkcs7_certificates(bundle_files(signed(config))["signature"])
    assert set(certificates) == {chain.signer.certificate, chain.wwdr.certificate}


def test_apple_pass_manifest_hashes_every_file(plain_app, config):
    files = bundle_files(signed(config))
    assert set(files) == {"pass.json", "manifest.json", "signature", "icon.png", "icon@2x.png",
                          "icon@3x.png", "logo.png", "logo@2x.png", "logo@3x.png"}
    assert manifest_matches(signed(config))


def test_apple_pass_with_a_tampered_file_fails_verification(plain_app, config, tmp_path):
    files = bundle_files(signed(config))
    document = json.loads(files["pass.json"])
    document["storeCard"]["primaryFields"][0]["value"] = 999999
    forged = rezipped({**files, "pass.json": json.dumps(document).encode()})
    assert not manifest_matches(forged)
    manifest = json.loads(files["manifest.json"])
    manifest["pass.json"] = "0" * 40
    forged_manifest = rezipped({**files, "manifest.json": json.dumps(manifest).encode()})
    assert not openssl_verifies(forged_manifest, tmp_path / "root.pem", tmp_path)


def test_apple_pass_signed_by_another_authority_fails_verification(plain_app, config,
                                                                   tmp_path):
    stranger = make_pass_chain()
    stranger.root.write(tmp_path, "stranger")
    assert not openssl_verifies(signed(config), tmp_path / "stranger.pem", tmp_path)


# --- pass.json -------------------------------------------------------------------------------

def test_apple_pass_json_shows_the_card_in_french(plain_app, config):
    document = apple_pass.pass_json(content(), serial="s1", auth_token="t1", config=config)
    barcode = {"format": "PKBarcodeFormatCode128", "message": CARD,
               "messageEncoding": "iso-8859-1", "altText": CARD}
    assert {key: document[key] for key in (
        "formatVersion", "passTypeIdentifier", "teamIdentifier", "serialNumber",
        "organizationName", "description", "logoText", "webServiceURL",
        "authenticationToken", "barcodes", "barcode")} == {
        "formatVersion": 1, "passTypeIdentifier": PASS_TYPE_ID, "teamIdentifier": TEAM_ID,
        "serialNumber": "s1", "organizationName": "Demo Boulangerie",
        "description": "Carte de fidélité Demo Boulangerie", "logoText": "Demo Boulangerie",
        "webServiceURL": "https://loyalty.example.com/api/wallet/apple",
        "authenticationToken": "t1", "barcodes": [barcode], "barcode": barcode}
    card = document["storeCard"]
    assert card["primaryFields"] == [{"key": "balance", "label": "Solde", "value": 1250,
                                      "changeMessage": "Nouveau solde : %@ points"}]
    assert card["secondaryFields"] == [{"key": "name", "label": "Nom", "value": "Camille"},
                                       {"key": "tier", "label": "Statut", "value": "Or"}]
    assert card["auxiliaryFields"] == [{"key": "value", "label": "Valeur",
                                        "value": "125,00 €"}]
    assert card["backFields"][0] == {"key": "card_number", "label": "Numéro de carte",
                                     "value": CARD}
    assert (document["backgroundColor"], document["foregroundColor"]) == (
        "rgb(31, 41, 55)", "rgb(255, 255, 255)")


def test_apple_pass_json_speaks_english_to_others_and_leaves_out_what_is_missing(plain_app,
                                                                                config):
    document = apple_pass.pass_json(
        content(language="de", first_name="", tier_name=None, background_color="#fde68a"),
        serial="s1", auth_token="t1", config={**config, "apple_barcode_format": "qr"})
    card = document["storeCard"]
    assert card["primaryFields"][0]["label"] == "Balance"
    assert card["secondaryFields"] == []
    assert card["auxiliaryFields"][0]["label"] == "Worth"
    assert document["description"] == "Demo Boulangerie loyalty card"
    assert document["barcodes"][0]["format"] == "PKBarcodeFormatQR"
    assert document["foregroundColor"] == "rgb(28, 28, 30)"


@pytest.mark.parametrize("background, text", [((0, 0, 0), WHITE), ((255, 255, 255), NEAR_BLACK),
                                              ((31, 41, 55), WHITE),
                                              ((245, 158, 11), NEAR_BLACK)])
def test_apple_pass_text_colour_is_readable_on_the_brand_colour(background, text):
    assert readable_on(background) == text


def test_apple_pass_web_service_must_be_https_in_production(plain_app, config):
    plain_app.config["LOYALTY"]["service"]["env"] = "production"
    with pytest.raises(ConfigError, match="https"):
        apple_pass.pass_json(content(), serial="s1", auth_token="t1",
                             config={**config, "public_base_url": "http://loyalty.example.com"})


def test_apple_pass_without_a_public_address_is_not_offered(plain_app, config):
    with pytest.raises(WalletNotConfigured):
        apple_pass.pass_json(content(), serial="s1", auth_token="t1",
                             config={**config, "public_base_url": ""})


# --- credentials and token -------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["apple_pass_type_id", "apple_team_id",
                                     "apple_pass_certificate_file", "apple_pass_key_file",
                                     "apple_wwdr_certificate_file"])
def test_apple_pass_needs_every_setting(config, setting):
    with pytest.raises(WalletNotConfigured, match=setting):
        apple_pass.signing_credentials({**config, setting: ""})


def test_apple_pass_files_that_cannot_be_read_are_named(config, tmp_path):
    with pytest.raises(ConfigError, match="apple_wwdr_certificate_file: cannot read"):
        apple_pass.signing_credentials({**config, "apple_wwdr_certificate_file":
                                        str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match="apple_pass_certificate_file: not a PEM certificate"):
        apple_pass.signing_credentials({**config, "apple_pass_certificate_file":
                                        config["apple_pass_key_file"]})


def test_apple_pass_key_must_be_the_certificates(config, tmp_path):
    other = make_pass_chain().signer.write(tmp_path, "other")[1]
    with pytest.raises(ConfigError, match="is not the key of"):
        apple_pass.signing_credentials({**config, "apple_pass_key_file": str(other)})


def test_apple_pass_token_belongs_to_one_serial(plain_app):
    token = apple_pass.auth_token("serial-1")
    assert len(token) == 64 and token == apple_pass.auth_token("serial-1")
    assert apple_pass.token_matches("serial-1", token)
    assert not apple_pass.token_matches("serial-2", token)
    assert not apple_pass.token_matches("serial-1", token[:-1] + "0")


# --- images and preview ----------------------------------------------------------------------

def test_apple_pass_images_have_apples_sizes(plain_app, config):
    files = bundle_files(signed(config))
    sizes = {name: Image.open(io.BytesIO(files[name])).size
             for name in ("icon.png", "icon@2x.png", "logo.png", "logo@2x.png")}
    assert sizes == {"icon.png": (29, 29), "icon@2x.png": (58, 58), "logo.png": (160, 50),
                     "logo@2x.png": (320, 100)}


def test_apple_pass_logo_fits_inside_with_transparent_padding(plain_app, config):
    square = io.BytesIO()
    Image.new("RGB", (200, 200), (200, 0, 0)).save(square, format="PNG")
    files = bundle_files(signed(config, content(logo=square.getvalue())))
    logo = Image.open(io.BytesIO(files["logo.png"])).convert("RGBA")
    assert logo.size == (160, 50)
    assert logo.getbbox() == (55, 0, 105, 50)
    assert logo.getpixel((80, 25)) == (200, 0, 0, 255)
    assert logo.getpixel((10, 25))[3] == 0


def test_apple_pass_initials_name_a_brand_without_logo():
    assert initials_of("Demo Boulangerie") == "DB"
    assert initials_of("café") == "C"
    assert initials_of("  ") == "?"


@pytest.mark.parametrize("barcode_format, symbology", [
    ("code128", zxingcpp.BarcodeFormat.Code128), ("qr", zxingcpp.BarcodeFormat.QRCode)])
def test_apple_pass_preview_barcode_reads_back_as_the_card_number(plain_app, config,
                                                                  barcode_format, symbology):
    pkpass = signed({**config, "apple_barcode_format": barcode_format})
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(render_pass_png(pkpass))))
    assert [(code.format, code.text) for code in found] == [(symbology, CARD)]
