"""A database that cannot answer: 503 with Retry-After, never a 500, nothing half-written.

On PostgreSQL the app's connections are really killed (pg_terminate_backend from an admin
connection), between requests and while a request waits on a lock. Requests run without an
outer app context, as in production, so each one checks a connection out of the pool.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import DBAPIError
from twilio.request_validator import RequestValidator

from pos_loyalty import accounts, programs
from pos_loyalty.app import create_app
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, IdempotencyKey, Sale
from pos_loyalty.security import app_hasher
from pos_loyalty.statements import Step, run_together

FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
TWILIO_TOKEN = "secret-token"
PHONE = "+33699887766"
WAIT_SECONDS = 20
APP_NAME = "app-under-test"


def build_app(database_url: str, pre_ping_idle_seconds: float = 5) -> Flask:
    if database_url.startswith("postgresql") and "application_name" not in database_url:   # the admin kills this app's connections only
        database_url = sa.make_url(database_url).update_query_dict(
            {"application_name": APP_NAME}).render_as_string(hide_password=False)
    app = create_app({"service": {"database_url": database_url, "secret_key": "test-secret",
                                  "database_pre_ping_idle_seconds": pre_ping_idle_seconds},
                      "security": FAST_HASHING,
                      "sms": {"twilio_auth_token": TWILIO_TOKEN,
                              "public_base_url": "https://loyalty.example.com"}})
    app.config["TESTING"] = True
    return app


@dataclass
class Shop:
    app: Flask
    key: str
    card: str

    def sale(self, receipt: str, idempotency_key: str | None = None) -> Any:
        return self.app.test_client().post(
            "/api/pos/v1/sales",
            json={"card_number": self.card, "receipt_number": receipt, "total_minor": 2000},
            headers={"Authorization": f"Bearer {self.key}",
                     "Idempotency-Key": idempotency_key or receipt})

    def read(self, query: Callable[[], Any]) -> Any:
        with self.app.app_context():
            try:
                return query()
            finally:
                db.session.remove()


def open_shop(app: Flask) -> Shop:
    with app.app_context():
        def setup() -> tuple[str, str]:
            program = programs.default_program()
            store = programs.create_store(program, "Lyon")
            _, key = programs.create_terminal(program, store.id)
            card = accounts.create_customer(program, PHONE, "1234", utcnow(), app_hasher(),
                                            channel="app")
            return key, card.number
        key, card = run_in_transaction(setup)
        db.session.remove()
    return Shop(app, key, card)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    app = build_app(database_url)
    yield open_shop(app)
    with app.app_context():
        db.engine.dispose()


def unreachable(database_url: str) -> str:
    """The same engine, pointing at a database that cannot be opened."""
    if database_url.startswith("sqlite"):
        return "sqlite:////nonexistent-folder/pos_loyalty.sqlite3"
    return sa.make_url(database_url).set(database="no_such_database") \
        .render_as_string(hide_password=False)


# --- the answer, on both engines --------------------------------------------------------------

def assert_unavailable_json(reply: Any) -> None:
    assert reply.status_code == 503, reply.get_data(as_text=True)
    assert reply.headers["Retry-After"] == "2"
    assert reply.get_json()["error"]["code"] == "database_unavailable"


def test_every_face_answers_503_with_retry_after_when_the_database_is_gone(database_url):
    app = build_app(unreachable(database_url))
    client = app.test_client()
    assert_unavailable_json(client.get("/api/pos/v1/cards/2900000000018",
                                       headers={"Authorization": "Bearer tk_anything"}))
    assert_unavailable_json(client.get("/api/mobile/v1/branding",
                                       headers={"X-App-Key": "ak_anything"}))
    form = {"From": PHONE, "Body": "SOLDE"}
    url = "https://loyalty.example.com/webhooks/twilio/inbound"
    assert_unavailable_json(client.post(
        "/webhooks/twilio/inbound", data=form,
        headers={"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, form)}))
    page = client.get("/cashier/login")
    assert page.status_code == 503 and page.headers["Retry-After"] == "2"
    assert "La connexion à la base de données a échoué" in page.get_data(as_text=True)


def test_a_logged_database_error_does_not_carry_its_parameters(shop: Shop, caplog):
    """SQLAlchemy writes a statement's parameters into its errors: names, phones."""
    secret_name = "Camille-Secret-Name"

    # No such program: the server's own message names the key only. (PostgreSQL's message
    # for a NOT NULL, CHECK or UNIQUE violation quotes the row's values itself.)
    phones = ["+33611000001", "+33611000002"]
    rows = [{"program_id": 999_999, "phone_e164": phone, "first_name": secret_name}
            for phone in phones]

    def bad_insert() -> None:
        db.session.execute(sa.insert(Account).values(**rows[0]))

    def bad_batch() -> None:    # the PostgreSQL path of statements sent together
        run_together([Step(sa.insert(Account), row) for row in rows])

    with shop.app.app_context(), caplog.at_level(logging.ERROR):
        for attempt in (bad_insert, bad_batch):
            with pytest.raises(DBAPIError) as raised:
                attempt()
            db.session.rollback()
            shop.app.logger.error("write failed", exc_info=raised.value)
            assert "parameters hidden" in str(raised.value)
        db.session.remove()
    assert "write failed" in caplog.text
    assert secret_name not in caplog.text
    assert not any(phone in caplog.text for phone in phones)


# --- PostgreSQL: connections really killed ----------------------------------------------------

@dataclass
class Admin:
    """A connection of its own to the app's database: it takes locks and kills backends."""
    engine: sa.Engine

    def kill_the_app(self) -> int:
        with self.engine.connect() as connection:
            return len(connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :app"),
                {"app": APP_NAME}).all())

    def kill_waiting(self) -> set[int]:
        """Kill the app's backends that wait on a lock; their process ids. A backend told to
        end may still show as waiting a moment later, so callers count ids, not calls."""
        with self.engine.connect() as connection:
            return {pid for pid, _ in connection.execute(sa.text(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND application_name = :app"), {"app": APP_NAME})}


@pytest.fixture
def admin(shop: Shop, database_url: str) -> Iterator[Admin]:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server connection to kill")
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    yield Admin(engine)
    engine.dispose()


def in_background(call: Callable[[], Any]) -> tuple[ThreadPoolExecutor, Future]:
    pool = ThreadPoolExecutor(max_workers=1)
    return pool, pool.submit(call)


def kill_while_waiting(admin: Admin, request: Future, times: int | None) -> int:
    """Kill the request's connection each time it waits on a lock (at most `times`); how many
    backends were killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + WAIT_SECONDS
    pause = threading.Event()
    while not request.done() and (times is None or len(killed) < times):
        assert time.monotonic() < deadline, "the request never waited on the lock"
        killed |= admin.kill_waiting()
        pause.wait(0.01)
    return len(killed)


def sales_and_keys(shop: Shop) -> tuple[int, int, int]:
    def count() -> tuple[int, int, int]:
        account = db.session.scalar(sa.select(Account).where(Account.phone_e164 == PHONE))
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Sale)),
                db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)),
                account.available_points)
    return shop.read(count)


def test_connections_killed_between_requests_are_replaced(shop: Shop, admin: Admin):
    assert shop.sale("0001").status_code == 201
    assert admin.kill_the_app() >= 1     # the pooled connection of the first sale
    reply = shop.sale("0002")
    assert reply.status_code == 201, reply.get_json()
    assert sales_and_keys(shop) == (2, 2, 40)


def test_the_terminal_lookup_is_retried_on_a_new_connection(shop: Shop, admin: Admin):
    with admin.engine.connect() as locker:
        locker.exec_driver_sql("BEGIN")
        locker.exec_driver_sql("LOCK TABLE terminal IN ACCESS EXCLUSIVE MODE")
        pool, request = in_background(lambda: shop.sale("0001"))
        assert kill_while_waiting(admin, request, times=1) == 1
        locker.exec_driver_sql("COMMIT")
        reply = request.result(timeout=WAIT_SECONDS)
        pool.shutdown()
    assert reply.status_code == 201, reply.get_json()
    assert sales_and_keys(shop) == (1, 1, 20)


def lock_the_account(locker: sa.Connection) -> None:
    locker.exec_driver_sql("BEGIN")
    locker.execute(sa.text("SELECT id FROM account WHERE phone_e164 = :phone FOR UPDATE"),
                   {"phone": PHONE})


def test_a_sale_killed_once_mid_request_is_rerun_and_written_once(shop: Shop, admin: Admin):
    shop.sale("0001")                     # the terminal is known: the sale waits on the account
    with admin.engine.connect() as locker:
        lock_the_account(locker)
        pool, request = in_background(lambda: shop.sale("0002"))
        assert kill_while_waiting(admin, request, times=1) == 1
        locker.exec_driver_sql("COMMIT")
        reply = request.result(timeout=WAIT_SECONDS)
        pool.shutdown()
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["balance"]["available"] == 40
    assert sales_and_keys(shop) == (2, 2, 40)


def test_a_sale_killed_on_every_try_is_a_503_with_nothing_written(shop: Shop, admin: Admin):
    shop.sale("0001")
    with admin.engine.connect() as locker:
        lock_the_account(locker)
        pool, request = in_background(lambda: shop.sale("0002"))
        killed = kill_while_waiting(admin, request, times=None)
        reply = request.result(timeout=WAIT_SECONDS)
        pool.shutdown()
        locker.exec_driver_sql("COMMIT")
    assert killed == 6                   # the first try and five retries
    assert_unavailable_json(reply)
    assert sales_and_keys(shop) == (1, 1, 20)
    again = shop.sale("0002")            # the till's retry, with the same key
    assert again.status_code == 201, again.get_json()
    assert sales_and_keys(shop) == (2, 2, 40)


def backend_pid_after_a_kill(app: Flask, admin: Admin) -> tuple[int, int]:
    """The pooled connection's backend before and after the admin kills it; the second
    checkout raises if nothing tested the connection first."""
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                before = connection.scalar(sa.text("SELECT pg_backend_pid()"))
            assert admin.kill_the_app() >= 1
            with db.engine.connect() as connection:
                return before, connection.scalar(sa.text("SELECT pg_backend_pid()"))
        finally:
            db.engine.dispose()


def test_an_idle_pooled_connection_is_tested_and_replaced_before_use(shop: Shop, admin: Admin):
    app = build_app(shop.app.config["SQLALCHEMY_DATABASE_URI"], pre_ping_idle_seconds=0)
    before, after = backend_pid_after_a_kill(app, admin)
    assert after != before


def test_a_connection_in_steady_use_is_not_pinged(shop: Shop, admin: Admin):
    """The ping costs a round trip, so a connection back in the pool a moment ago is trusted;
    the request that meets it dead is rerun by the unit of work (tests above)."""
    app = build_app(shop.app.config["SQLALCHEMY_DATABASE_URI"], pre_ping_idle_seconds=3600)
    with pytest.raises(DBAPIError):
        backend_pid_after_a_kill(app, admin)
