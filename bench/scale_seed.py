"""A year of a national chain, written into a migrated database (see bench/seed_scale).

`seed_year` runs in an app context on that database: it sets the program up through the app
(`scale_world`), then simulates the members (`scale_members`) in `workers` processes, each
writing its own id range through its own COPY connection (SQLite: one process), and puts
back the indexes and foreign keys it took off for the load.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

import scale_load
from scale_members import ID_STRIDE
from scale_world import World, build_world


@dataclass
class SeedReport:
    """What a seed wrote and what each phase took."""
    engine: str
    world: World
    rows: dict[str, int] = field(default_factory=dict)
    phases: list[tuple[str, float]] = field(default_factory=list)
    workers: list[scale_load.WorkerReport] = field(default_factory=list)
    database_cpu_seconds: float = 0.0   # PostgreSQL's server processes of the load

    def timed(self, name: str, started: float) -> None:
        self.phases.append((name, time.monotonic() - started))


def seed_year(database_url: str, *, members: int, stores: int, days: int, seed: int,
              now: dt.datetime, workers: int = 2, say: Callable[[str], None] = print,
              ) -> SeedReport:
    """Write the year; the database must be migrated and hold the program only."""
    from pos_loyalty.db import db

    if not 1 <= days <= 365:
        raise ValueError("--days must be 1 to 365 (tiers are judged again after 12 months, "
                         "which the simulation does not play)")
    if members < 1 or stores < 1 or members >= ID_STRIDE:
        raise ValueError("--members and --stores must be positive")
    engine_name = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    inspector = sa.inspect(db.engine)
    tables = scale_load.loaded_tables(inspector.get_table_names())
    scale_load.check_columns(lambda table: {c["name"] for c in inspector.get_columns(table)},
                             tables)
    started = time.monotonic()
    world = build_world(stores, seed, now - dt.timedelta(days=days), now)
    db.session.remove()
    db.engine.dispose()   # no connection of this process is inherited by the workers
    report = SeedReport(engine_name, world)
    report.timed("program, stores, terminals, staff, campaigns", started)
    say(f"{len(world.stores)} stores, {sum(len(s.terminal_ids) for s in world.stores)} "
        f"terminals; simulating {members:,} members over {days} days")
    if engine_name == "sqlite":
        _seed_sqlite(database_url, world, members, tables, report)
    else:
        _seed_postgres(database_url, world, members, tables, workers, report, say)
    for worker in report.workers:
        for table, count in worker.rows.items():
            report.rows[table] = report.rows.get(table, 0) + count
    return report


def _seed_postgres(url: str, world: World, members: int, tables: tuple[str, ...],
                   workers: int, report: SeedReport, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    rebuilds = scale_load.drop_secondary(url, tables)
    report.rows["terminal_day"] = scale_load.copy_terminal_days(url, world)
    report.timed("indexes dropped, terminal days", started)
    started = time.monotonic()
    ranges = [range(members * k // workers, members * (k + 1) // workers)
              for k in range(workers)]
    if workers == 1:
        report.workers = [scale_load.postgres_worker(url, world, 0, ranges[0], tables)]
    else:
        # fork: the workers inherit the world and the modules, and open their own connections.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            report.workers = pool.starmap(scale_load.postgres_worker, [
                (url, world, k, ranges[k], tables) for k in range(workers)])
    report.timed(f"members simulated and copied ({workers} workers)", started)
    say(f"rows copied; rebuilding {len(rebuilds)} indexes and foreign keys")
    started = time.monotonic()
    report.database_cpu_seconds = scale_load.rebuild_secondary(url, rebuilds) + sum(
        worker.database_cpu_seconds for worker in report.workers)
    report.timed("indexes and foreign keys rebuilt (every key checked)", started)
    started = time.monotonic()
    scale_load.finish_postgres(url, world, tables)
    report.timed("campaign counters, sequences, VACUUM (ANALYZE)", started)


def _seed_sqlite(url: str, world: World, members: int, tables: tuple[str, ...],
                 report: SeedReport) -> None:
    path = sa.make_url(url).database
    started = time.monotonic()
    report.rows["terminal_day"] = scale_load.insert_terminal_days(path, world)
    report.workers = [scale_load.sqlite_worker(path, world, range(members), tables)]
    report.timed("members simulated and inserted (1 process)", started)
    started = time.monotonic()
    scale_load.finish_sqlite(path, world)
    report.timed("campaign counters, ANALYZE", started)


def children_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def summary_lines(report: SeedReport) -> list[str]:
    lines = [f"{name}: {seconds:.1f}s" for name, seconds in report.phases]
    lines += [f"worker {w.worker}: {w.members:,} members in {w.seconds:.0f}s "
              f"({w.cpu_seconds:.0f} CPU s; its COPY's server process "
              f"{w.database_cpu_seconds:.0f} CPU s)" for w in report.workers]
    lines += [f"{table}: {count:,} rows" for table, count in sorted(report.rows.items())]
    return lines


def database_counts(connection: Any) -> dict[str, int]:
    """Rows per table as the database counts them (for the report)."""
    names = sa.inspect(connection).get_table_names()
    return {name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in sorted(names)}
