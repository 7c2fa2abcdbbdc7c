#!/usr/bin/env python3
"""Where a checkout's time goes: SQL per sale, then a profile of in-process sales.

Runs POST /api/pos/v1/sales through the Flask test client (no HTTP, no gunicorn) on a fresh
PostgreSQL database `pos_loyalty_bench_profile` (or SQLite with --engine sqlite):
  1. lists every SQL statement, transaction and pool checkout of one sale;
  2. times N sales and splits the time into database round trips and Python;
  3. profiles them with cProfile (self time by package, top functions) and, when it is
     installed, pyinstrument (call tree, and an HTML file to open in a browser).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from seed import (  # noqa: E402
    basket_lines, fresh_database, pos_loyalty_command, seed_offers, seed_program,
    server_environment,
)

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROFILE_DATABASE = "pos_loyalty_bench_profile"

# Where self time lands, by the first matching fragment of the code's file path.
PACKAGES = [("sqlalchemy/orm", "SQLAlchemy ORM"), ("sqlalchemy", "SQLAlchemy core/engine"),
            ("psycopg", "psycopg"), ("flask_sqlalchemy", "Flask-SQLAlchemy"),
            ("werkzeug", "Werkzeug"), ("flask", "Flask"), ("pos_loyalty", "pos_loyalty"),
            ("json", "json"), ("zoneinfo", "zoneinfo")]


class SqlRecorder:
    """Counts statements, transactions and pool checkouts, and the time spent in execute."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event
        self.statements: list[tuple[str, float]] = []
        self.events: Counter = Counter()
        self.enabled = False
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, lambda *_, name=name: self._count(name))
        event.listen(engine.pool, "checkout", lambda *_: self._count("pool checkout"))
        self._watch_statements_sent_together()

    def _watch_statements_sent_together(self) -> None:
        """pos_loyalty.statements sends some statements past SQLAlchemy's events: count them
        too."""
        from pos_loyalty import statements
        send = statements._as_one_statement
        names: dict[int, str] = {}   # rendering a statement costs more than running it

        def name(statement: Any) -> str:
            if id(statement) not in names:
                names[id(statement)] = " ".join(str(statement).split()[:3])
            return names[id(statement)]

        def watched(connection: Any, steps: Any, parts: Any) -> Any:
            started = time.perf_counter()
            try:
                return send(connection, steps, parts)
            finally:
                if self.enabled:
                    seconds = time.perf_counter() - started
                    parts = ", ".join(name(step.statement) for step in steps)
                    self.statements.append((f"WITH ... ({len(steps)} parts: {parts})",
                                            seconds))
        statements._as_one_statement = watched

    def _count(self, name: str) -> None:
        if self.enabled:
            self.events[name] += 1

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.enabled:
            self.statements.append((statement, time.perf_counter() - self._started))

    def reset(self) -> None:
        self.statements.clear()
        self.events.clear()


def sale_body(card: str, receipt: str, lines: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"card_number": card, "card_entry": "scanned",
                            "receipt_number": receipt, "total_minor": 2500, "redeem_points": 50}
    if lines:   # each customer's visits take the third lines in turn (16 customers)
        body["lines"] = basket_lines(2500, int(receipt[1:]) // 16)
    return body


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--sales", type=int, default=300, help="sales to time and profile")
    parser.add_argument("--pg-admin-url",
                        default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    parser.add_argument("--html", default="/tmp/pos-loyalty-checkout-profile.html")
    parser.add_argument("--lines", action="store_true",
                        help="receipts of three lines, as bench/checkout --lines")
    parser.add_argument("--campaigns", type=int, default=0, metavar="N",
                        help="4 tiers and N campaigns first, as bench/checkout --campaigns")
    args = parser.parse_args(argv)
    args.lines = args.lines or args.campaigns > 0
    with fresh_database(args.engine, args.pg_admin_url, name=PROFILE_DATABASE) as url:
        init = pos_loyalty_command(["init"], server_environment(url, "profile"))
        if init.returncode != 0:
            print(init.stdout + init.stderr)
            return 2
        seeded = seed_program(url, 1, 16, 1_000_000)
        if args.campaigns:
            seed_offers(url, seeded.cards_by_terminal[0], args.campaigns)
        profile(url, seeded.terminal_keys[0], seeded.cards_by_terminal[0], args)
    return 0


def profile(url: str, key: str, cards: list[str], args: argparse.Namespace) -> None:
    from pos_loyalty.app import create_app
    from pos_loyalty.db import db

    app = create_app({"service": {"database_url": url, "secret_key": "profile"}})
    client = app.test_client()
    receipts = iter(range(1, 10**9))

    def sell() -> None:
        receipt = f"P{next(receipts)}"
        reply = client.post("/api/pos/v1/sales",
                            json=sale_body(cards[int(receipt[1:]) % len(cards)], receipt,
                                           args.lines),
                            headers={"Authorization": f"Bearer {key}",
                                     "Idempotency-Key": f"profile-{receipt}"})
        if reply.status_code != 201:
            raise RuntimeError(f"sale failed: {reply.status_code} {reply.get_data(as_text=True)}")

    for _ in range(30):   # warm caches, pool and lots
        sell()
    with app.app_context():
        recorder = SqlRecorder(db.engine)

    recorder.enabled = True
    sell()
    recorder.enabled = False
    print(f"== One sale: {len(recorder.statements)} SQL statements, "
          + ", ".join(f"{n} {name}" for name, n in sorted(recorder.events.items())))
    for number, (statement, seconds) in enumerate(recorder.statements, start=1):
        print(f"{number:>3}. {seconds * 1000:6.2f} ms  {' '.join(statement.split())[:150]}")

    recorder.reset()
    recorder.enabled = True
    started = time.perf_counter()
    cpu_started = time.process_time()
    for _ in range(args.sales):
        sell()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    recorder.enabled = False
    in_execute = sum(seconds for _, seconds in recorder.statements)
    print(f"\n== {args.sales} sales in-process: {wall / args.sales * 1000:.2f} ms each "
          f"({args.sales / wall:.0f} sales/s on one thread); this process's CPU "
          f"{cpu / args.sales * 1000:.2f} ms/sale; inside cursor.execute "
          f"{in_execute / args.sales * 1000:.2f} ms/sale "
          f"({len(recorder.statements) / args.sales:.1f} statements/sale)")
    by_kind = Counter(" ".join(s.split()[:3]) if s.split()[0] != "SELECT" else "SELECT ... FROM "
                      + _first_table(s) for s, _ in recorder.statements)
    print("   statements per sale by kind: " + ", ".join(
        f"{name} x{count / args.sales:.1f}" for name, count in by_kind.most_common()))

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.sales):
        sell()
    profiler.disable()
    print_cprofile(profiler, args.sales)
    print_pyinstrument(sell, args)


def _first_table(statement: str) -> str:
    words = statement.replace("\n", " ").split()
    upper = [w.upper() for w in words]
    return words[upper.index("FROM") + 1] if "FROM" in upper else "?"


def print_cprofile(profiler: cProfile.Profile, sales: int) -> None:
    stats = pstats.Stats(profiler)
    by_package: Counter = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        label = "builtins and C (incl. socket waits)" if filename == "~" else "other Python"
        for fragment, package in PACKAGES:
            if fragment in filename:
                label = package
                break
        if filename == "~" and ("psycopg" in name or "wait" in name or "poll" in name):
            label = "psycopg C / waiting on the server"
        by_package[label] += tottime
    total = sum(by_package.values())
    print("\n== cProfile: self time by package (ms per sale; profiler overhead included)")
    for label, seconds in by_package.most_common():
        print(f"   {seconds / sales * 1000:7.2f} ms  {seconds / total:5.1%}  {label}")
    print("\n== cProfile: top 25 functions by self time")
    stats.sort_stats("tottime").print_stats(25)
    print("== cProfile: top 30 functions by cumulative time (pos_loyalty only)")
    stats.sort_stats("cumulative").print_stats("pos_loyalty", 30)


def print_pyinstrument(sell: Any, args: argparse.Namespace) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: pip install pyinstrument for a call tree")
        return
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.sales):
        sell()
    profiler.stop()
    Path(args.html).write_text(profiler.output_html())
    print(f"\n== pyinstrument call tree ({args.sales} sales; HTML in {args.html})")
    print(profiler.output_text(unicode=False, color=False, short_mode=True))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
