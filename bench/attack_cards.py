"""The card-walking attack of issue 10, measured again: how many cards does a terminal find?

Not a test (nothing here runs in CI). In one process, on a fresh SQLite database: a program
issues a batch of plastic cards (2,288, as in the attack seen) and gives each to a customer
with 100 points; then a terminal walks card numbers through `POST /api/pos/v1/cards/lookup`,
as the attacker walked `GET /cards/{n}`:

- in sequence from the first number of the range (prefix, serial 1, 2, 3, ...), which found
  every card while numbers were serials;
- at random in the range (a walk that knows numbers are random).

It prints the lookups made and answered (the per-terminal limit, [pos_api] lookup_rate_limit,
answers the rest 429), the cards found, the rate, and the hits to expect from the size of the
range; then, for the cards found, whether a sale spending their points goes through when the
number is typed (it must not) and when the terminal says it scanned the card.

    python bench/attack_cards.py                     # 20,000 lookups each way
    python bench/attack_cards.py --no-rate-limit     # the numbering alone, every lookup answered
    python bench/attack_cards.py --tries 100000
    python bench/attack_cards.py --sequential-numbers   # the numbering before issue 10
"""
from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert

from pos_loyalty import accounts, adjustments, cards, programs
from pos_loyalty.app import MIGRATIONS_DIR, create_app
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Card, CardBatch
from pos_loyalty.rules import ProgramRules
from pos_loyalty.security import app_hasher

CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}
OBSERVED_RATE = 110   # lookups per second, in the attack seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=2288, help="cards issued (2,288)")
    parser.add_argument("--tries", type=int, default=20_000, help="lookups per walk")
    parser.add_argument("--sequential-numbers", action="store_true",
                        help="number the batch 1, 2, 3, ... as before issue 10")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="lift the per-terminal lookup limit ([pos_api] lookup_rate_limit)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pos-loyalty-attack-") as folder:
        settings = {"service": {"database_url": f"sqlite:///{Path(folder) / 'a.sqlite3'}",
                                "secret_key": secrets.token_urlsafe(32)},
                    "security": CHEAP_HASHING}
        if options.no_rate_limit:
            settings["pos_api"] = {"lookup_rate_limit": ""}
        app = create_app(settings)
        limit = app.config["LOYALTY"]["pos_api"]["lookup_rate_limit"] or "none"
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            key, rules = run_in_transaction(
                lambda: _issue_and_enrol(options.cards, options.sequential_numbers))
            client = app.test_client()
            headers = {"Authorization": f"Bearer {key}"}
            numbering = "in sequence" if options.sequential_numbers else "at random"
            print(f"{options.cards} cards issued ({numbering}), each with a customer holding "
                  f"100 points; prefix {rules.card_prefix}, "
                  f"{cards.card_range_size(rules.card_prefix):,} numbers in the range; "
                  f"lookup limit per terminal: {limit}")
            found: set[str] = set()
            for walk in ("sequential", "random"):
                found |= _walk(client, headers, rules, walk, options.tries, options.cards)
            _try_spending(client, headers, sorted(found))
            db.engine.dispose()
    return 0


def _issue_and_enrol(count: int, sequential: bool) -> tuple[str, ProgramRules]:
    program = programs.default_program()
    store = programs.create_store(program, "Attacked store")
    _, key = programs.create_terminal(program, store.id, "Walking terminal")
    rules = programs.rules_for(program)
    if sequential:
        numbers = _sequential_batch(program, count, rules)
    else:
        numbers = accounts.issue_cards(program, count, utcnow())
    for index, number in enumerate(numbers):
        accounts.create_customer(program, f"+3361{index:07d}", "1234", utcnow(), app_hasher(),
                                 channel="till", first_name="Camille", card_number=number)
        adjustments.adjust_points(program, number, 100, "attack bench", "bench", utcnow())
    return key, rules


def _sequential_batch(program, count: int, rules: ProgramRules) -> list[str]:  # type: ignore[no-untyped-def]
    """Blank cards numbered as before issue 10: prefix, serial 1, 2, 3, ..., check digit."""
    batch = CardBatch(program_id=program.id, count=count, created_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    numbers = [cards.make_card_number(rules.card_prefix, serial, rules.card_symbology)
               for serial in range(1, count + 1)]
    db.session.execute(insert(Card), [
        {"program_id": program.id, "number": number, "symbology": rules.card_symbology,
         "status": "blank", "kind": "plastic", "batch_id": batch.id, "created_at": utcnow()}
        for number in numbers])
    return numbers


def _walk(client, headers, rules: ProgramRules, walk: str, tries: int,  # type: ignore[no-untyped-def]
          issued: int) -> set[str]:
    size = cards.card_range_size(rules.card_prefix, rules.card_symbology)
    found: set[str] = set()
    answered = 0
    started = time.perf_counter()
    for attempt in range(tries):
        serial = attempt + 1 if walk == "sequential" else secrets.randbelow(size)
        number = cards.make_card_number(rules.card_prefix, serial, rules.card_symbology)
        reply = client.post("/api/pos/v1/cards/lookup", json={"card_number": number},
                            headers=headers)
        answered += reply.status_code != 429
        if reply.status_code == 200 and reply.get_json()["account"] is not None:
            found.add(number)
    seconds = time.perf_counter() - started
    print(f"{walk} walk: {tries:,} lookups in {seconds:.1f} s ({tries / seconds:,.0f}/s), "
          f"{answered:,} answered (the others 429): {len(found)} of {issued} cards found; a "
          f"random walk expects one card per {size / issued:,.0f} lookups: one every "
          f"{size / issued / OBSERVED_RATE / 3600:,.1f} hours at {OBSERVED_RATE}/s")
    return found


def _try_spending(client, headers, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    if not found:
        print("spending: no card found, nothing to spend")
        return
    for card_entry in ("typed", "scanned"):
        spent = sum(
            client.post("/api/pos/v1/sales", json={
                "card_number": number, "receipt_number": f"{card_entry}-{index}",
                "total_minor": 2000, "redeem_points": 50, "card_entry": card_entry},
                headers={**headers, "Idempotency-Key": f"{card_entry}-{index}"}
            ).status_code == 201
            for index, number in enumerate(found))
        print(f"spending with the number {card_entry}: {spent} of {len(found)} sales went "
              f"through")


if __name__ == "__main__":
    sys.exit(main())
