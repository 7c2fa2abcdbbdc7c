"""Fresh benchmark databases, and the program, terminals and customers the load needs."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
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
                                            utcnow(), app_hasher(), channel="till",
                                            first_name="Bench",
                                            card_number=plastic)
            adjustments.adjust_points(program, card.number, points, "bench seed", "bench",
                                      utcnow())
            return card.number
        cards = [run_in_transaction(lambda: customer(serial))
                 for serial in range(terminals * customers_per_terminal)]
        db.engine.dispose()
    return SeededProgram(keys, [cards[n::terminals] for n in range(terminals)])


# --- tiers and campaigns (bench/checkout --campaigns N) ----------------------------------------

# The ladder `--campaigns` gives the program, on points earned over 12 months. Thresholds are
# far above what a bench run earns, except the first: a customer without a tier may reach it
# during a long run, as happens at a real till now and then.
BENCH_LADDER = [
    {"key": "bronze", "threshold": 3_000, "multiplier": "1.1"},
    {"key": "silver", "threshold": 10_000, "multiplier": "1.25"},
    {"key": "gold", "threshold": 30_000, "multiplier": "1.5"},
    {"key": "platinum", "threshold": 100_000, "multiplier": "2"},
]


def basket_lines(total_minor: int, turn: int) -> list[dict[str, object]]:
    """A receipt of `total_minor` as three lines that campaigns can tell apart: bread, honey,
    and a third line taking turns between dairy, drinks, tobacco (excluded) and household."""
    third = [("MILK", "dairy"), ("WINE", "drinks"), ("CIGS", "tobacco"),
             ("SOAP", "household")][turn % 4]
    bread, honey = total_minor * 30 // 100, total_minor * 45 // 100
    return [{"sku": "BREAD", "category": "bakery", "quantity": 1, "unit_price_minor": bread},
            {"sku": "HONEY", "category": "organic", "quantity": 1, "unit_price_minor": honey},
            {"sku": third[0], "category": third[1], "quantity": 1,
             "unit_price_minor": total_minor - bread - honey}]


def campaign_shapes(local_now: dt.datetime, store_id: int) -> list[dict[str, object]]:
    """Twenty campaigns running today, of every shape a program uses: some apply to every
    bench sale, some to a few (a category, a SKU, a tier, a first purchase, a few uses per
    customer), some to none at this moment (another weekday, other hours, excluded lines, a
    basket too small). Budgets are far above what a run gives, so none runs out.

    Under the default "best" rule, "Double points today" wins most sales, the budgeted
    "Gold and platinum x2.5" those of two customers in five, and the budgeted welcome bonus
    each customer's first sale; under "additive" every sale charges two or three budgets.
    """

    def hours(start: int, end: int) -> str:
        return f"{local_now + dt.timedelta(hours=start):%H:%M}-" \
               f"{local_now + dt.timedelta(hours=end):%H:%M}"
    today, other_day = local_now.isoweekday(), local_now.isoweekday() % 7 + 1
    return [
        {"name": "Double points today", "multiplier": "2", "weekdays": [today]},
        {"name": "Double points another day", "multiplier": "2", "weekdays": [other_day]},
        {"name": "Bakery happy hours", "multiplier": "1.5", "categories": ["bakery"],
         "hours": hours(-2, 4)},
        {"name": "Triple in the evening", "multiplier": "3", "hours": hours(5, 7)},
        {"name": "Bonus over 20.00", "bonus_points": 15, "min_basket_minor": 2_000},
        {"name": "Bonus over 1000.00", "bonus_points": 100, "min_basket_minor": 100_000},
        {"name": "Organic x2, three times", "multiplier": "2", "categories": ["organic"],
         "per_customer_limit": 3},
        {"name": "Honey bonus", "bonus_points": 20, "skus": ["HONEY"], "per_customer_limit": 10},
        {"name": "Budgeted x1.5", "multiplier": "1.5", "budget_points": 50_000_000},
        {"name": "Dairy bonus, budgeted", "bonus_points": 15, "categories": ["dairy"],
         "budget_points": 10_000_000},
        {"name": "Tobacco x2 (never: excluded)", "multiplier": "2", "categories": ["tobacco"]},
        {"name": "Gold and platinum x2.5", "multiplier": "2.5", "tiers": ["gold", "platinum"],
         "budget_points": 50_000_000},
        {"name": "Bronze bonus", "bonus_points": 10, "tiers": ["bronze"]},
        {"name": "Welcome bonus", "bonus_points": 50, "first_purchase_only": True,
         "budget_points": 10_000_000},
        {"name": "This store x1.2", "multiplier": "1.2", "store_ids": [store_id]},
        {"name": "Wine x2 today now", "multiplier": "2", "skus": ["WINE"], "weekdays": [today],
         "hours": hours(-1, 3)},
        {"name": "Bonus another day", "bonus_points": 25, "weekdays": [other_day]},
        {"name": "Drinks over 15.00", "multiplier": "1.5", "categories": ["drinks"],
         "min_basket_minor": 1_500},
        {"name": "Fresh x1.5 over 5.00", "multiplier": "1.5", "categories": ["bakery", "dairy"],
         "min_basket_minor": 500},
        {"name": "Small bonus, limited and budgeted", "bonus_points": 5,
         "per_customer_limit": 1_000, "budget_points": 10_000_000},
    ]


@dataclass(frozen=True)
class SeededOffers:
    tiers: dict[str, int]     # tier key (or "none") -> seeded customers in it
    campaigns: int


def seed_offers(database_url: str, cards: list[str], campaigns: int) -> SeededOffers:
    """The program's ladder (BENCH_LADDER), a fifth of the customers in each tier and a fifth
    in none, and `campaigns` campaigns (the shapes of `campaign_shapes`, taken in turn)."""
    from pos_loyalty import accounts, campaigns as campaign_rows, programs, tiers
    from pos_loyalty.app import create_app
    from pos_loyalty.db import db, run_in_transaction, utcnow
    from pos_loyalty.models import Store

    app = create_app({"service": {"database_url": database_url, "secret_key": "bench-seed"}})
    placed: Counter[str] = Counter()
    with app.app_context():
        now = utcnow()

        def ladder() -> None:
            program = programs.default_program()
            rungs = tiers.set_ladder(program, {"tiers": BENCH_LADDER}, now, "bench")
            for serial, number in enumerate(cards):
                rung = rungs[serial % 5 - 1] if serial % 5 else None
                placed[rung.key if rung else "none"] += 1
                if rung is not None:
                    account_id = accounts.find_card(program, number).account_id
                    tiers.record_move(program, tiers.TierMove(account_id, None, rung, "set", 0),
                                      now)
        run_in_transaction(ladder)

        def offers() -> None:
            program = programs.default_program()
            local_now = programs.utc_to_local(program, now)
            store_id = db.session.scalar(sa.select(Store.id).where(
                Store.program_id == program.id).order_by(Store.id).limit(1))
            shapes = campaign_shapes(local_now, store_id)
            window = {"starts": f"{local_now - dt.timedelta(days=1):%Y-%m-%dT%H:%M}",
                      "ends": f"{local_now + dt.timedelta(days=2):%Y-%m-%dT%H:%M}"}
            for number in range(campaigns):
                shape = shapes[number % len(shapes)]
                name = shape["name"] if number < len(shapes) else f"{shape['name']} #{number}"
                campaign_rows.create_campaign(program, {**shape, **window, "name": name}, now,
                                              "bench")
        run_in_transaction(offers)
        db.engine.dispose()
    return SeededOffers(dict(placed), campaigns)
