"""A program with one store, one terminal and helpers to make customers with points."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pos_loyalty import accounts, adjustments, programs
from pos_loyalty.db import run_in_transaction, utcnow
from pos_loyalty.security import app_hasher

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

    def program(self) -> Any:
        from pos_loyalty.db import db
        from pos_loyalty.models import Program
        return db.session.get(Program, self.program_id)

    def customer(self, points: int = 0, pin: str = "1234", first_name: str = "Camille") -> str:
        """A new customer's card number, holding `points` available points."""
        phone = f"+336{next(phone_numbers):08d}"
        card = run_in_transaction(lambda: accounts.create_customer(
            self.program(), phone, pin, utcnow(), app_hasher(), first_name=first_name))
        if points:
            self.adjust(card.number, points)
        self.last_phone = phone
        return card.number

    def set_rules(self, **rules: Any) -> None:
        """Override some of the program's rules (config [rules] keys)."""
        from pos_loyalty.db import db
        from pos_loyalty.models import Program

        def update() -> None:
            program = db.session.get(Program, self.program_id)
            program.rules = {**program.rules, **rules}
        run_in_transaction(update)

    def adjust(self, card_number: str, points: int) -> None:
        run_in_transaction(lambda: adjustments.adjust_points(
            self.program(), card_number, points, "test set-up", "tests", utcnow()))

    def post(self, path: str, body: Any = None, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(f"/api/pos/v1{path}", json=body, headers=headers, **kwargs)

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/pos/v1{path}", headers=self.headers)

    def sell(self, card_number: str, total_minor: int | None = None, redeem_points: int = 0,
             lines: list[dict[str, Any]] | None = None, receipt: str | None = None,
             key: str | None = None) -> Any:
        body: dict[str, Any] = {"card_number": card_number,
                                "receipt_number": receipt or f"R{next(self.receipts)}",
                                "redeem_points": redeem_points}
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
