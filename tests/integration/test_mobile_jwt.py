"""Access tokens: only HS256 tokens we signed, for this audience, program, session and time."""
from __future__ import annotations

import base64
import calendar
import json

import jwt
import pytest

from pos_loyalty.app_sessions import signing_key
from mobile_app import MobileApp, mobile, other_brand  # noqa: F401
from pos_loyalty.db import utcnow


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forged(claims: dict, key: bytes | str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key if key is not None else signing_key(), algorithm=algorithm)


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def assert_refused(mobile: MobileApp, token: str) -> None:
    reply = mobile.get("/me", token)
    assert reply.status_code == 401, reply.get_json()
    assert reply.get_json()["error"]["code"] == "invalid_token"


def test_a_genuine_token_carries_the_required_claims(mobile: MobileApp):
    customer = mobile.register()
    header = jwt.get_unverified_header(customer.access_token)
    claims = claims_of(customer.access_token)
    assert header["alg"] == "HS256"
    assert claims["iss"] == "pos-loyalty" and claims["aud"] == "pos-loyalty-mobile"
    assert claims["sub"] == str(customer.account_id)
    assert claims["pid"] == mobile.program_id
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert mobile.get("/me", forged(claims)).status_code == 200


def test_alg_none_is_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."
    assert_refused(mobile, unsigned)
    assert_refused(mobile, jwt.encode(claims, None, algorithm="none"))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_another_algorithm_is_refused_even_with_our_key(mobile: MobileApp, algorithm: str):
    claims = claims_of(mobile.register().access_token)
    # PyJWT warns that our 256-bit key is short for HS384/512: the attacker would not care.
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        token = forged(claims, algorithm=algorithm)
    assert_refused(mobile, token)


def test_a_token_signed_with_another_key_is_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, forged(claims, key=b"x" * 32))
    # The raw app secret is not the signing key either.
    assert_refused(mobile, forged(claims, key=mobile.app.config["SECRET_KEY"].ljust(32, "-")))


@pytest.mark.parametrize("claim, value", [("aud", "someone-else"), ("iss", "evil"),
                                          ("aud", ["other", "more"])])
def test_wrong_audience_or_issuer_is_refused(mobile: MobileApp, claim: str, value):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, forged({**claims, claim: value}))


def test_an_expired_token_is_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    now = calendar.timegm(utcnow().utctimetuple())
    assert_refused(mobile, forged({**claims, "iat": now - 3600, "exp": now - 1}))


def test_a_tampered_payload_is_refused(mobile: MobileApp):
    first = mobile.register()
    second = mobile.register()
    header, payload, signature = first.access_token.split(".")
    claims = claims_of(first.access_token)
    tampered = f"{header}.{b64({**claims, 'sub': str(second.account_id)})}.{signature}"
    assert_refused(mobile, tampered)
    assert_refused(mobile, f"{header}.{payload}.{signature[:-4]}AAAA")


@pytest.mark.parametrize("missing", ["exp", "sub", "aud", "iss", "pid", "sid", "iat"])
def test_a_token_missing_a_claim_is_refused(mobile: MobileApp, missing: str):
    claims = claims_of(mobile.register().access_token)
    del claims[missing]
    assert_refused(mobile, forged(claims))


def test_a_signed_token_naming_another_customer_of_the_session_is_refused(mobile: MobileApp):
    first = mobile.register()
    second = mobile.register()
    claims = claims_of(first.access_token)
    assert_refused(mobile, forged({**claims, "sub": str(second.account_id)}))


def test_odd_claim_types_are_refused(mobile: MobileApp):
    claims = claims_of(mobile.register().access_token)
    assert_refused(mobile, forged({**claims, "pid": str(claims["pid"])}))
    assert_refused(mobile, forged({**claims, "sid": True}))
    assert_refused(mobile, forged({**claims, "sub": "abc"}))


def test_a_token_of_another_program_is_refused(mobile: MobileApp, other_brand: MobileApp):
    customer = mobile.register()
    assert_refused(other_brand, customer.access_token)
    claims = claims_of(customer.access_token)
    assert_refused(other_brand, forged({**claims, "pid": other_brand.program_id}))


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Token x.y.z",
                                    "Bearer not-a-jwt", "Bearer a.b.c"])
def test_malformed_authorization_headers_are_refused(mobile: MobileApp, header: str):
    reply = mobile.call("GET", "/me", headers={"Authorization": header})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_token"


def test_missing_or_wrong_app_key_is_refused(mobile: MobileApp):
    customer = mobile.register()
    for key in ("", "ak_wrong"):
        reply = mobile.call("GET", "/me", token=customer.access_token,
                            headers={"X-App-Key": key})
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "invalid_app_key"
    reply = mobile.client.get("/api/mobile/v1/branding")
    assert reply.get_json()["error"]["code"] == "invalid_app_key"
