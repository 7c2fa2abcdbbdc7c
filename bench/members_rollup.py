"""The member rollup step and measures on a generated year, on PostgreSQL.

    .venv/bin/python bench/members_rollup.py [--members 200000] [--purchases 8]
        [--database members_bench] [--keep] [--reuse]

Makes a scratch database (`--database`, dropped at the end unless `--keep`; `--reuse` times an
existing one without seeding it again): one program, 200 stores,
`--members` accounts each with `--purchases` sales over July 2025 - June 2026 (set-based SQL:
80 % at the member's home store), then times `rollup_members` over the year, a second run as
cron makes it (the current month and the one before), and each member measure (p95 of 20).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import sqlalchemy as sa
from flask_migrate import upgrade

from pos_loyalty.analytics import Filters
from pos_loyalty.analytics import member_measures
from pos_loyalty.analytics.members import rollup_members
from pos_loyalty.app import MIGRATIONS_DIR, create_app
from pos_loyalty.db import db
from pos_loyalty.models import Program

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
NOW = dt.datetime(2026, 7, 10, 8, 0)
STORES = 200

SEED = """
INSERT INTO program (id, slug, name, currency, timezone, locale, rules, branding,
                     next_card_serial, created_at)
VALUES (1, 'bench', 'Bench', 'EUR', 'Europe/Paris', 'fr_FR', '{{}}', '{{}}', 1, '2025-06-01');
INSERT INTO store (id, program_id, name, address, phone, opening_hours, created_at)
SELECT s, 1, 'Store ' || s, '', '', '', '2025-06-01' FROM generate_series(1, {stores}) s;
INSERT INTO terminal (id, program_id, store_id, name, api_key_hash, active, created_at)
SELECT s, 1, s, 'T', md5(s::text), true, '2025-06-01' FROM generate_series(1, {stores}) s;
INSERT INTO account (id, program_id, first_name, status, available_points, pending_points,
                     lifetime_earned, lifetime_redeemed, negative_flagged, failed_pin_attempts,
                     created_at, sms_opt_out, sms_invalid, referral_pending)
SELECT a, 1, '', 'active', 0, 0, 0, 0, false, 0, '2025-06-01', false, false, false
FROM generate_series(1, {members}) a;
INSERT INTO card (id, program_id, number, symbology, status, kind, account_id, created_at)
SELECT a, 1, a::text, 'ean13', 'active', 'plastic', a, '2025-06-01'
FROM generate_series(1, {members}) a;
INSERT INTO sale (program_id, store_id, terminal_id, account_id, card_id, receipt_number, kind,
                  status, total_minor, points_redeemed, redeemed_minor, cash_minor,
                  eligible_earn_minor, earn_base_minor, points_earned, returned_minor,
                  returned_earn_base_minor, points_reversed, points_restored, created_at)
SELECT 1, store, store, a, a, a || '-' || n, 'sale', 'completed', total, 0, 0, total, total,
       total, total / 100, 0, 0, 0, 0, moment
FROM (SELECT a, n,
             CASE WHEN random() < 0.8 THEN 1 + a % {stores}
                  ELSE 1 + floor(random() * {stores})::int END AS store,
             100 + floor(random() * 9900)::int AS total,
             timestamp '2025-07-01' + random() * interval '365 days' AS moment
      FROM generate_series(1, {members}) a, generate_series(1, {purchases}) n) generated;
ANALYZE;
"""


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--purchases", type=int, default=8)
    parser.add_argument("--database", default="members_bench")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--reuse", action="store_true", help="time a database seeded before")
    arguments = parser.parse_args()
    name = arguments.database
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    if not arguments.reuse:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        app = create_app({"service": {"database_url": SERVER_URL + name,
                                      "secret_key": "bench"}})
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            if not arguments.reuse:
                seconds = timed(lambda: _seed(arguments.members, arguments.purchases))
                print(f"seeded {arguments.members} members x {arguments.purchases} "
                      f"purchases in {seconds:.0f} s")
            _measure()
            db.engine.dispose()
    finally:
        if not arguments.keep:
            with admin.connect() as connection:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _seed(members: int, purchases: int) -> None:
    with db.engine.begin() as connection:
        for statement in SEED.format(stores=STORES, members=members,
                                     purchases=purchases).split(";\n"):
            if statement.strip():
                connection.execute(sa.text(statement))


def _measure() -> None:
    program = db.session.get(Program, 1)
    seconds = timed(lambda: rollup_members(program, dt.date(2025, 7, 1), NOW))
    print(f"rollup over 13 months: {seconds:.1f} s")
    seconds = timed(lambda: rollup_members(program, dt.date(2026, 6, 28), NOW))
    print(f"cron run (June and July again): {seconds:.1f} s")
    with db.engine.connect() as connection:
        for table in ("member_month", "member_reach", "member_last_day", "member_activity",
                      "cohort_month"):
            rows = connection.scalar(sa.text(f"SELECT count(*) FROM {table}"))
            size = connection.scalar(sa.text(
                f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"))
            print(f"{table}: {rows} rows, {size}")
    for store_id in (None, 7):
        filters = Filters(program, dt.date(2025, 7, 1), dt.date(2026, 6, 1), store_id, NOW)
        for name in ("active_members", "purchase_frequency", "repeat_purchase_rate",
                     "retention", "cohorts", "lifetime_value"):
            function = getattr(member_measures, name)
            times = sorted(timed(lambda: function(filters)) for _ in range(20))
            db.session.rollback()
            print(f"{name} (store {store_id or 'all'}): p95 "
                  f"{1000 * times[18]:.0f} ms, median {1000 * statistics.median(times):.0f} ms")


if __name__ == "__main__":
    main()
