#!/usr/bin/env python3
"""What a checkout pays for its SMS row: `notify.defer_balance_change`, timed in this process.

Builds a throw-away SQLite database with one program, store and customer, then calls what
`sales.record_sale` calls for every sale, many times, inside one open transaction, and drops
the deferred INSERT each time (the statement itself is sent with the sale's others either way).
Prints the CPU time per call (the median of the rounds, and each round), for a sale that
earns and for one that earns and spends. Run by hand: `.venv/bin/python bench/outbox_row_cost.py [--calls N]`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from seed import FAST_HASHING  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from pos_loyalty import accounts, batch, notify, programs
    from pos_loyalty.app import MIGRATIONS_DIR, create_app
    from pos_loyalty.db import db, run_in_transaction, utcnow
    from pos_loyalty.models import Account, Store
    from pos_loyalty.security import app_hasher

    folder = tempfile.TemporaryDirectory(prefix="pos-loyalty-outbox-cost-")
    app = create_app({"service": {"database_url": f"sqlite:///{folder.name}/bench.sqlite3",
                                  "secret_key": "bench"}, "security": FAST_HASHING})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))

        def set_up() -> tuple[int, int]:
            program = programs.default_program()
            store = programs.create_store(program, "Boulangerie Lyon")
            card = accounts.create_customer(program, "+33612345678", "1234", utcnow(),
                                            app_hasher(), channel="app")
            return store.id, card.account_id
        store_id, account_id = run_in_transaction(set_up)
        program = programs.default_program()
        # A POS request holds its store in the session (programs.terminal_for_key): so here.
        store = db.session.get(Store, store_id)
        account = db.session.get(Account, account_id)
        # The checkout's locked row: the Account columns the SMS needs.
        found = SimpleNamespace(account_id=account.id, phone_e164=account.phone_e164,
                                sms_opt_out=False, sms_invalid=False, status="active",
                                locale=None)
        now = utcnow()
        for label, numbers in (("earns 25", {"change": 25, "earned": 25, "spent": 0}),
                               ("earns 10, spends 100", {"change": -90, "earned": 10,
                                                         "spent": 100})):
            per_call = []
            for _ in range(args.rounds):
                started = time.process_time()
                for _ in range(args.calls):
                    notify.defer_balance_change(program, found, balance=1250, now=now,
                                                store_id=store.id, **numbers)
                    db.session.info.pop(batch.DEFERRED)
                per_call.append((time.process_time() - started) / args.calls * 1e6)
            print(f"{label:<22} {statistics.median(per_call):6.1f} µs per sale "
                  f"(rounds: {', '.join(f'{m:.1f}' for m in per_call)})")
        db.session.rollback()
        db.engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
