"""The benchmark's yardstick: one TPC-B-like transaction per request, in raw SQL.

`POST /tpcb {"account_id", "delta"}` adds `delta` to one balance row and appends one history
row, in one transaction, and answers 201 with the new balance. It runs under the same gunicorn
settings and on the same database as the checkout, so checkout/baseline says how much the
loyalty logic costs on top of "one small write transaction over HTTP".

The engine mirrors the app's per-backend settings (pool size, READ COMMITTED on PostgreSQL;
WAL, synchronous=NORMAL and BEGIN IMMEDIATE on SQLite) but stays minimal: no pre-ping, no ORM.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request

metadata = sa.MetaData()

balance_table = sa.Table(
    "bench_balance", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
)

history_table = sa.Table(
    "bench_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("balance_id", sa.Integer, sa.ForeignKey("bench_balance.id"), nullable=False),
    sa.Column("delta", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

UPDATE_BALANCE = (sa.update(balance_table)
                  .where(balance_table.c.id == sa.bindparam("account_id"))
                  .values(balance=balance_table.c.balance + sa.bindparam("delta"))
                  .returning(balance_table.c.balance))
INSERT_HISTORY = (sa.insert(history_table)
                  .values(balance_id=sa.bindparam("account_id"), delta=sa.bindparam("delta"),
                          created_at=sa.bindparam("created_at"))
                  .returning(history_table.c.id))


def make_engine(url: str) -> sa.Engine:
    """An engine set up like the app's for the same backend, minus the pre-ping."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_size=5, max_overflow=5, isolation_level="READ COMMITTED")


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_tables(url: str, accounts: int, balance: int) -> None:
    """(Re)create the two tables with `accounts` balance rows numbered from 1."""
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(balance_table),
                           [{"id": n, "balance": balance} for n in range(1, accounts + 1)])
    engine.dispose()


def bare_app(name: str) -> tuple[Flask, sa.Engine]:
    """A Flask app with only GET /health, and its engine on LOYALTY_DATABASE_URL like the app's."""
    app = Flask(name)
    engine = make_engine(os.environ["LOYALTY_DATABASE_URL"])

    @app.get("/health")
    def health() -> Any:
        return jsonify({"ok": True})

    return app, engine


def create_app() -> Flask:
    """The gunicorn entry point."""
    app, engine = bare_app(__name__)

    @app.post("/tpcb")
    def tpcb() -> Any:
        body = request.get_json()
        params = {"account_id": int(body["account_id"]), "delta": int(body["delta"]),
                  "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}
        with engine.begin() as connection:
            balance = connection.execute(UPDATE_BALANCE, params).scalar_one()
            history_id = connection.execute(INSERT_HISTORY, params).scalar_one()
        return jsonify({"balance": balance, "history_id": history_id}), 201

    return app
