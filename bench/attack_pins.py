"""The PIN-spraying attack of issue 10, measured again: how many accounts does "1234" open?

Not a test (nothing here runs in CI). In one process, on a fresh SQLite database: a program
enrols customers whose PINs are drawn like real ones (a share of them, `--weak-share`, chose
1234, as about 6 % did in the attack seen); then one terminal sends `POST /api/pos/v1/identify`
`{phone, pin: "1234"}` for every customer in turn, as the attacker did, and, with
`--terminals N`, N terminals share the phone list. It prints the answers by code and the
accounts opened, beside what the weak share would have given with no throttle.

    python bench/attack_pins.py                    # 500 customers, one terminal
    python bench/attack_pins.py --terminals 20     # the same spray spread over 20 tills
"""
from __future__ import annotations

import argparse
import collections
import random
import secrets
import sys
import tempfile
from pathlib import Path

from flask_migrate import upgrade

from pos_loyalty import accounts, programs
from pos_loyalty.app import MIGRATIONS_DIR, create_app
from pos_loyalty.db import run_in_transaction, utcnow
from pos_loyalty.security import app_hasher

SPRAYED_PIN = "1234"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--weak-share", type=float, default=0.06,
                        help="share of customers whose PIN is 1234 (0.06)")
    parser.add_argument("--terminals", type=int, default=1, help="terminals spraying")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pos-loyalty-attack-") as folder:
        app = create_app({"service": {"database_url": f"sqlite:///{Path(folder) / 'a.sqlite3'}",
                                      "secret_key": secrets.token_urlsafe(32)}})
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            phones, weak, keys = enrol(options)
        counts = spray(app, phones, keys)
    opened = counts.pop("opened", 0)
    print(f"{options.customers} customers, {weak} with PIN {SPRAYED_PIN}; "
          f"{options.terminals} terminal(s) sprayed {SPRAYED_PIN} at every phone")
    print(f"accounts opened: {opened} (with no throttle: {weak})")
    for code, number in sorted(counts.items()):
        print(f"  {code}: {number}")
    return 0


def enrol(options: argparse.Namespace) -> tuple[list[str], int, list[str]]:
    """Customers with random 4-digit PINs, the weak share on 1234; one key per terminal."""
    rng = random.Random(10)
    weak = round(options.customers * options.weak_share)
    pins = [SPRAYED_PIN] * weak + [f"{rng.randrange(10_000):04d}".replace(SPRAYED_PIN, "4321")
                                   for _ in range(options.customers - weak)]
    rng.shuffle(pins)

    def work() -> tuple[list[str], list[str]]:
        program = programs.default_program()
        store = programs.create_store(program, "Shop")
        keys = [programs.create_terminal(program, store.id, f"T{n}")[1]
                for n in range(options.terminals)]
        phones = []
        for index, pin in enumerate(pins):
            phone = f"+336{10_000_000 + index:08d}"
            accounts.create_customer(program, phone, pin, utcnow(), app_hasher(),
                                     channel="app")
            phones.append(phone)
        return phones, keys
    phones, keys = run_in_transaction(work)
    return phones, weak, keys


def spray(app, phones: list[str], keys: list[str]) -> collections.Counter:  # type: ignore[no-untyped-def]
    client = app.test_client()
    counts: collections.Counter = collections.Counter()
    for index, phone in enumerate(phones):
        key = keys[index % len(keys)]
        reply = client.post("/api/pos/v1/identify", json={"phone": phone, "pin": SPRAYED_PIN},
                            headers={"Authorization": f"Bearer {key}"})
        if reply.status_code == 200:
            counts["opened"] += 1
        else:
            counts[f"{reply.status_code} {reply.get_json()['error']['code']}"] += 1
    return counts


if __name__ == "__main__":
    sys.exit(main())
