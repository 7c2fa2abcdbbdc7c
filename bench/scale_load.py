"""Writing the simulated year: PostgreSQL COPY from each worker's stream of rows, or SQLite
executemany in big transactions; the secondary indexes and foreign keys taken off during
the load and put back after (which checks every foreign key once, set-wise); then the
counters the rows imply (campaign budgets, sequences) and VACUUM (ANALYZE).
"""
from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from cpu_time import TICKS
from scale_members import COLUMNS, TABLES, Simulation
from scale_world import World

ROWS_PER_FLUSH = 150_000       # rows buffered before a worker sends them
PROGRESS_EVERY = 50_000        # members between two progress lines
# Receipts without a card, per terminal and day (POS API terminal_day): a chain where about
# one receipt in three carries a card.
RECEIPTS_WITHOUT_CARD = (40, 110)


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def loaded_tables(existing: Iterable[str]) -> tuple[str, ...]:
    """The tables the simulation fills; lot_give_back only once migration 0016 made it."""
    names = set(existing)
    return tuple(table for table in TABLES if table in names)


def check_columns(columns_of: Callable[[str], set[str]], tables: Sequence[str]) -> None:
    """The schema must have exactly the columns the simulation writes: a column added by a
    migration would otherwise be left to a default it may not have."""
    for table in tables:
        have, written = columns_of(table), set(COLUMNS[table])
        if have != written:
            raise RuntimeError(f"{table}: the schema has {sorted(have - written)} that "
                               f"seed_scale does not write, and lacks {sorted(written - have)}")


# --- one worker ----------------------------------------------------------------------------

@dataclass
class WorkerReport:
    worker: int
    members: int
    rows: dict[str, int]
    seconds: float
    cpu_seconds: float
    database_cpu_seconds: float = 0.0   # its COPY connection's server process


def run_members(world: World, worker: int, members: range, tables: Sequence[str],
                send: Callable[[str, list[Any]], None], label: str) -> WorkerReport:
    """Simulate `members` in turn and hand their rows to `send`, a table at a time, in
    batches; every table's rows go out in FK order (parents first)."""
    started, cpu_started = time.monotonic(), time.process_time()
    simulation = Simulation(world, worker, "lot_give_back" in tables)
    buffers: dict[str, list[Any]] = {table: [] for table in tables}
    counts = dict.fromkeys(tables, 0)
    held = 0

    def flush() -> None:
        for table in tables:
            if buffers[table]:
                send(table, buffers[table])
                counts[table] += len(buffers[table])
                buffers[table] = []

    for done, member in enumerate(members, start=1):
        for table, rows in simulation.member_rows(member).items():
            if rows and table in buffers:
                buffers[table].extend(rows)
                held += len(rows)
        if held >= ROWS_PER_FLUSH:
            flush()
            held = 0
        if done % PROGRESS_EVERY == 0:
            elapsed = time.monotonic() - started
            print(f"{label}: {done:,}/{len(members):,} members, {elapsed:.0f}s, "
                  f"{done / elapsed:,.0f} members/s", flush=True)
    flush()
    return WorkerReport(worker, len(members), counts, time.monotonic() - started,
                        time.process_time() - cpu_started)


def postgres_worker(url: str, world: World, worker: int, members: range,
                    tables: Sequence[str]) -> WorkerReport:
    """One worker's COPY connection; one transaction, committed at the end."""
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SET synchronous_commit = off")
        cursor = connection.cursor()

        def send(table: str, rows: list[Any]) -> None:
            with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        report = run_members(world, worker, members, tables, send, f"worker {worker}")
        connection.commit()
        report.database_cpu_seconds = backend_cpu_seconds(connection)
    return report


def backend_cpu_seconds(connection: psycopg.Connection) -> float:
    """CPU seconds the connection's server process used so far (same host, from /proc)."""
    pid = connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICKS


def sqlite_worker(path: str, world: World, members: range,
                  tables: Sequence[str]) -> WorkerReport:
    """The whole load in one transaction with synchronous=OFF; foreign keys checked after."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("BEGIN")
    statements = {table: f"INSERT INTO {table} ({', '.join(COLUMNS[table])}) VALUES "
                         f"({', '.join('?' * len(COLUMNS[table]))})" for table in tables}

    def send(table: str, rows: list[Any]) -> None:
        connection.executemany(statements[table], (sqlite_row(row) for row in rows))
    try:
        report = run_members(world, 0, members, tables, send, "sqlite")
        connection.execute("COMMIT")
        broken = connection.execute("PRAGMA foreign_key_check").fetchmany(5)
        if broken:
            raise RuntimeError(f"foreign keys broken: {broken}")
    finally:
        connection.close()
    return report


def sqlite_row(row: Sequence[Any]) -> tuple[Any, ...]:
    """Values as SQLAlchemy stores them in SQLite (datetimes with microseconds)."""
    return tuple(f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"
                 if isinstance(value, dt.datetime) else value for value in row)


# --- terminal days (receipts without a card) -----------------------------------------------

def terminal_day_rows(world: World) -> Iterable[tuple[Any, ...]]:
    """Each till's daily report of receipts without a card, every local day of the year."""
    rng = random.Random(world.seed * 11 + 3)
    first, last = world.start.date(), world.now.date() - dt.timedelta(days=1)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    for store in world.stores:
        for terminal_id in store.terminal_ids:
            for day in days:
                weekend = 1.4 if day.isoweekday() >= 6 else 1.0
                yield (terminal_id, day, world.program_id, store.id,
                       int(rng.randint(*RECEIPTS_WITHOUT_CARD) * weekend),
                       dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30)))


TERMINAL_DAY_COLUMNS = ("terminal_id", "day", "program_id", "store_id",
                        "receipts_without_card", "reported_at")


# --- PostgreSQL: indexes off and on --------------------------------------------------------

@dataclass(frozen=True)
class Rebuild:
    table: str
    name: str
    sql: str          # what recreates it
    foreign_key: bool


def drop_secondary(url: str, tables: Sequence[str]) -> list[Rebuild]:
    """Drop the loaded tables' foreign keys, unique constraints and non-primary indexes;
    what puts them back."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        constraints = connection.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u')"
            " ORDER BY contype, conname", (list(tables),)).fetchall()
        indexes = connection.execute(
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, "
            "pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
            "AND c.contype IN ('p', 'u', 'x'))", (list(tables),)).fetchall()
        rebuilds = [Rebuild(table, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {sql}',
                            kind == "f") for table, name, kind, sql in constraints]
        rebuilds += [Rebuild(table, name, sql, False) for table, name, sql in indexes]
        for rebuild in sorted(rebuilds, key=lambda r: not r.foreign_key):
            if rebuild.sql.startswith("ALTER"):
                connection.execute(f'ALTER TABLE {rebuild.table} DROP CONSTRAINT "{rebuild.name}"')
            else:
                connection.execute(f"DROP INDEX {rebuild.name}")
    return rebuilds


def rebuild_secondary(url: str, rebuilds: Sequence[Rebuild], connections: int = 2) -> float:
    """Indexes and unique constraints first, then foreign keys (each checks its table once),
    on `connections` connections at a time; the server processes' CPU seconds."""
    def run(rebuild: Rebuild) -> float:
        with psycopg.connect(libpq_url(url), autocommit=True) as connection:
            connection.execute("SET maintenance_work_mem = '512MB'")
            connection.execute(rebuild.sql)
            return backend_cpu_seconds(connection)
    used = 0.0
    for foreign_keys in (False, True):
        batch = [r for r in rebuilds if r.foreign_key == foreign_keys]
        # The big tables first, so that the last ones to finish are small.
        batch.sort(key=lambda r: r.table not in ("ledger_entry", "point_lot", "sale_line",
                                                 "sale", "lot_draw"))
        with ThreadPoolExecutor(connections) as pool:
            used += sum(pool.map(run, batch))
    return used


# --- after the rows: counters, sequences, statistics ---------------------------------------

CAMPAIGN_COUNTERS = (
    "UPDATE campaign SET points_given = (SELECT coalesce(sum(points + pending_delta), 0) "
    "FROM ledger_entry WHERE campaign_id = campaign.id) WHERE program_id = {program}")


def finish_postgres(url: str, world: World, tables: Sequence[str]) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute(CAMPAIGN_COUNTERS.format(program=int(world.program_id)))
        for table in tables:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        # VACUUM, not only ANALYZE: a year-old database has been vacuumed, so its visibility
        # map lets index-only scans (the tier's measure, the daily cap) skip the table; right
        # after COPY no page is marked, and every such read visits the heap.
        connection.execute("VACUUM (ANALYZE)")


def finish_sqlite(path: str, world: World) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(CAMPAIGN_COUNTERS.format(program=int(world.program_id)))
        connection.execute("ANALYZE")
    finally:
        connection.close()


def copy_terminal_days(url: str, world: World) -> int:
    count = 0
    with psycopg.connect(libpq_url(url)) as connection:
        with connection.cursor().copy(
                f"COPY terminal_day ({', '.join(TERMINAL_DAY_COLUMNS)}) FROM STDIN") as copy:
            for row in terminal_day_rows(world):
                copy.write_row(row)
                count += 1
    return count


def insert_terminal_days(path: str, world: World) -> int:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        rows = [sqlite_row(row[:1]) + (row[1].isoformat(),) + sqlite_row(row[2:])
                for row in terminal_day_rows(world)]
        connection.executemany(
            f"INSERT INTO terminal_day ({', '.join(TERMINAL_DAY_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(TERMINAL_DAY_COLUMNS))})", rows)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return len(rows)
