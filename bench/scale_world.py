"""The national chain bench/seed_scale simulates: its program's rules, stores, terminals,
cashiers and campaigns, written through the app (a few thousand rows), and what the
per-account simulation (bench/scale_members.py) needs of them, in one picklable World.

Terminal keys are derived from the seed (`terminal_key`), so that `bench/checkout --scale`
and `bench/scale_figures` can sell at the seeded tills: a bench database, never a real one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any

# The program's rules for the year, laid over config [rules]. Expiry after 6 months so
# that a year holds expiries (12 would expire nothing before the last day); no program-wide
# daily cap (a chain of 200 stores issues over a million points a day); a sign-up bonus;
# a ladder of three tiers on points over a rolling 12 months.
SCALE_RULES: dict[str, Any] = {
    "expiry_months": 6,
    "daily_program_cap_points": 0,
    "signup_bonus_points": 50,
    "tiers": [
        {"key": "silver", "threshold": 400, "multiplier": "1.25",
         "names": {"fr": "Argent", "en": "Silver"}},
        {"key": "gold", "threshold": 1200, "multiplier": "1.5",
         "names": {"fr": "Or", "en": "Gold"}},
        {"key": "platinum", "threshold": 3000, "multiplier": "2",
         "names": {"fr": "Platine", "en": "Platinum"}},
    ],
}
# The bench's secret key: PIN hashes and bonus persons derive from it outside production, so
# the servers bench/scale_figures starts on a seeded database must use it too.
SCALE_SECRET_KEY = "pos-loyalty-scale-bench-secret-key-0001"
TERMINALS_PER_STORE = (2, 6)
CASHIERS_PER_STORE = (4, 9)
CITIES = ("Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg",
          "Montpellier", "Bordeaux", "Lille", "Rennes", "Reims", "Dijon", "Angers", "Grenoble")


def terminal_key(seed: int, terminal_id: int) -> str:
    """The API key of a seeded terminal: derived, so the bench can use it later."""
    digest = hashlib.sha256(f"pos-loyalty scale seed {seed} terminal {terminal_id}".encode())
    return "tk_scale_" + digest.hexdigest()


@dataclass(frozen=True)
class StorePlace:
    id: int
    name: str
    terminal_ids: tuple[int, ...]
    staff_ids: tuple[int, ...]


@dataclass(frozen=True)
class World:
    """Everything the simulation of one account reads, fixed for the whole run."""
    program_id: int
    program_name: str
    timezone: str
    rules: Any                 # pos_loyalty.rules.ProgramRules
    stores: tuple[StorePlace, ...]
    campaigns: tuple[Any, ...]  # pos_loyalty.rules.CampaignTerms
    person_hash_key: bytes     # bonuses' key for BonusGrant.person
    pin_hash: str              # PIN "1234" of every member who has one (a bench set)
    start: dt.datetime         # naive UTC
    now: dt.datetime           # naive UTC: the end of the simulated year
    seed: int


def campaign_plan(start: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """Five campaigns placed along the period (fractions of it), the last still running."""
    span = now - start

    def at(fraction: float) -> dt.datetime:
        return (start + span * fraction).replace(minute=0, second=0, microsecond=0)
    return [
        {"name": "Double points weekends", "effect": "multiplier", "multiplier": "2",
         "weekdays": [6, 7], "starts_at": at(0.15), "ends_at": at(0.22)},
        {"name": "Organic x3", "effect": "multiplier", "multiplier": "3",
         "categories": ["organic"], "budget_points": 50_000_000,
         "starts_at": at(0.33), "ends_at": at(0.42)},
        {"name": "Welcome bonus", "effect": "fixed", "bonus_points": 100,
         "first_purchase_only": True, "budget_points": 100_000_000,
         "starts_at": at(0.5), "ends_at": at(0.6)},
        {"name": "Bonus 20 over 40.00", "effect": "fixed", "bonus_points": 20,
         "min_basket_minor": 4000, "per_customer_limit": 2,
         "starts_at": at(0.7), "ends_at": at(0.8)},
        {"name": "Evening x1.5", "effect": "multiplier", "multiplier": "1.5",
         "hours_from": "17:00", "hours_until": "20:00", "budget_points": 200_000_000,
         "starts_at": at(0.92), "ends_at": now + dt.timedelta(days=30)},
    ]


def build_world(stores: int, seed: int, start: dt.datetime, now: dt.datetime) -> World:
    """Set the program's rules and write stores, terminals, cashiers and campaigns (in the
    current app context, one transaction); the World the simulation reads."""
    from pos_loyalty import bonuses, campaigns, programs
    from pos_loyalty.db import db, run_in_transaction
    from pos_loyalty.models import Campaign, Staff, Store, Terminal
    from pos_loyalty.security import app_hasher, hash_api_key

    rng = random.Random(seed)
    hasher = app_hasher()
    password_hash = hasher.hash_password("scale-cashier")

    def write() -> World:
        program = programs.default_program()
        program.rules = {**(program.rules or {}), **SCALE_RULES}
        # Its first day is the year's: `pos-loyalty rollup` catches up from there.
        program.created_at = start
        places = []
        for number in range(1, stores + 1):
            city = CITIES[(number - 1) % len(CITIES)]
            store = Store(program_id=program.id, name=f"{city} {number:03d}",
                          address=f"{number} rue du Commerce, {city}", created_at=start)
            db.session.add(store)
            db.session.flush()
            tills = [Terminal(program_id=program.id, store_id=store.id,
                              name=f"{store.name} till {n}",
                              api_key_hash=f"placeholder {store.id} {n}", created_at=start)
                     for n in range(1, rng.randint(*TERMINALS_PER_STORE) + 1)]
            db.session.add_all(tills)
            db.session.flush()
            for till in tills:   # the key derives from the id the database gave
                till.api_key_hash = hash_api_key(terminal_key(seed, till.id))
            staff = [Staff(program_id=program.id, store_id=store.id,
                           username=f"s{store.id}-{role}{n}", password_hash=password_hash,
                           role=role, created_at=start)
                     for n, role in enumerate(["manager"] + ["cashier"] * rng.randint(
                         *CASHIERS_PER_STORE))]
            db.session.add_all(staff)
            db.session.flush()
            places.append(StorePlace(store.id, store.name, tuple(t.id for t in tills),
                                     tuple(s.id for s in staff if s.role == "cashier")))
        rows = [Campaign(program_id=program.id, created_by="scale seed", created_at=start,
                         labels={"en": plan["name"]}, **plan)
                for plan in campaign_plan(start, now)]
        db.session.add_all(rows)
        db.session.flush()
        return World(program.id, program.name, program.timezone, programs.rules_for(program),
                     tuple(places), tuple(campaigns.terms_of(row) for row in rows),
                     bonuses._person_hash_key(), hasher.hash_pin("1234"), start, now, seed)
    return run_in_transaction(write)
