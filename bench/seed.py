"""Fresh benchmark databases, and the program, terminals and customers the load needs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

BENCH_DATABASE = "pos_loyalty_bench"
# PIN hashing is not on the checkout path; cheap argon2 keeps the seeding quick.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


@contextmanager
def fresh_database(engine: str, pg_admin_url: str, keep: bool = False,
                   name: str = BENCH_DATABASE) -> Iterator[str]:
    """The URL of an empty database: `name` on PostgreSQL (dropped first), a temp SQLite file."""
    if engine == "sqlite":
        folder = tempfile.mkdtemp(prefix="pos-loyalty-bench-")
        try:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(pg_admin_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def server_environment(database_url: str, secret_key: str) -> dict[str, str]:
    """This process's environment without any LOYALTY_* setting, plus the bench's own."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("LOYALTY_")}
    env.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_SECRET_KEY=secret_key,
               PYTHONUNBUFFERED="1")
    return env


def pos_loyalty_command(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess:
    """Run `pos-loyalty ARGS` from this virtualenv; output captured, never raises."""
    executable = Path(sys.executable).with_name("pos-loyalty")
    program = str(executable) if executable.exists() else shutil.which("pos-loyalty")
    if program is None:
        raise RuntimeError("pos-loyalty is not installed: activate the project's virtualenv")
    return subprocess.run([program, *args], env=dict(env), capture_output=True, text=True,
                          timeout=300)


@dataclass(frozen=True)
class SeededProgram:
    """One terminal key per simulated terminal, each with its own customers' cards."""
    terminal_keys: list[str]
    cards_by_terminal: list[list[str]]


def seed_program(database_url: str, terminals: int, customers_per_terminal: int,
                 points: int) -> SeededProgram:
    """A store, `terminals` terminals and their customers, each holding `points` points."""
    from pos_loyalty import accounts, adjustments, programs
    from pos_loyalty.app import create_app
    from pos_loyalty.db import db, run_in_transaction, utcnow
    from pos_loyalty.security import app_hasher

    app = create_app({"service": {"database_url": database_url, "secret_key": "bench-seed"},
                      "security": FAST_HASHING})
    with app.app_context():
        def setup() -> list[str]:
            program = programs.default_program()
            store = programs.create_store(program, "Bench store")
            return [programs.create_terminal(program, store.id, f"Bench till {n}")[1]
                    for n in range(1, terminals + 1)]
        keys = run_in_transaction(setup)

        def customer(serial: int) -> str:
            """A customer with a plastic card, which the till scans to spend its points."""
            program = programs.default_program()
            plastic = accounts.issue_cards(program, 1, utcnow())[0]
            card = accounts.create_customer(program, f"+336{10_000_000 + serial:08d}", "1234",
                                            utcnow(), app_hasher(), first_name="Bench",
                                            card_number=plastic)
            adjustments.adjust_points(program, card.number, points, "bench seed", "bench",
                                      utcnow())
            return card.number
        cards = [run_in_transaction(lambda: customer(serial))
                 for serial in range(terminals * customers_per_terminal)]
        db.engine.dispose()
    return SeededProgram(keys, [cards[n::terminals] for n in range(terminals)])
