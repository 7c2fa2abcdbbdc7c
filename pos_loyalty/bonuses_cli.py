"""`pos-loyalty bonuses run`: the daily job of the program's bonuses, for cron."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from pos_loyalty.clock import now as clock_now
from pos_loyalty.usecases import jobs


def _moment(value: str | None) -> dt.datetime:
    """--now as naive UTC (the database's time): an ISO moment with an offset is converted,
    one without is read as UTC."""
    if value is None:
        return clock_now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("an ISO 8601 moment, e.g. 2026-03-09T08:00:00Z",
                                 param_hint="--now") from error
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


@click.group(help="Sign-up, birthday and referral bonuses.")
def bonuses() -> None:
    pass


@bonuses.command("run", help="Pay the birthday bonuses of the last 7 local days not paid yet "
                             "and judge the tiers whose period ended (run it daily; running "
                             "it twice pays and judges nothing twice).")
@click.option("--now", "at", default=None, metavar="ISO",
              help="Run as of this moment (ISO 8601; UTC without an offset).")
@with_appcontext
def bonuses_run(at: str | None) -> None:
    run = jobs.run_bonuses(_moment(at))
    click.echo(f"paid {run.birthdays_paid} birthday bonuses; tiers judged: {run.tiers_kept} "
               f"kept, {run.tiers_lowered} lowered, {run.tiers_raised} raised")
