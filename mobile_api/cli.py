"""`pos-loyalty programs ...` and `pos-loyalty promotions ...`: a program as its phone app
sees it."""
from __future__ import annotations

import datetime as dt
import sys
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from pos_loyalty import programs as program_service
from pos_loyalty.clock import now
from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Program, Promotion

from pos_loyalty.app_keys import create_app_key
from pos_loyalty.promotions import create_promotion

PROGRAM_OPTION = click.option("--program", "slug", default=None,
                              help="The program's slug (default: the first).")


def _program(slug: str | None) -> Program:
    """The named program, or the default one; an unknown slug ends the command (status 2)."""
    program = (db.session.scalar(select(Program).where(Program.slug == slug)) if slug
               else program_service.default_program())
    if program is None:
        click.echo(f"error: no program {slug!r}", err=True)
        sys.exit(2)
    return program


def _run(work):  # type: ignore[no-untyped-def]
    from pos_loyalty.cli import run_or_exit   # pos_loyalty.cli imports this module
    return run_or_exit(work)


@click.group(help="Programs (brands) and their phone apps.")
def programs() -> None:
    pass


@programs.command("app-key", help="Make a key for the program's phone app (X-App-Key); "
                                  "it is printed once, on the last line.")
@PROGRAM_OPTION
@click.option("--label", default="", help="What the key is for, e.g. 'iOS app'.")
@with_appcontext
def programs_app_key(slug: str | None, label: str) -> None:
    def work() -> tuple[str, str]:
        program = _program(slug)
        return program.slug, create_app_key(program, label)
    program_slug, key = _run(work)
    click.echo(f"app key for program {program_slug!r}; it is shown only now:")
    click.echo(key)


@click.group(help="Promotions: time-boxed offers the brand's phone app shows.")
def promotions() -> None:
    pass


WHEN_HELP = ("a date (2026-12-24) or a date and time (2026-12-24T18:00) in the program's time "
             "zone")


@promotions.command("create", help="Add a promotion; its id is printed on the last line. "
                                   "A date alone starts at the beginning of that day and ends "
                                   "at its end.")
@click.argument("title")
@click.option("--starts", required=True, metavar="WHEN", help=WHEN_HELP)
@click.option("--ends", required=True, metavar="WHEN", help=WHEN_HELP)
@click.option("--body", default="", help="The text under the title.")
@click.option("--image-url", default="", help="An image the app shows with it.")
@click.option("--campaign", "campaign_id", type=click.IntRange(min=1), default=None,
              metavar="ID", help="The campaign it announces (`pos-loyalty campaigns list`): "
                                 "the app shows its real terms.")
@PROGRAM_OPTION
@with_appcontext
def promotions_create(title: str, starts: str, ends: str, body: str, image_url: str,
                      campaign_id: int | None, slug: str | None) -> None:
    def work() -> int:
        program = _program(slug)
        return create_promotion(program, title, program_moment(program, starts, "starts"),
                                program_moment(program, ends, "ends"), body, image_url,
                                campaign_id).id
    promotion_id = _run(work)
    click.echo(f"promotion {promotion_id} created")
    click.echo(promotion_id)


@promotions.command("list", help="Promotions not over yet (all with --all), soonest end first; "
                                 "times in the program's time zone.")
@click.option("--all", "everything", is_flag=True, help="Past promotions too.")
@PROGRAM_OPTION
@with_appcontext
def promotions_list(everything: bool, slug: str | None) -> None:
    program = _program(slug)
    query = select(Promotion).where(Promotion.program_id == program.id)
    if not everything:
        query = query.where(Promotion.ends_at > now())
    zone = ZoneInfo(program.timezone)
    for promotion in db.session.scalars(query.order_by(Promotion.ends_at, Promotion.id)):
        starts, ends = (_local(moment, zone) for moment in (promotion.starts_at,
                                                             promotion.ends_at))
        click.echo(f"{promotion.id}\t{starts}\t{ends}\t{promotion.title}")


def program_moment(program: Program, text: str, field: str) -> dt.datetime:
    """`text` read in the program's time zone, as naive UTC; a bare date is the start of that
    day, or for "ends" the start of the next one, so that the whole day is included."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"--{field}: expected a date like 2026-12-24 or a date and time "
                               f"like 2026-12-24T18:00, not {text!r}.", field=field) from None
    if field == "ends" and len(text.strip()) == len("2026-12-24"):
        moment += dt.timedelta(days=1)
    return program_service.local_to_utc(program, moment)


def _local(moment: dt.datetime, zone: ZoneInfo) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")
