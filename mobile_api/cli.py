"""`pos-loyalty programs ...`: commands about a program as its phone app sees it."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from pos_loyalty import programs as program_service
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program

from mobile_api.app_keys import create_app_key


@click.group(help="Programs (brands) and their phone apps.")
def programs() -> None:
    pass


@programs.command("app-key", help="Make a key for the program's phone app (X-App-Key); "
                                  "it is printed once, on the last line.")
@click.option("--program", "slug", default=None, help="The program's slug (default: the first).")
@click.option("--label", default="", help="What the key is for, e.g. 'iOS app'.")
@with_appcontext
def programs_app_key(slug: str | None, label: str) -> None:
    def work() -> tuple[str, str]:
        program = (db.session.scalar(select(Program).where(Program.slug == slug)) if slug
                   else program_service.default_program())
        if program is None:
            click.echo(f"error: no program {slug!r}", err=True)
            sys.exit(2)
        return program.slug, create_app_key(program, label)
    program_slug, key = run_in_transaction(work)
    click.echo(f"app key for program {program_slug!r}; it is shown only now:")
    click.echo(key)
