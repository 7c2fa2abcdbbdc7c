"""Twilio's signatures cover a URL; without [sms] public_base_url the webhook rebuilds it from the
request, trusting X-Forwarded-* only as far as [service] trusted_proxies says."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from pos_loyalty.app import create_app
from pos_loyalty.db import db

# Nothing here depends on the database engine: SQLite is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
TOKEN = "secret-token"
PATH = "/webhooks/twilio/inbound"
FORM = {"From": "+33699999999", "Body": "SOLDE"}


@pytest.fixture
def trusted_proxies() -> int:
    return 1


@pytest.fixture
def app(database_url: str, trusted_proxies: int) -> Iterator[Flask]:
    """tests/conftest.py's app behind `trusted_proxies` proxies, Twilio on, no public URL."""
    app = create_app({"service": {"database_url": database_url, "secret_key": "test-secret",
                                  "trusted_proxies": trusted_proxies},
                      "security": FAST_HASHING,
                      "sms": {"twilio_auth_token": TOKEN, "public_base_url": ""}})
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def signed_for(app: Flask, url: str, headers: dict[str, str]) -> int:
    signature = RequestValidator(TOKEN).compute_signature(url, FORM)
    return app.test_client().post(PATH, data=FORM, headers={
        "X-Twilio-Signature": signature, **headers}).status_code


@pytest.mark.parametrize("trusted_proxies", [0])
def test_with_no_trusted_proxy_a_forged_host_does_not_pass(app: Flask):
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other-site.example"}
    assert signed_for(app, f"https://other-site.example{PATH}", forged) == 403
    assert signed_for(app, f"http://localhost{PATH}", forged) == 200


def test_the_proxy_s_port_and_prefix_are_part_of_the_url(app: Flask):
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.org",
             "X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/loyalty"}
    assert signed_for(app, f"https://shop.example.org:8443/loyalty{PATH}", proxy) == 200


def test_a_client_s_own_port_and_prefix_before_the_proxy_s_are_ignored(app: Flask):
    """The proxy appends what it saw; the values before it are the client's."""
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.org",
             "X-Forwarded-Port": "9999, 443", "X-Forwarded-Prefix": "/forged, /loyalty"}
    assert signed_for(app, f"https://shop.example.org:9999/forged{PATH}", proxy) == 403
    assert signed_for(app, f"https://shop.example.org/loyalty{PATH}", proxy) == 200
