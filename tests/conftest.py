"""Shared fixtures: an app per database engine and test module, each test on an empty database.

SQLite always; PostgreSQL too when LOYALTY_TEST_DATABASE_URL is set (CI) or the local server
answers; LOYALTY_TEST_ENGINES=sqlite (or sqlite,postgresql) chooses instead. The schema is
built once per engine (and per xdist worker) with the real Alembic migrations; each test then
starts from empty tables: a fresh copy of the SQLite template, or on PostgreSQL a DELETE of every
table with the sequences set back to their start (a TRUNCATE of two dozen tables took 50 times
longer). The tests of a module share its app, which `app` puts back as it was built after each
test.
"""
from __future__ import annotations

import copy
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_migrate import upgrade

from pos_loyalty.app import MIGRATIONS_DIR, create_app
from pos_loyalty.db import db
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.rate_limits import limiter

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Cheap argon2, and no machine-wide bound on slow hashes: parallel test processes would share
# its slots (tests of the bound build their own).
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1,
                "max_concurrent_slow_hashes": 0}


def postgres_admin_url() -> str | None:
    url = os.environ.get("LOYALTY_TEST_DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) \
            if url.startswith("postgresql://") else url
    try:
        engine = sa.create_engine(DEFAULT_PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return DEFAULT_PG_URL
    except Exception:
        return None


ENGINES = (os.environ["LOYALTY_TEST_ENGINES"].split(",") if os.environ.get("LOYALTY_TEST_ENGINES")
           else ["sqlite"] + (["postgresql"] if postgres_admin_url() else []))


def test_settings(database_url: str) -> dict:
    return {"service": {"database_url": database_url, "secret_key": "test-secret"},
            "security": FAST_HASHING}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = postgres_admin_url()
    name = f"pos_loyalty_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    _migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.StaticPool)
    yield engine
    engine.dispose()


def _empty_postgres(engine: sa.Engine) -> None:
    """Every table emptied, children first, and every sequence back at its start."""
    with engine.begin() as connection:
        connection.execute(sa.text("; ".join(
            f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables))))
        connection.execute(sa.text("SELECT setval(seqrelid, seqstart, false) FROM pg_sequence"))


def _migrate(url: str) -> None:
    app = create_app(test_settings(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        db.engine.dispose()


@pytest.fixture(scope="module")
def sqlite_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    """The module's database, emptied for this test (one URL per module: see `app`)."""
    if request.param == "sqlite":
        path = request.getfixturevalue("sqlite_folder") / "test.sqlite3"
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    _empty_postgres(request.getfixturevalue("postgres_cleaner"))
    return request.getfixturevalue("postgres_url")


@dataclass
class BuiltApp:
    """An app as create_app() left it, to put back after each test that changed it."""
    app: Flask
    config: dict[str, Any]
    settings: dict[str, Any]
    extensions: dict[str, Any]

    @classmethod
    def build(cls, database_url: str) -> BuiltApp:
        app = create_app(test_settings(database_url))
        app.config["TESTING"] = True
        return cls(app, dict(app.config), copy.deepcopy(app.config["LOYALTY"]),
                   dict(app.extensions))

    def restore(self) -> None:
        """Settings, the frozen clock, the terminal and rules caches: as built."""
        self.app.config.clear()
        self.app.config.update(self.config, LOYALTY=copy.deepcopy(self.settings))
        for name in set(self.app.extensions) - set(self.extensions):
            del self.app.extensions[name]
        self.app.extensions.update(self.extensions)


@pytest.fixture(scope="module")
def module_apps() -> Iterator[dict[str, BuiltApp]]:
    """The module's apps, one per database. Building one takes longer than most tests
    (Flask compiles every URL rule), so the tests of a module share it; `app` puts back
    whatever a test changed."""
    apps: dict[str, BuiltApp] = {}
    yield apps
    for built in apps.values():
        with built.app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(database_url: str, module_apps: dict[str, BuiltApp]) -> Iterator[Flask]:
    built = module_apps.get(database_url)
    if built is None:
        built = module_apps[database_url] = BuiltApp.build(database_url)
    limiter.reset()  # one limiter for every app: no counts left from an earlier test
    try:
        with built.app.app_context():
            yield built.app
            db.session.remove()
            if database_url.startswith("sqlite"):
                db.engine.dispose()  # the next test gets a new file at the same path
    finally:
        built.restore()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """A local server that answers like Google's token endpoint, FCM and the Wallet API."""
    with FakeGoogle() as fake:
        yield fake

