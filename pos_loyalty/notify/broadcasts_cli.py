"""`pos-loyalty notify send|resume|cancel`: messages to a segment of customers.

`send` prints the broadcast's id on its last line; `--dry-run` only counts who it reaches.
"""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.cli import exit_on_error, run_or_exit
from pos_loyalty.clock import now
from pos_loyalty.db import db
from pos_loyalty.models import Broadcast, Program
from pos_loyalty.usecases import broadcasts
from pos_loyalty.usecases.broadcasts import BroadcastForm

CLI_ACTOR = "cli"
PROGRAM_OPTION = click.option("--program", "slug", default=None,
                              help="The program's slug (default: the first).")


def _program(slug: str | None) -> Program:
    """The named program, or the default one; an unknown slug ends the command (status 2)."""
    program = (db.session.scalar(select(Program).where(Program.slug == slug)) if slug
               else run_or_exit(programs.default_program))
    if program is None:
        click.echo(f"error: no program {slug!r}", err=True)
        sys.exit(2)
    return program


def _report(program: Program, broadcast: Broadcast) -> None:
    click.echo(f"broadcast {broadcast.id} {broadcast.status}: {broadcast.accounts} accounts, "
               f"{broadcast.push_rows} push, {broadcast.sms_rows} SMS, "
               f"{broadcast.skipped} reached by neither")
    if broadcast.status == "writing":
        click.echo(f"not finished: pos-loyalty notify resume --program {program.slug} "
                   f"{broadcast.id}", err=True)
    click.echo(broadcast.id)


@click.group("notify", help="Messages to a segment of customers, by push or SMS as each "
                            "customer chose (docs/broadcasts.md).")
def notify_group() -> None:
    pass


@notify_group.command("send", help="Send a message to a segment: all, tier:<key>, "
                                   "store:<id> or inactive:<days>. Prints its id last.")
@PROGRAM_OPTION
@click.option("--segment", required=True, help="all, tier:gold, store:3, inactive:90")
@click.option("--title", required=True, help="The push's title (65 characters at most).")
@click.option("--text-fr", default="", help="The text in French (480 characters at most).")
@click.option("--text-en", default="", help="... in English.")
@click.option("--push-only", is_flag=True, help="Only customers a push reaches: no SMS.")
@click.option("--dry-run", is_flag=True, help="Count who it reaches; write nothing.")
@click.option("--actor", default=CLI_ACTOR, help="Who sends it, for the audit log.")
@with_appcontext
def send_command(slug: str | None, segment: str, title: str, text_fr: str, text_en: str,
                 push_only: bool, dry_run: bool, actor: str) -> None:
    program = _program(slug)
    form = BroadcastForm(title, {"fr": text_fr, "en": text_en}, segment, push_only)
    if dry_run:
        preview = exit_on_error(lambda: broadcasts.preview(program, form, now()))
        counts = preview.counts
        click.echo(f"segment {preview.segment}: {counts['accounts']} accounts, "
                   f"{counts['push']} by push, {counts['sms']} by SMS, "
                   f"{counts['none']} reached by neither (dry run: nothing written)")
        return
    _report(program, exit_on_error(lambda: broadcasts.send(program, form, now(), actor)))


@notify_group.command("resume", help="Write the rest of a broadcast that stopped half-way.")
@PROGRAM_OPTION
@click.argument("broadcast_id", type=int)
@with_appcontext
def resume_command(slug: str | None, broadcast_id: int) -> None:
    program = _program(slug)
    _report(program, exit_on_error(lambda: broadcasts.write_more(program, broadcast_id, now())))


@notify_group.command("cancel", help="Stop a broadcast and cancel its messages not sent yet.")
@PROGRAM_OPTION
@click.argument("broadcast_id", type=int)
@click.option("--actor", default=CLI_ACTOR, help="Who cancels it, for the audit log.")
@with_appcontext
def cancel_command(slug: str | None, broadcast_id: int, actor: str) -> None:
    program = _program(slug)
    cancelled = exit_on_error(lambda: broadcasts.cancel(program, broadcast_id, now(), actor))
    click.echo(f"broadcast {broadcast_id} cancelled; {cancelled} messages not sent yet are "
               "cancelled")
