"""A program with one store, one terminal and helpers to make customers with points.

`till` reaches the core through the POS API (HTTP), as the view tests need; `shop` calls the
use cases directly, as every face does, for the tests of the rules themselves.
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pos_loyalty import accounts, adjustments, programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Program, Terminal
from pos_loyalty.rules import BasketLine, Quote
from pos_loyalty.sales import ReturnedLine, SaleRequest
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import checkout, customers

phone_numbers = itertools.count(10_000_000)


@dataclass
class Till:
    """One program, store and terminal, seen through the POS API."""
    app: Flask
    client: FlaskClient
    key: str
    program_id: int
    store_id: int
    terminal_id: int
    receipts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def program(self) -> Program:
        return db.session.get(Program, self.program_id)

    def customer(self, points: int = 0, pin: str = "1234", first_name: str = "Camille",
                 at: dt.datetime | None = None, plastic: bool = True) -> str:
        """A new customer's card number, holding `points` available points (enrolled `at`
        that moment, or now): a plastic card (scanned at the till, it may spend), or the
        virtual card of the phone app."""
        moment = at or utcnow()
        phone = f"+336{next(phone_numbers):08d}"

        def enrol() -> Any:
            program = self.program()
            blank = accounts.issue_cards(program, 1, moment)[0] if plastic else None
            return accounts.create_customer(
                program, phone, pin, moment, app_hasher(), channel="till" if plastic else "app",
                store_id=self.store_id if plastic else None, first_name=first_name,
                card_number=blank)
        card = run_in_transaction(enrol)
        if points:
            self.adjust(card.number, points, at=moment)
        self.last_phone = phone
        return card.number

    def set_rules(self, **rules: Any) -> None:
        """Override some of the program's rules (config [rules] keys)."""
        def update() -> None:
            program = db.session.get(Program, self.program_id)
            program.rules = {**program.rules, **rules}
        run_in_transaction(update)

    def other_brand(self) -> tuple[Program, Terminal, str]:
        """Another program with one store and terminal: (program, terminal, terminal key)."""
        def setup() -> tuple[Program, Terminal, str]:
            program = Program(slug="other", name="Other brand", currency="EUR",
                              timezone="Europe/Paris", locale="fr_FR", rules={}, branding={})
            db.session.add(program)
            db.session.flush()
            store = programs.create_store(program, "Elsewhere")
            return (program, *programs.create_terminal(program, store.id))
        return run_in_transaction(setup)

    def adjust(self, card_number: str, points: int, at: dt.datetime | None = None) -> None:
        moment = at or utcnow()
        run_in_transaction(lambda: adjustments.adjust_points(
            self.program(), card_number, points, "test set-up", "tests", moment))

    def post(self, path: str, body: Any = None, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(f"/api/pos/v1{path}", json=body, headers=headers, **kwargs)

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/pos/v1{path}", headers=self.headers)

    def sell(self, card_number: str, total_minor: int | None = None, redeem_points: int = 0,
             lines: list[dict[str, Any]] | None = None, receipt: str | None = None,
             key: str | None = None, card_entry: str = "scanned",
             proof: str | None = None) -> Any:
        """A sale through the POS API, the card scanned unless `card_entry` says otherwise."""
        body: dict[str, Any] = {"card_number": card_number,
                                "receipt_number": receipt or f"R{next(self.receipts)}",
                                "redeem_points": redeem_points, "card_entry": card_entry}
        if proof is not None:
            body["proof"] = proof
        if lines is not None:
            body["lines"] = lines
        else:
            body["total_minor"] = total_minor
        return self.post("/sales", body, key=key or f"sale-{body['receipt_number']}")

    def balance(self, card_number: str) -> dict[str, int]:
        account = self.get(f"/cards/{card_number}").get_json()["account"]
        return {"available": account["available_points"], "pending": account["pending_points"]}


@pytest.fixture
def till(app: Flask, client: FlaskClient) -> Till:
    def setup() -> tuple[int, int, int, str]:
        program = programs.default_program()
        store = programs.create_store(program, "Boulangerie Lyon")
        terminal, key = programs.create_terminal(program, store.id, "Caisse 1")
        return program.id, store.id, terminal.id, key
    program_id, store_id, terminal_id, key = run_in_transaction(setup)
    return Till(app, client, key, program_id, store_id, terminal_id)


# A Monday, 11:00 in Paris: where the use-case tests' clock starts.
MONDAY = dt.datetime(2026, 3, 9, 10, 0)


def total(amount_minor: int) -> list[BasketLine]:
    """A basket rung up as one total, as the POS API's `total_minor` is."""
    return [BasketLine("TOTAL", "", 1, amount_minor)]


class Shop:
    """The till's program, store and terminal as the use cases take them: each call goes
    straight to the use case (no HTTP), made at `shop.now`. Setting `now` moves the app's
    clock too, so whatever reads it (the SMS worker) sees the same moment."""

    def __init__(self, till: Till, now: dt.datetime = MONDAY) -> None:
        self.till = till
        self.keys = itertools.count(1)
        self.now = now

    @property
    def now(self) -> dt.datetime:
        return self._now

    @now.setter
    def now(self, moment: dt.datetime) -> None:
        self._now = moment
        self.till.app.extensions["pos_loyalty.clock"] = lambda: moment

    @property
    def program(self) -> Program:
        return self.till.program()

    @property
    def terminal(self) -> Terminal:
        return db.session.get(Terminal, self.till.terminal_id)

    def key(self, kind: str) -> str:
        return f"{kind}-{next(self.keys)}"

    def customer(self, points: int = 0, **details: Any) -> str:
        """A new customer's card, holding `points` available points as of now."""
        return self.till.customer(points, at=self.now, **details)

    def adjust(self, card_number: str, points: int, reason: str = "test set-up",
               **where: Any) -> dict[str, int]:
        return customers.adjust_points(self.program, card_number, points, reason, "tests",
                                       self.now, **where)

    def look_up(self, card_number: str) -> dict[str, Any]:
        return customers.look_up_card(self.program, card_number, self.now)

    def balance(self, card_number: str) -> dict[str, int]:
        account = self.look_up(card_number)["account"]
        return {"available": account["available_points"], "pending": account["pending_points"]}

    def quote(self, card_number: str, total_minor: int | None = None, *,
              lines: list[BasketLine] | None = None, redeem_points: int = 0) -> Quote:
        return checkout.quote(self.program, card_number, lines or total(total_minor or 0),
                              self.now, redeem_points, self.till.store_id)

    def sell(self, card_number: str, total_minor: int | None = None, *, redeem_points: int = 0,
             lines: list[BasketLine] | None = None, receipt: str | None = None,
             key: str | None = None, hold_id: int | None = None,
             terminal: Terminal | None = None, staff_id: int | None = None,
             card_entry: str = "scanned", proof: str | None = None) -> dict[str, Any]:
        """A sale, the card scanned unless `card_entry` says otherwise."""
        request = SaleRequest(card_number, receipt or f"R{next(self.till.receipts)}",
                              lines or total(total_minor or 0), redeem_points, hold_id, staff_id,
                              card_entry, proof)
        return checkout.sell(self.program, terminal or self.terminal, request, self.now,
                             key or self.key("sale"))

    def return_sale(self, sale_id: int, amount_minor: int | None = None, *,
                    lines: list[ReturnedLine] | None = None,
                    key: str | None = None) -> dict[str, Any]:
        return checkout.return_sale(self.program, self.terminal, sale_id, self.now,
                                    key or self.key("return"), amount_minor=amount_minor,
                                    lines=lines)

    def preview_return(self, sale_id: int, amount_minor: int | None = None, *,
                       lines: list[ReturnedLine] | None = None) -> dict[str, Any]:
        return checkout.preview_return(self.program, self.terminal, sale_id, self.now,
                                       amount_minor=amount_minor, lines=lines)

    def void(self, sale_id: int, terminal: Terminal | None = None) -> dict[str, Any]:
        return checkout.void_sale(self.program, terminal or self.terminal, sale_id, self.now)

    def hold(self, card_number: str, points: int, *, receipt: str = "H1",
             ttl_seconds: int | None = None, card_entry: str = "scanned") -> dict[str, Any]:
        return checkout.hold_points(self.program, self.terminal, card_number, receipt, points,
                                    ttl_seconds, self.now, card_entry=card_entry)

    def capture(self, hold_id: int, points: int | None = None) -> dict[str, Any]:
        return checkout.capture_hold(self.program, self.terminal, hold_id, points, self.now)

    def release(self, hold_id: int) -> dict[str, Any]:
        return checkout.release_hold(self.program, self.terminal, hold_id, self.now)


@pytest.fixture
def shop(till: Till) -> Shop:
    return Shop(till)
