#!/usr/bin/env python3
"""Where a checkout's CPU goes, part by part, for programs with and without tiers and campaigns.

Each program gets its own fresh PostgreSQL database (`pos_loyalty_bench_parts_NAME`), seeded
as bench/checkout seeds it; then sales run through the Flask test client (no HTTP), one
thread, the programs in turn for several rounds so that the machine's load lands on all
alike. The core's main functions are wrapped to add up this thread's CPU time
(`time.thread_time`, no profiler: its overhead would swamp the small functions), and the
PostgreSQL backends' CPU is read from /proc. Prints the medians per sale in ms.

    bench/checkout_parts.py                              # lines, campaigns, additive
    bench/checkout_parts.py --programs plain,lines --sales 500 --rounds 7
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from cpu_time import postgres_backends_sample, used_between  # noqa: E402
from profile_checkout import DEFAULT_PG_ADMIN_URL, sale_body  # noqa: E402
from seed import (  # noqa: E402
    fresh_database, pos_loyalty_command, seed_offers, seed_program, server_environment,
)

# name -> (receipts of lines, the tier ladder, campaigns, [rules] for the app)
PROGRAMS: dict[str, tuple[bool, bool, int, dict[str, Any]]] = {
    "plain": (False, False, 0, {}),
    "lines": (True, False, 0, {}),
    "ladder": (True, True, 0, {}),
    "campaigns": (True, True, 20, {}),
    "additive": (True, True, 20, {"campaign_combination": "additive"}),
}
# (module, function, label), in the order printed.
PARTS = [("usecases.checkout", "sell", "checkout.sell (the use case)"),
         ("sales", "record_sale", "  record_sale"),
         ("sales", "_locked_card_and_account", "    first round trip and its parsing"),
         ("sales", "quote", "    rules.quote"),
         ("sales", "_grant", "    caps and budgets (_grant)"),
         ("campaigns", "charge_budgets", "      campaigns.charge_budgets"),
         ("ledger", "settle_sale", "    ledger.settle_sale"),
         ("notify", "defer_balance_change", "    notify.defer_balance_change"),
         ("tiers", "move_up_after_sale", "    tiers.move_up_after_sale"),
         ("statements", "Writes.send", "    second round trip (Writes.send)")]


def watch(spent: dict[str, float]) -> None:
    """Wrap each part so that it adds this thread's CPU time to `spent`."""
    import importlib
    for module_name, function, label in PARTS:
        owner: Any = importlib.import_module(f"pos_loyalty.{module_name}")
        *path, name = function.split(".")
        for attribute in path:
            owner = getattr(owner, attribute)
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, __original: Callable = original, __label: str = label,
                  **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return __original(*args, **kwargs)
            finally:
                spent[__label] += time.thread_time() - started
        setattr(owner, name, timed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", default="lines,campaigns,additive",
                        help=f"comma-separated, of: {', '.join(PROGRAMS)}")
    parser.add_argument("--sales", type=int, default=300, help="sales per program and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-prefix", default="pos_loyalty_bench_parts_",
                        help="each program's database is this prefix + its name: give each run "
                             "on a shared server its own")
    parser.add_argument("--pg-admin-url",
                        default=os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.programs.split(",") if name.strip()]
    unknown = set(names) - set(PROGRAMS)
    if unknown:
        parser.error(f"unknown program(s): {', '.join(sorted(unknown))}")

    from pos_loyalty.app import create_app
    from pos_loyalty.db import db

    spent: dict[str, float] = defaultdict(float)
    watch(spent)
    results: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in names}
    with ExitStack() as stack:
        sellers = {}
        for name in names:
            lines, ladder, campaigns, rules = PROGRAMS[name]
            url = stack.enter_context(fresh_database(
                "postgresql", args.pg_admin_url, name=f"{args.database_prefix}{name}"))
            init = pos_loyalty_command(["init"], server_environment(url, "parts"))
            if init.returncode != 0:
                print(init.stdout + init.stderr)
                return 2
            seeded = seed_program(url, 1, 16, 1_000_000)
            if ladder:
                seed_offers(url, seeded.cards_by_terminal[0], campaigns)
            app = create_app({"service": {"database_url": url, "secret_key": "parts"},
                              "rules": rules})
            stack.callback(_dispose, app, db)
            sellers[name] = (_seller(app, seeded.terminal_keys[0], seeded.cards_by_terminal[0],
                                     lines), postgres_backends_sample(url))
            for _ in range(100):   # warm the caches, the pool and the prepared statements
                sellers[name][0]()
        for _ in range(args.rounds):
            for name in names:
                sell, backends = sellers[name]
                spent.clear()
                before, started = backends(), time.thread_time()
                for _ in range(args.sales):
                    sell()
                whole, after = time.thread_time() - started, backends()
                results[name]["the whole request (app)"].append(whole)
                for _module, _function, label in PARTS:
                    results[name][label].append(spent[label])
                results[name]["PostgreSQL backend"].append(used_between(before, after))
    print(f"CPU ms per sale, the median of {args.rounds} rounds of {args.sales} sales")
    print(f"{'':<42}" + "".join(f"{name:>11}" for name in names))
    for label in results[names[0]]:
        print(f"{label:<42}" + "".join(
            f"{statistics.median(results[name][label]) * 1000 / args.sales:>11.3f}"
            for name in names))
    return 0


def _seller(app: Any, key: str, cards: list[str], lines: bool) -> Callable[[], None]:
    client = app.test_client()
    receipts = iter(range(1, 10**9))

    def sell() -> None:
        receipt = f"P{next(receipts)}"
        reply = client.post("/api/pos/v1/sales",
                            json=sale_body(cards[int(receipt[1:]) % len(cards)], receipt, lines),
                            headers={"Authorization": f"Bearer {key}",
                                     "Idempotency-Key": f"parts-{receipt}"})
        if reply.status_code != 201:
            raise RuntimeError(f"sale failed: {reply.status_code} {reply.get_data(as_text=True)}")
    return sell


def _dispose(app: Any, db: Any) -> None:
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
