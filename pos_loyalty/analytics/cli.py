"""`pos-loyalty rollup`: keep the analytics rollups up to date (cron); `pos-loyalty report
liability --at DATE`: the liability as CSV for accounting."""
from __future__ import annotations

import csv
import datetime as dt
import sys
from decimal import Decimal

import click
from flask.cli import with_appcontext

from pos_loyalty.analytics.liability import expiry_label, liability_report
from pos_loyalty.analytics.rollups import run_rollups
from pos_loyalty.cli import exit_on_error
from pos_loyalty.clock import now
from pos_loyalty.rules import currency_exponent


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


@click.group("report", help="Reports for accounting, as CSV on standard output.")
def report() -> None:
    pass


@report.command("liability", help="The points outstanding at the end of a local day, by the "
                "month their lots expire: available and pending points and what they pay at "
                "the redemption rate (CSV, with a total line).")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The local day (YYYY-MM-DD) whose end the liability is taken at.")
@click.option("--program", "slug", default=None, help="The program's slug (default: the "
              "first program).")
@with_appcontext
def report_liability(at: dt.datetime, slug: str | None) -> None:
    result = exit_on_error(lambda: liability_report(slug, at.date()))
    exponent = currency_exponent(result.program.currency)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["expiry_month", "available_points", "pending_points", "value_minor",
                  f"value_{result.program.currency}"])
    for aged, value_minor in result.rows:
        out.writerow([expiry_label(aged.expiry_month), aged.available, aged.pending,
                      value_minor, Decimal(value_minor).scaleb(-exponent)])
    out.writerow(["total", result.total.available, result.total.pending, result.total_minor,
                  Decimal(result.total_minor).scaleb(-exponent)])
