"""Service account keys as Google's console downloads them, made for the tests: an RSA key and
its JSON key file, whose token_uri points at the fake Google."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pos_loyalty.notify.fake_google import FakeGoogle

PROJECT_ID = "brand-app-4f2a1"
FCM_EMAIL = f"fcm-sender@{PROJECT_ID}.iam.gserviceaccount.com"
WALLET_EMAIL = f"wallet-issuer@{PROJECT_ID}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class ServiceAccountKey:
    path: Path
    client_email: str
    private_key_pem: str
    public_key_pem: str


@lru_cache(maxsize=None)
def rsa_key_pair(name: str) -> tuple[str, str]:
    """(private PEM, public PEM), one pair per name for the whole run (made in ~0.1 s)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def key_file(folder: Path, client_email: str, token_uri: str,
             project_id: str = PROJECT_ID) -> ServiceAccountKey:
    """A service account's JSON key in `folder`, with every field Google writes."""
    private, public = rsa_key_pair(client_email)
    path = folder / f"{client_email.split('@')[0]}.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project_id,
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private, "client_email": client_email, "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com"}), encoding="utf-8")
    return ServiceAccountKey(path, client_email, private, public)


def trusted_key(google: FakeGoogle, folder: Path, client_email: str) -> ServiceAccountKey:
    """A key file whose token_uri is the fake's, and the fake trusting its signature."""
    key = key_file(folder, client_email, google.token_url)
    google.trust(client_email, key.public_key_pem)
    return key
