"""`pos-loyalty rollup`: keep the analytics rollups up to date (cron)."""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.clock import now


@click.command("rollup", help="Bring the analytics rollups up to today: every day since the "
               "last run (missed days too); a re-run changes nothing. Run it from cron.")
@click.option("--rebuild-from", "rebuild_from", type=click.DateTime(["%Y-%m-%d"]),
              default=None, help="Recompute every day from this local date (YYYY-MM-DD).")
@with_appcontext
def rollup_command(rebuild_from: dt.datetime | None) -> None:
    runs = run_rollups(now(), rebuild_from.date() if rebuild_from else None)
    for run in runs:
        click.echo(f"{run.program_slug}: {run.step}: {run.since.isoformat()} to "
                   f"{run.done_through.isoformat()}")
    click.echo(f"ok: {len(runs)} rollup steps ran")
