"""`pos-loyalty demo`: a fresh SQLite database with a store, staff and 20 customers, served."""
from __future__ import annotations

import datetime as dt
import logging
import re
import random
import sys
from pathlib import Path

import click
from flask import Flask

from pos_loyalty import accounts, campaigns, programs, sales, tiers
from pos_loyalty.app import create_app
from pos_loyalty.config import PROJECT_ROOT
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.rules import BasketLine
from pos_loyalty.security import app_hasher

DEMO_DB = PROJECT_ROOT / "instance" / "demo.sqlite3"
DEMO_LOGINS = (("cashier", "cashier", "cashier-demo"), ("manager", "manager", "manager-demo"),
               ("admin", "admin", "admin-demo"), ("marketing", "marketing", "marketing-demo"),
               ("support", "support", "support-demo"), ("finance", "finance", "finance-demo"))
# Logins of the back office only: they have no store.
BACK_OFFICE_ONLY = ("marketing", "support", "finance")
FIRST_NAMES = ("Camille", "Louis", "Léa", "Hugo", "Chloé", "Gabriel", "Manon", "Arthur", "Inès",
               "Jules", "Sarah", "Lucas", "Emma", "Adam", "Jade", "Nathan", "Alice", "Raphaël",
               "Lina", "Paul")
CATEGORIES = (("BAGUETTE", "bakery", 110), ("CROISSANT", "bakery", 130),
              ("TARTE", "pastry", 1890), ("CAFE", "drinks", 250), ("TABAC", "tobacco", 1100))


def run_demo(host: str, port: int, serve: bool = True) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    database = {"service": {"database_url": f"sqlite:///{DEMO_DB}"}}
    app = create_app(database)
    seeding = create_app({**database, "security": app.config["LOYALTY"]["demo"]})
    with seeding.app_context():
        from pos_loyalty.cli import migrate_schema
        migrate_schema()
        key, customers = run_in_transaction(load_demo_data)
        from pos_loyalty.app_keys import create_app_key
        app_key = run_in_transaction(lambda: create_app_key(programs.default_program(), "demo"))
        from pos_loyalty.analytics.rollups import run_rollups
        run_rollups(utcnow())   # the dashboard's figures, as the cron job keeps them
        db.engine.dispose()
    base = f"http://{host}:{port}"
    click.echo(f"Demo data loaded into {DEMO_DB}")
    if serve:
        click.echo(f"Cashier UI:   {base}/cashier/")
        click.echo(f"Back office:  {base}/admin/")
        click.echo(f"POS API:      {base}/api/pos/v1/  (OpenAPI: {base}/api/pos/v1/openapi.json)")
    for role, username, password in DEMO_LOGINS:
        click.echo(f"Login ({role}): {username} / {password}")
    for phone, card_number, pin in customers[:3]:
        click.echo(f"Customer: card {card_number}, phone {phone}, PIN {pin}")
    click.echo("Tiers: Argent/Silver from 50 points a year, Or/Gold from 150; double points "
               "on Saturdays for Gold (`pos-loyalty tiers show`, `campaigns list`)")
    click.echo(f"Terminal API key: {key}")
    if serve:
        click.echo(f"Mobile API:   {base}/api/mobile/v1/  (app key: {app_key})")
    else:
        click.echo(f"Mobile app key: {app_key}")
        click.echo(f"Not served (--no-serve). To serve this data: "
                   f"LOYALTY_DATABASE_URL=sqlite:///{DEMO_DB} pos-loyalty serve")
        return
    from pos_loyalty.notify import start_demo_worker
    start_demo_worker(app)
    serve_app(app, host, port)


def serve_app(app: Flask, host: str, port: int) -> None:
    """Werkzeug's development server; its log is coloured only on a terminal, so a log
    redirected to a file carries no ANSI codes."""
    from werkzeug import serving
    if not sys.stderr.isatty():
        logging.getLogger("werkzeug").addFilter(_without_colours)
    serving.run_simple(host, port, app, threaded=True, use_reloader=False)


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def _without_colours(record: logging.LogRecord) -> bool:
    record.msg, record.args = ANSI_CODES.sub("", record.getMessage()), None
    return True


def load_demo_data() -> tuple[str, list[tuple[str, str, str]]]:
    """Program, store, terminal, staff, 20 customers with a few weeks of history."""
    program = programs.default_program()
    store = programs.create_store(program, "Boulangerie Lyon Part-Dieu",
                                  address="17 rue de la République, 69002 Lyon",
                                  phone="+33478000000", latitude=45.7606, longitude=4.8590,
                                  opening_hours="Mo-Sa 07:00-20:00")
    terminal, key = programs.create_terminal(program, store.id, "Caisse 1")
    _demo_offers(program, store.id, utcnow())
    hasher = app_hasher()
    for role, username, password in DEMO_LOGINS:
        programs.create_staff(program, username, role, password,
                              None if role in BACK_OFFICE_ONLY else store.id, hasher)
    plastic = accounts.issue_cards(program, 30, utcnow())
    randomizer = random.Random(42)
    start = utcnow() - dt.timedelta(days=30)
    customers = []
    for index, name in enumerate(FIRST_NAMES):
        phone, pin = f"+336120000{index:02d}", f"{1234 + index:04d}"
        channel = demo_channel(index)
        card = accounts.create_customer(program, phone, pin, start, hasher, channel=channel,
                                        store_id=store.id if channel == "till" else None,
                                        first_name=name,
                                        card_number=plastic[index] if index % 2 == 0 else None,
                                        actor="demo")
        customers.append((phone, card.number, pin))
        for visit in range(randomizer.randint(2, 6)):
            _demo_sale(program, terminal, card.number, f"D{index:02d}-{visit}",
                       start + dt.timedelta(days=visit * 4 + index % 3), randomizer)
    return key, customers


def demo_channel(index: int) -> str:
    """Where the demo's customer `index` joined, a mix like a bakery's: those with plastic
    cards at the till, the others mostly in the app, a few from the import of an older file."""
    if index % 2 == 0:
        return "till"
    return "import" if index % 6 == 5 else "app"


DEMO_LADDER = {"tiers": [
    {"key": "silver", "threshold": 50, "multiplier": "1.25",
     "names": {"fr": "Argent", "en": "Silver"},
     "perks": {"fr": "Un café offert chaque mois", "en": "A free coffee every month"}},
    {"key": "gold", "threshold": 150, "multiplier": "1.5", "names": {"fr": "Or", "en": "Gold"},
     "perks": {"fr": "Points x1,5 et une tarte offerte à l'anniversaire",
               "en": "Points x1.5 and a free tart on your birthday"}},
]}


def _demo_offers(program, store_id: int, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """The demo's ladder, bonuses, and "double points on Saturdays" for Gold members here."""
    tiers.set_ladder(program, DEMO_LADDER, now, "demo")
    program.rules = {**program.rules, "signup_bonus_points": 20, "birthday_bonus_points": 50,
                     "referral_bonus_points": 100, "referral_newcomer_points": 50}
    campaigns.create_campaign(program, {
        "name": "Double points on Saturdays (Gold)",
        "labels": {"fr": "Points doublés le samedi", "en": "Double points on Saturdays"},
        "starts": (now - dt.timedelta(days=60)).date(),
        "ends": (now + dt.timedelta(days=365)).date(),
        "weekdays": [6], "store_ids": [store_id], "tiers": ["gold"], "multiplier": "2"},
        now, "demo")


def _demo_sale(program, terminal, card_number, receipt, when, randomizer) -> None:  # type: ignore[no-untyped-def]
    lines = [BasketLine(sku, category, randomizer.randint(1, 3), price)
             for sku, category, price in randomizer.sample(CATEGORIES, randomizer.randint(1, 3))]
    q = sales.quote_for_card(program, card_number, lines, when)
    redeem = q.max_redeem_points // 2 if randomizer.random() < 0.3 else 0
    sales.record_sale(program, terminal, sales.SaleRequest(card_number, receipt, lines, redeem),
                      when)
    db.session.flush()
