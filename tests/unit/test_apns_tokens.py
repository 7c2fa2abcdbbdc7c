"""The APNs provider token: signed as Apple asks, kept 20 to 55 minutes, refused when the key
is not Apple's kind."""
from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pos_loyalty.config import ConfigError
from pos_loyalty.notify.apns import ApnsCredentialError, ApnsTokenSigner

from apns_fixtures import KEY_ID, START, START_SECONDS, TEAM, pkcs8
from clocks import Clock


@pytest.fixture(scope="module")
def apple_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def claims(token: str, key: ec.EllipticCurvePrivateKey) -> dict:
    return jwt.decode(token, key.public_key(), algorithms=["ES256"],
                      options={"verify_iat": False})


def test_apns_token_is_an_es256_jwt_of_the_team_and_key(apple_key):
    signer = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), clock=Clock(START))
    token = signer.token()
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID}
    assert claims(token, apple_key) == {"iss": TEAM, "iat": START_SECONDS}


def test_apns_token_is_reused_until_refresh_minutes_then_signed_again(apple_key):
    clock = Clock(START)
    signer = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), refresh_minutes=50, clock=clock)
    first = signer.token()
    clock.advance(minutes=49, seconds=59)
    assert signer.token() == first
    clock.advance(seconds=1)
    second = signer.token()
    assert second != first
    assert claims(second, apple_key)["iat"] == START_SECONDS + 50 * 60
    clock.advance(minutes=10)
    assert signer.token() == second


@pytest.mark.parametrize("asked, kept_minutes", [(5, 20), (20, 20), (90, 55), (55, 55)])
def test_apns_refresh_minutes_stay_between_apples_limits(apple_key, asked, kept_minutes):
    clock = Clock(START)
    signer = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), refresh_minutes=asked,
                             clock=clock)
    first = signer.token()
    clock.advance(minutes=kept_minutes, seconds=-1)
    assert signer.token() == first
    clock.advance(seconds=1)
    assert claims(signer.token(), apple_key)["iat"] == START_SECONDS + kept_minutes * 60


def test_apns_renew_signs_a_new_token_at_once_and_keeps_it(apple_key):
    clock = Clock(START)
    signer = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), clock=clock)
    first = signer.token()
    clock.advance(minutes=3)
    renewed = signer.renew()
    assert renewed != first
    assert claims(renewed, apple_key)["iat"] == START_SECONDS + 180
    assert signer.token() == renewed


def test_apns_key_file_is_read(tmp_path: Path, apple_key):
    key_file = tmp_path / f"AuthKey_{KEY_ID}.p8"
    key_file.write_bytes(pkcs8(apple_key))
    signer = ApnsTokenSigner.from_file(TEAM, KEY_ID, key_file, clock=Clock(START))
    assert claims(signer.token(), apple_key) == {"iss": TEAM, "iat": START_SECONDS}


def test_apns_missing_key_file_says_which_setting_to_fix(tmp_path: Path):
    with pytest.raises(ApnsCredentialError) as raised:
        ApnsTokenSigner.from_file(TEAM, KEY_ID, tmp_path / "AuthKey.p8", clock=Clock(START))
    assert isinstance(raised.value, ConfigError)
    assert str(raised.value) == (
        f"the APNs key file {tmp_path / 'AuthKey.p8'} cannot be read (No such file or "
        f"directory): set [push] apns_key_file (LOYALTY_PUSH__APNS_KEY_FILE) to the .p8 file "
        f"of key {KEY_ID}")


@pytest.mark.parametrize("make_key", [
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    lambda: ec.generate_private_key(ec.SECP384R1()),
], ids=["rsa", "p384"])
def test_apns_key_of_another_kind_is_refused(make_key):
    with pytest.raises(ApnsCredentialError,
                       match=f"^the APNs key {KEY_ID} is not an EC P-256 key: APNs signs "
                             f"with ES256$"):
        ApnsTokenSigner(TEAM, KEY_ID, pkcs8(make_key()), clock=Clock(START))


def test_apns_key_that_is_no_pem_is_refused():
    with pytest.raises(ApnsCredentialError,
                       match=f"^the APNs key {KEY_ID} is no PEM private key"):
        ApnsTokenSigner(TEAM, KEY_ID, b"not a key", clock=Clock(START))
