"""Helpers for the phone app's tests: a brand's app (app key + test client) and its customers,
and customers registered through the use cases themselves (`register`, at the `shop`'s clock).

Imported by tests/integration/test_mobile_*.py, which re-export the fixtures they use, and by
test_usecases_phone_*.py.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from pos_loyalty.app_keys import create_app_key
from pos_loyalty import accounts, programs
from pos_loyalty.app_sessions import Caller, TokenPair
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import OutboxMessage, Program
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import phone_app

PREFIX = "/api/mobile/v1"
HIGH_LIMIT = "10000 per minute"
phones = itertools.count(50_000_000)


def new_phone() -> str:
    return f"+336{next(phones):08d}"


def last_code(phone: str) -> str:
    """The code in the newest SMS to `phone`, read from the outbox like the SMS worker."""
    body = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.to_phone == phone,
                                         OutboxMessage.kind == "otp")
        .order_by(OutboxMessage.id.desc()).limit(1))
    db.session.rollback()
    return re.search(r"\b(\d{6})\b", body).group(1)


def wrong_code(code: str) -> str:
    """A well-formed code that is not `code`."""
    return "000000" if code != "000000" else "111111"


@dataclass
class AppCustomer:
    """A customer who registered through the phone app's use cases, and the tokens it got."""
    phone: str
    pin: str
    tokens: TokenPair


def register(shop: Any, phone: str | None = None, pin: str = "1234") -> AppCustomer:
    """Register at `shop.now`: a code by SMS, then that code and a PIN."""
    phone = phone or new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    tokens = phone_app.complete_registration(shop.program, phone, last_code(phone), pin,
                                             shop.now)
    return AppCustomer(phone, pin, tokens)


def caller(shop: Any, customer: AppCustomer) -> Caller:
    """Who the customer's access token speaks for at `shop.now`."""
    return phone_app.caller_of(shop.program, f"Bearer {customer.tokens.access_token}", shop.now)


@dataclass
class Customer:
    phone: str
    pin: str
    card_number: str
    access_token: str
    refresh_token: str

    @property
    def account_id(self) -> int:
        return int(jwt.decode(self.access_token, options={"verify_signature": False})["sub"])


@dataclass
class MobileApp:
    """One program seen through its phone app."""
    app: Flask
    client: FlaskClient
    program_id: int
    app_key: str

    def program(self) -> Program:
        return db.session.get(Program, self.program_id)

    def freeze(self, moment: dt.datetime) -> None:
        """Set the app's clock: tokens, balances and dates are worked out at `moment`."""
        self.app.extensions["pos_loyalty.clock"] = lambda: moment

    def caller(self, customer: Customer, now: dt.datetime) -> Caller:
        """Who the customer's access token speaks for, found as the views find it."""
        return phone_app.caller_of(self.program(), f"Bearer {customer.access_token}", now)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        sent = {"X-App-Key": self.app_key}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        if body is not None:
            kwargs["json"] = body
        return self.client.open(PREFIX + path, method=method, headers=sent, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> Any:
        return self.call("GET", path, token=token, **kwargs)

    def post(self, path: str, body: Any = None, token: str | None = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, token=token, **kwargs)

    def last_code(self, phone: str) -> str:
        return last_code(phone)

    def register(self, phone: str | None = None, pin: str = "1234") -> Customer:
        """A customer enrolled through the app: code by SMS, then verify."""
        phone = phone or new_phone()
        assert self.post("/auth/register", {"phone": phone}).status_code == 202
        reply = self.post("/auth/verify", {"phone": phone, "code": self.last_code(phone),
                                           "pin": pin})
        assert reply.status_code == 201, reply.get_json()
        tokens = reply.get_json()
        card = self.get("/me/card", tokens["access_token"]).get_json()["card_number"]
        return Customer(phone, pin, card, tokens["access_token"], tokens["refresh_token"])

    def login(self, customer: Customer) -> dict[str, Any]:
        reply = self.post("/auth/login", {"phone": customer.phone, "pin": customer.pin})
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()


def set_limits(app: Flask, auth: str = HIGH_LIMIT, code: str = HIGH_LIMIT,
               codes_per_hour: int = 1000) -> None:
    """Rate limits are read per request, so a test may change them on its app."""
    settings = app.config["LOYALTY"]["mobile"]
    settings["auth_rate_limit"], settings["code_rate_limit"] = auth, code
    settings["otp_max_per_phone_per_hour"] = codes_per_hour


def make_program(slug: str) -> tuple[int, str]:
    def work() -> tuple[int, str]:
        program = Program(slug=slug, name=f"Brand {slug}", currency="EUR",
                          timezone="Europe/Paris", locale="fr_FR",
                          rules={"card_prefix": "28"}, branding={})
        db.session.add(program)
        db.session.flush()
        return program.id, create_app_key(program, "tests")
    return run_in_transaction(work)


def till_customer(program: Program, phone: str, pin: str = "4321") -> str:
    """A customer enrolled at a till (not through the app); returns the card number."""
    card = run_in_transaction(lambda: accounts.create_customer(
        db.session.merge(program), phone, pin, utcnow(), app_hasher(), channel="till",
        first_name="Léa"))
    return card.number


@pytest.fixture
def mobile(app: Flask, client: FlaskClient) -> MobileApp:
    """The default program's app, with rate limits out of the way."""
    set_limits(app)

    def work() -> tuple[int, str]:
        program = programs.default_program()
        return program.id, create_app_key(program, "tests")
    program_id, key = run_in_transaction(work)
    return MobileApp(app, client, program_id, key)


@pytest.fixture
def other_brand(app: Flask, client: FlaskClient, mobile: MobileApp) -> MobileApp:
    """A second program in the same deployment, with its own app key."""
    program_id, key = make_program("other")
    return MobileApp(app, client, program_id, key)
