"""Limits hold across workers and servers when they count in Redis ([service]
rate_limit_storage_url): what one server counted, the next one sees. With memory:// each process
starts from zero, which is why production refuses it.

Runs when Redis answers at 127.0.0.1:6379 (database 7, emptied before and after), like the
PostgreSQL tests when PostgreSQL answers.
"""
from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from pos_loyalty import programs
from pos_loyalty.app import create_app
from pos_loyalty.app_keys import create_app_key
from pos_loyalty.db import db, run_in_transaction

REDIS_URL = "redis://127.0.0.1:6379/7"
LOCK_PATH = Path(tempfile.gettempdir()) / "pos-loyalty-tests-redis-7.lock"
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
PHONES = iter(range(60_000_000, 61_000_000))


def redis_answers() -> bool:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except redis.exceptions.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_answers(), reason="no Redis at 127.0.0.1:6379")
Server = Callable[[], Flask]


@pytest.fixture
def storage() -> str:
    return REDIS_URL


@pytest.fixture
def redis_database() -> Iterator[None]:
    """Redis database 7 to this test alone, empty: the tests of other processes (xdist
    workers) wait on a file lock."""
    with LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with redis.Redis.from_url(REDIS_URL) as client:
                client.flushdb()
            yield
            with redis.Redis.from_url(REDIS_URL) as client:
                client.flushdb()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def new_server(database_url: str, storage: str, redis_database: None) -> Iterator[Server]:
    """Builds app servers on one database, counting limits in `storage`; each one built
    takes the limiter over, as a new worker process would start with its own."""
    built: list[Flask] = []

    def build() -> Flask:
        app = create_app({"service": {"database_url": database_url, "secret_key": "test-secret",
                                      "rate_limit_storage_url": storage},
                          "security": FAST_HASHING})
        app.config["TESTING"] = True
        built.append(app)
        return app
    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()
    create_app({"service": {"database_url": database_url}})  # the limiter back in memory


def program_keys(app: Flask) -> tuple[str, str]:
    """The default program's app key and a terminal key."""
    def work() -> tuple[str, str]:
        program = programs.default_program()
        store = programs.create_store(program, "Boulangerie Lyon")
        return create_app_key(program, "tests"), programs.create_terminal(
            program, store.id, "Caisse 1")[1]
    with app.app_context():
        return run_in_transaction(work)


def ask_code(app: Flask, app_key: str) -> int:
    return app.test_client().post("/api/mobile/v1/auth/register",
                                  json={"phone": f"+336{next(PHONES):08d}"},
                                  headers={"X-App-Key": app_key}).status_code


@pytest.mark.parametrize("storage, third", [(REDIS_URL, 429), ("memory://", 202)])
def test_a_per_ip_limit_spent_on_one_server_is_spent_on_the_next(new_server: Server, third):
    first = new_server()
    first.config["LOYALTY"]["mobile"]["code_rate_limit"] = "2 per hour"
    app_key, _ = program_keys(first)
    assert [ask_code(first, app_key) for _ in range(2)] == [202, 202]
    second = new_server()
    second.config["LOYALTY"]["mobile"]["code_rate_limit"] = "2 per hour"
    assert ask_code(second, app_key) == third


def test_the_program_code_cap_holds_across_servers(new_server: Server):
    first = new_server()
    first.config["LOYALTY"]["mobile"]["otp_max_per_program_per_hour"] = 2
    app_key, _ = program_keys(first)
    assert [ask_code(first, app_key) for _ in range(2)] == [202, 202]
    second = new_server()
    second.config["LOYALTY"]["mobile"]["otp_max_per_program_per_hour"] = 2
    reply = second.test_client().post("/api/mobile/v1/auth/register",
                                      json={"phone": "+33612345678"},
                                      headers={"X-App-Key": app_key})
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (429, "too_many_codes")


def test_a_terminal_s_lookups_are_counted_across_servers_with_retry_after(new_server: Server):
    first = new_server()
    first.config["LOYALTY"]["pos_api"]["lookup_rate_limit"] = "2 per hour"
    _, terminal_key = program_keys(first)
    headers = {"Authorization": f"Bearer {terminal_key}"}
    card = "/api/pos/v1/cards/2900000000018"
    assert [first.test_client().get(card, headers=headers).status_code
            for _ in range(2)] == [404, 404]
    second = new_server()
    second.config["LOYALTY"]["pos_api"]["lookup_rate_limit"] = "2 per hour"
    refused = second.test_client().get(card, headers=headers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
