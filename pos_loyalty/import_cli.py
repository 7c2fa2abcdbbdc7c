"""`pos-loyalty import members FILE`: members from another system, from the command line.

Exit status: 0 when every line is good, 1 when some lines are bad (each is listed with its
line number and reason; an import wrote the good ones all the same), 2 when the file cannot
be read at all (nothing is written). The same for a dry run and an import, so a script can
run `--dry-run` first and import only on 0.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from pos_loyalty import programs
from pos_loyalty.cli import exit_on_error, run_or_exit
from pos_loyalty.clock import now
from pos_loyalty.usecases import member_import


@click.group("import", help="Bring data from another system.")
def import_group() -> None:
    pass


@import_group.command(
    "members",
    help="Import members from a CSV (UTF-8, `,` or `;`): columns phone, first_name, "
         "card_number, points, email, birthday, language, opt_in (or their French names). "
         "Members whose phone has an account already are skipped, so running it again is "
         "safe. Exit 0: every line good; 1: some lines bad (listed); 2: unreadable file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Check every line and say what would be imported; write nothing.")
@click.option("--notify", is_flag=True,
              help="Queue each new member's balance SMS (default: no SMS at all).")
@click.option("--actor", default="cli", show_default=True,
              help="Who the audit trail and the ledger name.")
@with_appcontext
def import_members(file: Path, dry_run: bool, notify: bool, actor: str) -> None:
    program = run_or_exit(programs.default_program)
    bar = ProgressBar("Checking" if dry_run else "Importing")
    with file.open("rb") as source:
        if dry_run:
            report = exit_on_error(lambda: member_import.check_members(
                program, source, file.name, now(), progress=bar))
        else:
            report = exit_on_error(lambda: member_import.import_members(
                program, source, file.name, now(), actor, notify=notify, progress=bar))
    bar.close()
    for bad in report.bad_lines:
        click.echo(f"line {bad.line}: {bad.code}: {bad.sentence}")
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    click.echo(summary(report))
    sys.exit(1 if report.bad_lines else 0)


def summary(report: member_import.ImportReport) -> str:
    done = "would import" if report.dry_run else "imported"
    texts = "" if report.dry_run else f", {report.texts} SMS queued"
    return (f"{report.file_name}: {report.rows} rows; {done} {report.imported} members with "
            f"{report.points} points{texts}; skipped {report.skipped} (their phone has an "
            f"account already); {len(report.bad_line_numbers)} bad lines")


class ProgressBar:
    """click's progress bar on a terminal, opened once the number of members is known;
    nothing when the output goes to a file or a pipe."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
