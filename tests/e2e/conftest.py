"""Browser tests: the app served on a free localhost port, driven by Debian's Chromium.

Each test gets a fresh SQLite database (a copy of the migrated template), a server in a
background thread, and a browser page; the page's final screen is saved as final.png in the
test's tmp_path.
"""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from pos_loyalty import accounts, adjustments, programs
from pos_loyalty.app import create_app
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.security import app_hasher
from till_pages import PASSWORDS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# Cheap argon2, and no machine-wide bound on slow hashes: parallel test processes would share
# its slots (tests of the bound build their own).
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1,
                "max_concurrent_slow_hashes": 0}


class QuietHandler(WSGIRequestHandler):
    """No access log: a failing test's output shows the test, not every static file."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Shop:
    """The served app and what the tests need to know about its data."""
    app: Flask
    url: str
    cards: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)
    blank_cards: list[str] = field(default_factory=list)

    def read(self, work: Any) -> Any:
        """Run `work` against the served database, outside any request."""
        with self.app.app_context():
            try:
                return work()
            finally:
                db.session.remove()


def _load(shop: Shop) -> None:
    program = programs.default_program()
    store = programs.create_store(program, "Boulangerie Lyon Part-Dieu")
    for role, password in PASSWORDS.items():
        programs.create_staff(program, role, role, password, store.id, app_hasher())
    # Léa carries a plastic card; Hugo's card is the virtual one of the phone app.
    for name, phone, pin, points, plastic in (("Léa", "+33612000001", "1234", 500, True),
                                              ("Hugo", "+33612000002", "4321", 120, False)):
        blank = accounts.issue_cards(program, 1, utcnow())[0] if plastic else None
        card = accounts.create_customer(program, phone, pin, utcnow(), app_hasher(),
                                        channel="till", first_name=name, card_number=blank)
        if points:
            adjustments.adjust_points(program, card.number, points, "opening balance", "tests",
                                      utcnow())
        shop.cards[name], shop.phones[name], shop.pins[name] = card.number, phone, pin
    shop.blank_cards.extend(accounts.issue_cards(program, 3, utcnow()))


@pytest.fixture
def shop(sqlite_template: Path, tmp_path: Path) -> Iterator[Shop]:
    path = tmp_path / "e2e.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({"service": {"database_url": f"sqlite:///{path}",
                                  "secret_key": "e2e-secret"},
                      "security": FAST_HASHING})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    shop = Shop(app, f"http://127.0.0.1:{server.server_port}")
    shop.read(lambda: run_in_transaction(lambda: _load(shop)))
    # shutdown() waits for the serving loop to look up: every 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield shop
    server.shutdown()
    server.server_close()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, shop: Shop, tmp_path: Path) -> Iterator[Page]:
    """A fresh browser page at 1024x768 (the smallest till screen); its last screen is kept."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, base_url=shop.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "final.png"), full_page=True)
    context.close()
