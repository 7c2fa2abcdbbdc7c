"""The card as an Apple Wallet pass: pass.json, its images, and the signed .pkpass bundle.

A .pkpass is a zip of pass.json, the images, manifest.json (the SHA-1 of every file, as Apple
requires) and `signature`, a detached PKCS#7 signature of the manifest made with the pass type
certificate and carrying Apple's WWDR intermediate. Wallet shows no EAN-13, so the pass carries
the card's digits as Code 128 (or QR), which the till's scanner reads as the plastic card.

The pass's authentication token is never stored: it is an HMAC of the serial under a key
derived from the app secret, computed again whenever a device presents it.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from flask import current_app

from pos_loyalty.config import ConfigError
from pos_loyalty.errors import WalletNotConfigured
from pos_loyalty.programs import settings
from pos_loyalty.wallet.colours import css_rgb, hex_rgb, mix, readable_on
from pos_loyalty.wallet.content import PassContent
from pos_loyalty.wallet.pass_images import pass_images

BARCODE_FORMATS = {"code128": "PKBarcodeFormatCode128", "qr": "PKBarcodeFormatQR"}
WEB_SERVICE_PATH = "/api/wallet/apple"

LABELS = {
    "fr": {"balance": "Solde", "points": "points", "name": "Nom", "tier": "Statut",
           "value": "Valeur", "card_number": "Numéro de carte", "about": "Votre carte",
           "balance_changed": "Nouveau solde : %@ points",
           "description": "Carte de fidélité {program}",
           "about_text": "Présentez ce code en caisse pour cumuler et utiliser vos points. "
                         "Le solde se met à jour après chaque achat."},
    "en": {"balance": "Balance", "points": "points", "name": "Name", "tier": "Tier",
           "value": "Worth", "card_number": "Card number", "about": "Your card",
           "balance_changed": "New balance: %@ points",
           "description": "{program} loyalty card",
           "about_text": "Show this code at the till to earn and spend your points. "
                         "The balance updates after every purchase."},
}


@dataclass(frozen=True)
class SigningCredentials:
    """The pass type certificate, its private key and Apple's WWDR intermediate."""
    certificate: x509.Certificate
    key: Any
    wwdr: x509.Certificate


def labels_for(language: str) -> dict[str, str]:
    """French for a French-speaking customer, English for everyone else."""
    return LABELS["fr" if language == "fr" else "en"]


def pass_json(content: PassContent, *, serial: str, auth_token: str,
              config: dict[str, Any]) -> dict[str, Any]:
    """pass.json of a storeCard showing `content`, updatable through our web service."""
    words = labels_for(content.language)
    background = hex_rgb(content.background_color)
    foreground = readable_on(background)
    barcode = {"format": BARCODE_FORMATS[config["apple_barcode_format"]],
               "message": content.card_number, "messageEncoding": "iso-8859-1",
               "altText": content.card_number}
    return {
        "formatVersion": 1,
        "passTypeIdentifier": config["apple_pass_type_id"],
        "teamIdentifier": config["apple_team_id"],
        "serialNumber": serial,
        "organizationName": content.program_name,
        "description": words["description"].format(program=content.program_name),
        "logoText": content.program_name,
        "backgroundColor": css_rgb(background),
        "foregroundColor": css_rgb(foreground),
        "labelColor": css_rgb(mix(foreground, background, 0.25)),
        "webServiceURL": web_service_url(config),
        "authenticationToken": auth_token,
        "barcodes": [barcode],
        "barcode": barcode,
        "storeCard": _fields(content, words),
    }


def _fields(content: PassContent, words: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    secondary = []
    if content.first_name:
        secondary.append({"key": "name", "label": words["name"], "value": content.first_name})
    if content.tier_name:
        secondary.append({"key": "tier", "label": words["tier"], "value": content.tier_name})
    return {
        "primaryFields": [{"key": "balance", "label": words["balance"],
                           "value": content.available_points,
                           "changeMessage": words["balance_changed"]}],
        "secondaryFields": secondary,
        "auxiliaryFields": [{"key": "value", "label": words["value"],
                             "value": content.points_value}],
        "backFields": [{"key": "card_number", "label": words["card_number"],
                        "value": content.card_number},
                       {"key": "about", "label": words["about"], "value": words["about_text"]}],
    }


def web_service_url(config: dict[str, Any]) -> str:
    """Where devices register and fetch updates: https in production (Wallet calls nothing
    else); in development an http address is accepted, for a test device on the local
    network, though a real iPhone still refuses to call it."""
    base = str(config["public_base_url"] or "").rstrip("/")
    if not base:
        raise WalletNotConfigured("[wallet] public_base_url (or [sms] public_base_url) is "
                                  "not set: Wallet would have nowhere to fetch updates.")
    if settings()["service"]["env"] == "production" and not base.startswith("https://"):
        raise ConfigError(f"[wallet] public_base_url must be https in production: {base!r}")
    return base + WEB_SERVICE_PATH


# --- the bundle ------------------------------------------------------------------------------

def pass_files(content: PassContent, *, serial: str, auth_token: str,
               config: dict[str, Any]) -> dict[str, bytes]:
    """Every file of the pass but the manifest and signature: pass.json and the images."""
    document = pass_json(content, serial=serial, auth_token=auth_token, config=config)
    files = {"pass.json": json.dumps(document, ensure_ascii=False, indent=1).encode()}
    files.update(pass_images(content))
    return files


def sign_pkpass(files: dict[str, bytes], certificate: x509.Certificate, key: Any,
                wwdr: x509.Certificate) -> bytes:
    """The .pkpass: `files`, manifest.json (SHA-1 of each) and the manifest's detached
    PKCS#7 signature (DER, SHA-256), zipped."""
    manifest = json.dumps({name: hashlib.sha1(body).hexdigest()
                           for name, body in sorted(files.items())}, indent=1).encode()
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(manifest)
                 .add_signer(certificate, key, hashes.SHA256())
                 .add_certificate(wwdr)
                 .sign(serialization.Encoding.DER,
                       [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, body in {**files, "manifest.json": manifest, "signature": signature}.items():
            bundle.writestr(name, body)
    return buffer.getvalue()


def signing_credentials(config: dict[str, Any]) -> SigningCredentials:
    """The pass certificate, key and WWDR from the [wallet] files, read at each call so a
    renewed certificate is used at once. WalletNotConfigured when a setting is empty;
    ConfigError naming the setting when a file cannot be read or is not what it should be."""
    required = ("apple_pass_type_id", "apple_team_id", "apple_pass_certificate_file",
                "apple_pass_key_file", "apple_wwdr_certificate_file")
    missing = [name for name in required if not str(config.get(name) or "").strip()]
    if missing:
        raise WalletNotConfigured(f"Apple Wallet needs [wallet] {', '.join(missing)}.")
    certificate = _certificate(config, "apple_pass_certificate_file")
    wwdr = _certificate(config, "apple_wwdr_certificate_file")
    password = str(config.get("apple_pass_key_password") or "").encode() or None
    try:
        key = serialization.load_pem_private_key(
            _file(config, "apple_pass_key_file"), password=password)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"[wallet] apple_pass_key_file: not a PEM private key, or the "
                          f"wrong apple_pass_key_password: {error}") from error
    if key.public_key() != certificate.public_key():
        raise ConfigError("[wallet] apple_pass_key_file is not the key of "
                          "apple_pass_certificate_file")
    return SigningCredentials(certificate, key, wwdr)


def _certificate(config: dict[str, Any], setting: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_file(config, setting))
    except ValueError as error:
        raise ConfigError(f"[wallet] {setting}: not a PEM certificate: {error}") from error


def _file(config: dict[str, Any], setting: str) -> bytes:
    path = Path(str(config[setting]))
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"[wallet] {setting}: cannot read {path}: {error.strerror}") from error


# --- the authentication token ----------------------------------------------------------------

def auth_token(serial: str) -> str:
    """The token Wallet presents for this pass (`Authorization: ApplePass <token>`)."""
    return hmac.new(_token_key(), b"apple-pass:" + serial.encode(), hashlib.sha256).hexdigest()


def token_matches(serial: str, token: str) -> bool:
    return hmac.compare_digest(auth_token(serial).encode(), token.encode())


def _token_key() -> bytes:
    """A key of its own derived from the app secret."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"pos-loyalty apple pass token", hashlib.sha256).digest()
