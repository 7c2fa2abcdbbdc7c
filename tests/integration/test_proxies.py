"""Behind a load balancer ([service] trusted_proxies): the client's IP and URL are the proxy's.

Rate limits count per client IP, which only the trusted proxy's X-Forwarded-For tells; with no
trusted proxy the header is the client's own word and is ignored. Twilio's signatures cover a
URL; without [sms] public_base_url the webhook rebuilds it from the request, trusting
X-Forwarded-* only as far as trusted_proxies says.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from mobile_app import MobileApp, mobile, new_phone, set_limits  # noqa: F401
from pos_loyalty.app import create_app
from pos_loyalty.db import db

# Nothing here depends on the database engine: SQLite is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
TWILIO_TOKEN = "secret-token"
PATH = "/webhooks/twilio/inbound"
FORM = {"From": "+33699999999", "Body": "SOLDE"}


@pytest.fixture
def trusted_proxies() -> int:
    return 1


@pytest.fixture
def app(database_url: str, trusted_proxies: int) -> Iterator[Flask]:
    """tests/conftest.py's app, behind `trusted_proxies` proxies, Twilio on, no public URL."""
    app = create_app({"service": {"database_url": database_url, "secret_key": "test-secret",
                                  "trusted_proxies": trusted_proxies},
                      "security": FAST_HASHING,
                      "sms": {"twilio_auth_token": TWILIO_TOKEN, "public_base_url": ""}})
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def login_from(mobile: MobileApp, forwarded_for: str) -> int:
    """A wrong login through the proxy (the peer is always the test client's 127.0.0.1)."""
    return mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


def test_each_client_behind_the_proxy_has_its_own_budget(mobile: MobileApp):
    set_limits(mobile.app, auth="2 per minute")
    assert [login_from(mobile, "203.0.113.7") for _ in range(3)] == [401, 401, 429]
    assert login_from(mobile, "198.51.100.20") == 401


def test_a_client_cannot_pick_its_ip_by_sending_the_header_itself(mobile: MobileApp):
    """The proxy appends the address it saw; only that last value is trusted."""
    set_limits(mobile.app, auth="2 per minute")
    assert [login_from(mobile, f"10.0.0.{n}, 203.0.113.7") for n in range(3)] == [401, 401, 429]


@pytest.mark.parametrize("trusted_proxies", [0])
def test_without_trusted_proxies_the_header_is_ignored(mobile: MobileApp):
    set_limits(mobile.app, auth="2 per minute")
    assert [login_from(mobile, "203.0.113.7") for _ in range(2)] == [401, 401]
    assert login_from(mobile, "198.51.100.20") == 429


def signed_for(app: Flask, url: str, headers: dict[str, str]) -> int:
    """Twilio's inbound webhook, signed for `url`, through the proxy `headers`."""
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, FORM)
    return app.test_client().post(PATH, data=FORM, headers={
        "X-Twilio-Signature": signature, **headers}).status_code


def test_twilio_signatures_are_checked_against_the_url_the_proxy_saw(app: Flask):
    """ProxyFix picks the proxy's own X-Forwarded-Proto/-Host; the webhook must use the same."""
    proxy = {"X-Forwarded-Proto": "http, https",
             "X-Forwarded-Host": "forged.example, shop.example.org"}
    assert signed_for(app, f"https://shop.example.org{PATH}", proxy) == 200


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
