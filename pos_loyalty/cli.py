"""`pos-loyalty` commands (also `flask --app pos_loyalty ...`).

Each command that creates something prints its identifier or key on its last line, so scripts
can take it with `tail -n 1`.
"""
from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
import tomllib
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from pos_loyalty import bonuses_cli, notify, programs, verification
from pos_loyalty.clock import now
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.models.program import STAFF_ROLES
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import customers as customers_usecases
from pos_loyalty.usecases import jobs, program_admin
from pos_loyalty.usecases import staff as staff_usecases
from mobile_api import cli as mobile_cli

programs_group = mobile_cli.programs  # `pos-loyalty programs ...`: its app keys live there


def register_commands(app: Flask) -> None:
    for command in (init_command, demo_command, serve_command, stores, terminals, staff, cards,
                    customers, points, verify_command, expire_command):
        app.cli.add_command(command)
    app.cli.add_command(mobile_cli.programs)
    app.cli.add_command(mobile_cli.promotions)
    from pos_loyalty import offers_cli   # it builds on this module's helpers
    app.cli.add_command(offers_cli.tiers)
    app.cli.add_command(offers_cli.campaigns)
    notify.register_commands(app)
    app.cli.add_command(bonuses_cli.bonuses)
    from pos_loyalty import import_cli   # it builds on this module's helpers
    app.cli.add_command(import_cli.import_group)
    from pos_loyalty.analytics import cli as analytics_cli
    app.cli.add_command(analytics_cli.rollup_command)
    app.cli.add_command(analytics_cli.report)


def main() -> None:
    from pos_loyalty.app import create_app
    from pos_loyalty.config import ConfigError
    try:
        FlaskGroup(create_app=create_app, add_default_commands=False,
                   help="pos-loyalty: loyalty cards and points for physical stores.")(
            prog_name="pos-loyalty", standalone_mode=True)
    except ConfigError as error:
        click.echo(f"error: the settings cannot run the service: {error}", err=True)
        sys.exit(2)


def _fail(error: LoyaltyError) -> None:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(2)


def run_or_exit(work):  # type: ignore[no-untyped-def]
    """Run a write in one transaction; a domain error becomes a message and exit status 2."""
    return exit_on_error(lambda: run_in_transaction(work))


def exit_on_error(call):  # type: ignore[no-untyped-def]
    """Call a use case; a domain error becomes a message and exit status 2."""
    try:
        return call()
    except LoyaltyError as error:
        _fail(error)


@contextmanager
def progress_bar(label: str, length: Callable[[], int]) -> Iterator[Callable[[int], None]]:
    """A bar on a terminal for a long job, advanced by the callable it yields (`length` is
    asked only then); nothing when the output goes to a pipe or a file, so scripts read the
    same lines as before."""
    if not sys.stdout.isatty():
        yield lambda done: None
        return
    with click.progressbar(length=length(), label=label) as bar:
        yield bar.update


def migrate_schema() -> str:
    """Upgrade the database to the newest Alembic revision and make sure a program exists."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    program = run_or_exit(programs.default_program)
    return program.slug


@click.command("init", help="Create or upgrade the schema (Alembic) and the first program. "
                             "In production the program's name, currency, time zone and "
                             "locale must be given (development uses the [program] settings).")
@click.option("--name", default=None, help="The program's name, e.g. \"Boulangerie Martin\".")
@click.option("--currency", default=None, help="ISO 4217 code, e.g. EUR.")
@click.option("--timezone", default=None, help="IANA time zone, e.g. Europe/Paris.")
@click.option("--locale", default=None, help="Language and country, e.g. fr_FR.")
@click.option("--slug", default=None, help="Short id for apps and scripts (default: from the name).")
@with_appcontext
def init_command(name: str | None, currency: str | None, timezone: str | None,
                 locale: str | None, slug: str | None) -> None:
    given = {"name": name, "currency": currency, "timezone": timezone, "locale": locale,
             "slug": slug}
    settings = current_app.config["LOYALTY"]
    identity = None
    if not program_admin.has_program():   # checked before migrating: a refusal changes nothing
        identity = exit_on_error(lambda: program_admin.identity_to_create(
            given, production=settings["service"]["env"] == "production",
            fallback=settings["program"]))
    upgrade(directory=current_app.extensions["migrate"].directory)
    if identity is None:
        program = run_or_exit(programs.default_program)
        if any(given.values()):
            click.echo(f"program {program.slug!r} exists already: --name and the other options "
                       "only name a new one (see `pos-loyalty programs rename`)", err=True)
    else:
        program, _ = exit_on_error(lambda: program_admin.set_up_program(identity))
    click.echo(f"schema is up to date; program {program.slug!r} ({program.name}, "
               f"{program.currency}, {program.timezone}, {program.locale}) is ready")
    click.echo(program.slug)


@programs_group.command("rename", help="Give the program a new name (SMS, receipts, the app); "
                                       "its slug stays.")
@click.argument("slug")
@click.argument("name")
@with_appcontext
def programs_rename(slug: str, name: str) -> None:
    program = exit_on_error(lambda: program_admin.rename_program(slug, name))
    click.echo(f"program {program.slug!r} is now called {program.name!r}")
    click.echo(program.slug)


@programs_group.command("set-rule", help="Set one [rules] key for this program only, e.g. "
                                         "birthday_bonus_points 50 (VALUE is TOML: 50, "
                                         "\"1.5\", true, [\"tobacco\"]); --reset goes back "
                                         "to the config's value.")
@click.argument("slug")
@click.argument("key")
@click.argument("value", required=False)
@click.option("--reset", is_flag=True)
@click.option("--actor", default="cli")
@with_appcontext
def programs_set_rule(slug: str, key: str, value: str | None, reset: bool, actor: str) -> None:
    if reset == (value is not None):
        click.echo("error: give a VALUE, or --reset", err=True)
        sys.exit(2)
    parsed = None if reset else _toml_value(value)
    exit_on_error(lambda: program_admin.set_rule(slug, key, parsed, actor, now()))
    click.echo(f"program {slug!r}: {key} = {'(the config value)' if reset else value}")


def _toml_value(text: str) -> Any:
    """A value written as in TOML; a bare word is taken as text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


@click.command("demo", help="Start the product on a fresh SQLite file with demo data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    from pos_loyalty.demo import run_demo
    run_demo(host, port, serve=not no_serve)


@click.command("serve", help="Serve the app (development server; use gunicorn in production).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    from pos_loyalty.demo import serve_app
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"serving on http://{host}:{port}/")
    serve_app(app, host, port)


@click.group(help="Stores of the program.")
def stores() -> None:
    pass


@stores.command("create")
@click.argument("name")
@click.option("--address", default="")
@with_appcontext
def stores_create(name: str, address: str) -> None:
    store = run_or_exit(lambda: programs.create_store(programs.default_program(), name,
                                                      address=address))
    click.echo(f"store {store.name!r} created")
    click.echo(store.id)


@click.group(help="Till terminals and their API keys.")
def terminals() -> None:
    pass


@terminals.command("create")
@click.option("--store", "store_id", required=True, type=int)
@click.option("--name", default="")
@with_appcontext
def terminals_create(store_id: int, name: str) -> None:
    terminal, key = run_or_exit(lambda: programs.create_terminal(programs.default_program(),
                                                                 store_id, name))
    click.echo(f"terminal {terminal.id} created; its API key is shown only now:")
    click.echo(key)


@click.group(help="Staff logins: cashiers and managers (the till), admins, marketing, support "
                  "and finance (the back office).")
def staff() -> None:
    pass


@staff.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(list(STAFF_ROLES)), required=True,
              help="cashier, manager: the till; admin: till and back office; marketing, "
                   "support, finance: the back office (/admin).")
@click.option("--store", "store_id", type=int, default=None)
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input (never from the command line).")
@with_appcontext
def staff_create(username: str, role: str, store_id: int | None, password_stdin: bool) -> None:
    password = sys.stdin.readline().rstrip("\r\n")
    member = run_or_exit(lambda: programs.create_staff(programs.default_program(), username,
                                                       role, password, store_id, app_hasher()))
    click.echo(f"{role} {member.username!r} created")
    click.echo(member.id)


@staff.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the new password from standard input (never from the command line).")
@with_appcontext
def staff_password(username: str, password_stdin: bool) -> None:
    """Set a new password; every session of that login at the till ends."""
    password = sys.stdin.readline().rstrip("\r\n")
    exit_on_error(lambda: staff_usecases.set_password(username, password))
    click.echo(f"new password for {username!r}; its sessions are ended")


@staff.command("deactivate")
@click.argument("username")
@with_appcontext
def staff_deactivate(username: str) -> None:
    """Switch a login off; every session of it at the till ends."""
    exit_on_error(lambda: staff_usecases.set_active(username, False))
    click.echo(f"{username!r} deactivated; its sessions are ended")


@staff.command("reset-two-factor")
@click.argument("username")
@with_appcontext
def staff_reset_two_factor(username: str) -> None:
    """Turn a login's two-factor off (a lost phone, the last admin locked out of /admin); the
    login sets it up again at its next sign-in. Audited."""
    exit_on_error(lambda: staff_usecases.reset_two_factor(username, "cli", now()))
    click.echo(f"two-factor off for {username!r}; it is set up again at the next sign-in")


@click.group(help="Card batches.")
def cards() -> None:
    pass


@cards.command("issue")
@click.option("--count", required=True, type=int)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def cards_issue(count: int, csv_path: Path | None) -> None:
    program = run_or_exit(programs.default_program)
    numbers = exit_on_error(lambda: customers_usecases.issue_cards(program, count, now()))
    if csv_path:
        with csv_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["card_number"])
            writer.writerows([n] for n in numbers)
    for number in numbers:
        click.echo(number)


@click.group(help="Customers.")
def customers() -> None:
    pass


@customers.command("create")
@click.option("--phone", required=True, help="E.164, e.g. +33612345678")
@click.option("--pin", required=True)
@click.option("--card", "card_number", default=None, help="A blank card to link.")
@click.option("--first-name", default="")
@click.option("--referral-code", default=None, help="The code of the customer who referred them.")
@with_appcontext
def customers_create(phone: str, pin: str, card_number: str | None, first_name: str,
                     referral_code: str | None) -> None:
    program = run_or_exit(programs.default_program)
    card = exit_on_error(lambda: customers_usecases.enrol(
        program, phone, pin, now(), channel="cli", first_name=first_name,
        card_number=card_number, actor="cli", referral_code=referral_code))
    click.echo(f"customer created with card {card['card_number']}")
    click.echo(card["card_number"])


@click.group(help="Points.")
def points() -> None:
    pass


@points.command("adjust", help="Credit (positive) or withdraw (negative) points with a reason.")
@click.argument("card_number")
@click.argument("amount", type=int)
@click.option("--reason", required=True)
@click.option("--actor", default="cli")
@with_appcontext
def points_adjust(card_number: str, amount: int, reason: str, actor: str) -> None:
    program = run_or_exit(programs.default_program)
    result = exit_on_error(lambda: customers_usecases.adjust_points(
        program, card_number, amount, reason, actor, now()))
    click.echo(f"{amount:+d} points; balance {result['available']} available, "
               f"{result['pending']} pending")
    click.echo(result["entry_id"])


@click.command("verify", help="Check every account against its ledger; exit 1 on a mismatch.")
@with_appcontext
def verify_command() -> None:
    accounts_count = verification.count_accounts()
    with progress_bar("verifying accounts", lambda: accounts_count) as advance:
        mismatches = verification.verify_accounts(progress=advance)
    budgets = verification.verify_campaign_budgets()
    for found in mismatches:
        click.echo(f"account {found.account_id}: {found.what}: cached {found.cached}, "
                   f"computed {found.computed}")
    for found in budgets:
        click.echo(f"campaign {found.account_id}: {found.what}: counted {found.cached}, "
                   f"entries {found.computed}")
    mismatches += budgets
    if mismatches:
        click.echo(f"FAILED: {len(mismatches)} mismatches")
        sys.exit(1)
    if accounts_count == 1:
        click.echo("ok: 1 account matches its ledger")
    else:
        click.echo(f"ok: {accounts_count} accounts match their ledger")


@click.command("expire", help="Release due pending points, expire old points, end expired holds.")
@with_appcontext
def expire_command() -> None:
    moment = now()
    with progress_bar("settling accounts", lambda: jobs.accounts_to_settle(moment)) as advance:
        run = exit_on_error(lambda: jobs.run_expiry(moment, advance))
    click.echo(f"released {run.released_points} points, expired {run.expired_points} points, "
               f"ended {run.ended_holds} holds")
