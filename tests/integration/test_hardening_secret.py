"""A production app signs with its own secret: a cookie forged with the development one fails."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from pos_loyalty import programs, staff_auth
from pos_loyalty.app import create_app
from pos_loyalty.config import DEVELOPMENT_SECRET_KEY, ConfigError
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.security import app_hasher

PRODUCTION_SECRET = "p" * 48
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
# The session's "seen" is 0 (1970): an idle lock of 10^8 minutes (190 years) keeps it open
# without the test reading the wall clock.
NEVER_IDLE = {"idle_lock_minutes": 10**8}
PIN_KEY = "test-pin-key-of-at-least-32-chars-x"


def app_for(database_url: str, **service: str) -> Flask:
    app = create_app({"service": {"database_url": database_url, **service},
                      "security": {**FAST_HASHING, "pin_key": PIN_KEY},
                      "cashier_ui": NEVER_IDLE})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def apps(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """A development app without a secret and a production app, on one database."""
    development = app_for(database_url, env="development", secret_key="")
    production = app_for(database_url, env="production", secret_key=PRODUCTION_SECRET,
                         rate_limit_storage_url="redis://127.0.0.1:6379/7")
    yield development, production
    for app in (development, production):
        with app.app_context():
            db.engine.dispose()


def forged_session(development: Flask) -> str:
    """A cashier session signed with the development secret, for a real staff and web till."""
    with development.app_context():
        def setup() -> tuple[int, int, str]:
            program = programs.default_program()
            store = programs.create_store(program, "Lyon")
            staff = programs.create_staff(program, "marie", "manager", "a long password",
                                          store.id, app_hasher())
            session_id = staff_auth.open_session(staff, utcnow())   # a session really open
            return staff.id, staff_auth.web_till(program, store.id).id, session_id
        staff_id, terminal_id, session_id = run_in_transaction(setup)
        assert development.config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY
        serializer = SecureCookieSessionInterface().get_signing_serializer(development)
        return serializer.dumps({"staff_id": staff_id, "terminal_id": terminal_id, "seen": 0,
                                 "sid": session_id, "csrf": "forged"})


def test_a_cookie_signed_with_the_development_secret_fails_in_production(apps):
    development, production = apps
    cookie = forged_session(development)
    tampered = development.test_client()
    tampered.set_cookie("session", cookie)
    assert tampered.get("/cashier/").status_code == 200     # the forgery works in development
    forged = production.test_client()
    forged.set_cookie("session", cookie)
    reply = forged.get("/cashier/")
    assert reply.status_code == 302 and reply.location.endswith("/cashier/login")


def test_a_misspelled_production_does_not_start(database_url: str):
    with pytest.raises(ConfigError, match="must be one of"):
        app_for(database_url, env="Production", secret_key="")
