"""Access tokens signed with key files ([mobile] jwt_algorithm = EdDSA or RS256).

Only tokens of the configured algorithm, signed by the configured private key, open /me: not
`none`, not HS256 (even keyed with our public key, the classic algorithm-confusion attack), not
another algorithm, not another key pair. Bad key settings stop create_app().
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask import Flask

from pos_loyalty.app_sessions import hs256_secret
from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty.app import create_app
from pos_loyalty.config import ConfigError
from pos_loyalty.db import db

# Nothing here depends on the database engine: SQLite is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


@dataclass(frozen=True)
class KeyPair:
    private_key: object
    private_file: Path
    public_file: Path

    @property
    def public_pem(self) -> bytes:
        return self.public_file.read_bytes()


def write_key_pair(private_key, folder: Path, name: str) -> KeyPair:  # type: ignore[no-untyped-def]
    private_file, public_file = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private_file.write_bytes(private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    public_file.write_bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(private_key, private_file, public_file)


@pytest.fixture(scope="module")
def key_pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """Ours and a stranger's, for each algorithm."""
    folder = tmp_path_factory.mktemp("jwt-keys")
    made = {"EdDSA": ed25519.Ed25519PrivateKey.generate,
            "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    return {f"{who}-{algorithm}": write_key_pair(make(), folder, f"{who}-{algorithm}")
            for algorithm, make in made.items() for who in ("ours", "stranger")}


def key_settings(database_url: str, algorithm: str, private_file: object = "",
                 public_file: object = "") -> dict:
    """tests/conftest.py's test_settings (not importable: `conftest` is this folder's), plus keys."""
    return {"service": {"database_url": database_url, "secret_key": "test-secret"},
            "security": FAST_HASHING,
            "mobile": {"jwt_algorithm": algorithm, "jwt_private_key_file": str(private_file),
                       "jwt_public_key_file": str(public_file)}}


@pytest.fixture(params=["EdDSA", "RS256"])
def algorithm(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ours(key_pairs: dict[str, KeyPair], algorithm: str) -> KeyPair:
    return key_pairs[f"ours-{algorithm}"]


@pytest.fixture
def app(database_url: str, algorithm: str, ours: KeyPair) -> Iterator[Flask]:
    """The mobile API signing with our key pair of `algorithm`."""
    app = create_app(key_settings(database_url, algorithm, ours.private_file, ours.public_file))
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_by_hand(claims: dict, secret: bytes) -> str:
    """HS256 with any bytes as the secret (PyJWT itself refuses a PEM key as an HMAC secret)."""
    signing_input = (b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "."
                     + b64(json.dumps(claims).encode()))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def assert_refused(mobile: MobileApp, token: str) -> None:
    reply = mobile.get("/me", token)
    assert reply.status_code == 401, reply.get_json()
    assert reply.get_json()["error"]["code"] == "invalid_token"


def test_tokens_are_signed_with_our_private_key_and_open_me(mobile: MobileApp, algorithm: str,
                                                            ours: KeyPair):
    customer = mobile.register()
    access_token = mobile.login(customer)["access_token"]
    for token in (customer.access_token, access_token):
        assert jwt.get_unverified_header(token)["alg"] == algorithm
        claims = jwt.decode(token, ours.public_pem, algorithms=[algorithm],
                            audience="pos-loyalty-mobile")
        assert claims["sub"] == str(customer.account_id)
        reply = mobile.get("/me", token)
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["phone"] == customer.phone


def test_hs256_keyed_with_our_public_key_is_refused(mobile: MobileApp, ours: KeyPair):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, hs256_by_hand(claims, ours.public_pem))
    assert_refused(mobile, hs256_by_hand(claims, ours.public_pem.strip()))


def test_hs256_keyed_with_the_app_secret_is_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, jwt.encode(claims, hs256_secret(), algorithm="HS256"))


def test_alg_none_is_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, jwt.encode(claims, None, algorithm="none"))


def test_a_token_signed_by_another_key_pair_is_refused(mobile: MobileApp, algorithm: str,
                                                       key_pairs: dict[str, KeyPair]):
    claims = claims_of(mobile.register().access_token)
    stranger = key_pairs[f"stranger-{algorithm}"]
    assert_refused(mobile, jwt.encode(claims, stranger.private_key, algorithm=algorithm))


def test_another_asymmetric_algorithm_is_refused(mobile: MobileApp, algorithm: str,
                                                 ours: KeyPair, key_pairs: dict[str, KeyPair]):
    claims = claims_of(mobile.register().access_token)
    other = "RS256" if algorithm == "EdDSA" else "EdDSA"
    assert_refused(mobile, jwt.encode(claims, key_pairs[f"ours-{other}"].private_key,
                                      algorithm=other))
    if algorithm == "RS256":  # same key, another RSA algorithm: still not ours
        for name in ("PS256", "RS512"):
            assert_refused(mobile, jwt.encode(claims, ours.private_key, algorithm=name))


# --- start-up refuses bad key settings ---------------------------------------------------------

def refusal(settings: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        create_app(settings)
    return str(caught.value)


def test_key_algorithms_without_key_files_do_not_start(database_url: str, algorithm: str,
                                                       ours: KeyPair):
    assert "needs jwt_private_key_file and jwt_public_key_file" in refusal(
        key_settings(database_url, algorithm))
    assert "needs jwt_private_key_file and jwt_public_key_file" in refusal(
        key_settings(database_url, algorithm, private_file=ours.private_file))


def test_missing_key_files_do_not_start(database_url: str, algorithm: str, ours: KeyPair,
                                        tmp_path: Path):
    missing = tmp_path / "nowhere.pem"
    message = refusal(key_settings(database_url, algorithm, missing, ours.public_file))
    assert message == f"[mobile] jwt_private_key_file: cannot read {missing} (No such file or " \
                      "directory)"
    message = refusal(key_settings(database_url, algorithm, ours.private_file, missing))
    assert message.startswith("[mobile] jwt_public_key_file: cannot read")


def test_files_that_are_not_pem_keys_do_not_start(database_url: str, algorithm: str,
                                                  ours: KeyPair, tmp_path: Path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    assert "is not an unencrypted PEM private key" in refusal(
        key_settings(database_url, algorithm, junk, ours.public_file))
    # The two files swapped: a public key where the private one belongs.
    assert "is not an unencrypted PEM private key" in refusal(
        key_settings(database_url, algorithm, ours.public_file, ours.private_file))
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(ours.private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    assert "is not an unencrypted PEM private key" in refusal(
        key_settings(database_url, algorithm, encrypted, ours.public_file))


def test_keys_of_the_wrong_type_do_not_start(database_url: str, key_pairs: dict[str, KeyPair]):
    rsa_keys = key_pairs["ours-RS256"]
    message = refusal(key_settings(database_url, "EdDSA", rsa_keys.private_file,
                                   rsa_keys.public_file))
    assert message == (f"[mobile] jwt_private_key_file: {rsa_keys.private_file} holds a "
                       "RSAPrivateKey, but EdDSA needs an Ed25519 or Ed448 private key")
    ed_keys = key_pairs["ours-EdDSA"]
    assert "RS256 needs an RSA public key" in refusal(
        key_settings(database_url, "RS256", rsa_keys.private_file, ed_keys.public_file))


def test_a_short_rsa_key_does_not_start(database_url: str, tmp_path: Path):
    short = write_key_pair(rsa.generate_private_key(public_exponent=65537, key_size=1024),
                           tmp_path, "short")
    assert "is a 1024-bit RSA key; RS256 needs at least 2048 bits" in refusal(
        key_settings(database_url, "RS256", short.private_file, short.public_file))


def test_keys_of_two_pairs_do_not_start(database_url: str, algorithm: str, ours: KeyPair,
                                        key_pairs: dict[str, KeyPair]):
    stranger = key_pairs[f"stranger-{algorithm}"]
    assert "are not one key pair" in refusal(
        key_settings(database_url, algorithm, ours.private_file, stranger.public_file))


def test_key_files_with_hs256_or_an_unknown_algorithm_do_not_start(database_url: str,
                                                                   ours: KeyPair):
    assert "jwt_algorithm is HS256" in refusal(
        key_settings(database_url, "HS256", ours.private_file, ours.public_file))
    assert refusal(key_settings(database_url, "ES256", ours.private_file, ours.public_file)) \
        == "[mobile] jwt_algorithm must be one of HS256, EdDSA, RS256, not 'ES256'"
