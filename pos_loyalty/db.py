"""The database object, engine settings per backend, and the unit-of-work helper.

SQLite: WAL, foreign keys, a busy timeout, and every transaction opened with BEGIN IMMEDIATE
(SQLAlchemy's documented pysqlite recipe), so two writers queue instead of failing on a lock
upgrade. PostgreSQL: READ COMMITTED, with a retry on serialization failure and deadlock.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DBAPIError, DisconnectionError, IntegrityError, InterfaceError, OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase

from pos_loyalty.errors import (
    ConcurrentChange, DuplicateReceipt, LoyaltyError, PhoneTaken, Refusal,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLSTATEs worth a retry: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = {"40001", "40P01"}

T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after commit without a new query (and, on SQLite, without opening a
# new write transaction just to reload them).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def utcnow() -> dt.datetime:
    """Naive UTC: both engines store and return it the same way."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def engine_options(url: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Engine settings per backend. Errors never carry the statement's parameters (names,
    phones, PIN hashes) into logs or tracebacks: `hide_parameters`."""
    if url.startswith("sqlite"):
        timeout = settings["service"]["sqlite_busy_timeout_seconds"]
        return {"connect_args": {"timeout": timeout, "check_same_thread": False},
                "hide_parameters": True}
    # Pre-ping is ours (`_ping_idle_connections`): only connections that sat idle are tested.
    return {"pool_recycle": 1800, "pool_size": 5, "max_overflow": 5,
            "isolation_level": "READ COMMITTED", "hide_parameters": True}


def init_engine_events(app: Flask) -> None:
    """Hook SQLite pragmas and BEGIN IMMEDIATE, or PostgreSQL's idle-connection ping, onto the
    app's engine."""
    with app.app_context():
        engine = db.engine
    service = app.config["LOYALTY"]["service"]
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif service["database_pre_ping"]:
        _ping_idle_connections(engine, float(service["database_pre_ping_idle_seconds"]))


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before a request uses it when it sat idle `idle_seconds` or
    more: that is the one a server restart, a failover or an idle timeout has dropped. One
    the tills keep busy was alive a moment ago, so it costs no round trip; if it dies under a
    request all the same, the unit of work reruns the request on a new one."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except dbapi_error as exc:
            raise DisconnectionError("idle pooled connection is gone") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_or_ignore():  # type: ignore[no-untyped-def]
    """INSERT that can say ON CONFLICT DO NOTHING, for the engine in use (both speak it)."""
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert


class TryAgain(Exception):
    """The transaction read something a concurrent one changed before it could write: rerun it."""


def is_retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def is_database_unavailable(error: BaseException) -> bool:
    """The database could not answer (connection lost or refused, file locked, pool
    exhausted): nothing was committed, and the same request may succeed in a moment."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeout))


def retry_read(read: Callable[[], T], retries: int = 5) -> T:
    """Run a read that opens a request's transaction (the terminal's key), again on a new
    connection when the one it used was found dead; nothing is committed here."""
    for attempt in range(retries + 1):
        try:
            return read()
        except DBAPIError as error:
            discard_transaction()
            if attempt < retries and error.connection_invalidated:
                continue
            raise
    raise AssertionError("unreachable")


def retry_after() -> dict[str, str]:
    """The Retry-After header of a 503 for a database that could not answer."""
    seconds = current_app.config["LOYALTY"]["service"]["database_retry_after_seconds"]
    return {"Retry-After": str(int(seconds))}


def discard_transaction() -> None:
    """Roll the session back; on a connection already lost, drop it instead."""
    try:
        db.session.rollback()
    except DBAPIError:
        db.session.invalidate()


# Unique constraints a concurrent request can break after every pre-check passed, and the
# domain error each means: PostgreSQL names the constraint, SQLite its columns.
UNIQUE_CONFLICTS: list[tuple[tuple[str, ...], type[LoyaltyError]]] = [
    (("uq_sale_terminal_id_receipt_number_kind", "sale.terminal_id, sale.receipt_number"),
     DuplicateReceipt),
    (("uq_account_program_id_phone_e164", "account.program_id, account.phone_e164"),
     PhoneTaken),
]


def conflict_error(error: IntegrityError) -> LoyaltyError:
    """The domain error for a unique constraint lost to a concurrent request; any other
    is a change made at the same moment, which the caller may retry."""
    text = str(error.orig)
    for names, domain_error in UNIQUE_CONFLICTS:
        if any(name in text for name in names):
            return domain_error()
    return ConcurrentChange()


def run_in_transaction(work: Callable[[], T], retries: int = 5) -> T:
    """Run `work` and commit; roll back on any error.

    Retried: serialization failures, deadlocks, a pooled connection found dead, TryAgain (which,
    once the retries are spent, becomes a 409 ConcurrentChange the caller may retry). A unique
    constraint broken by a concurrent request becomes its domain error (`conflict_error`).
    A `Refusal` commits what the refused try recorded, then raises its error.
    """
    for attempt in range(retries + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except Refusal as refusal:
            db.session.commit()
            raise refusal.error from None
        except IntegrityError as error:
            db.session.rollback()
            raise conflict_error(error) from error
        except DBAPIError as error:
            discard_transaction()
            if attempt < retries and (is_retryable(error) or error.connection_invalidated):
                continue
            raise
        except TryAgain as error:
            db.session.rollback()
            if attempt < retries:
                continue
            raise ConcurrentChange() from error
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")
