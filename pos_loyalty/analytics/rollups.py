"""Running the rollup steps: for each program and step, from where it stopped to today."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from pos_loyalty import analytics
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, LedgerEntry, Program, RollupRun
from pos_loyalty.programs import local_day


@dataclass(frozen=True)
class StepRun:
    program_slug: str
    step: str
    since: dt.date
    done_through: dt.date


def start_day(program: Program, step: str, now: dt.datetime, rebuild_from: dt.date | None,
              overlap_days: int) -> dt.date:
    """Where a step starts: `rebuild_from` when asked, else a few days before the last day
    it finished (late delivery reports, prices), else the day of the first thing to count."""
    if rebuild_from is not None:
        return rebuild_from
    done = db.session.scalar(select(RollupRun.done_through).where(
        RollupRun.program_id == program.id, RollupRun.step == step))
    if done is not None:
        return done - dt.timedelta(days=overlap_days - 1)
    return local_day(program, first_moment(program))


def first_moment(program: Program) -> dt.datetime:
    """The earliest thing a rollup counts: the program's creation, or an older account or
    ledger entry (imported members, history loaded before the first run)."""
    moments = [program.created_at, *(
        db.session.scalar(select(db.func.min(column)).where(owner == program.id))
        for column, owner in ((Account.created_at, Account.program_id),
                              (LedgerEntry.created_at, LedgerEntry.program_id)))]
    return min(moment for moment in moments if moment is not None)


def run_rollups(now: dt.datetime, rebuild_from: dt.date | None = None) -> list[StepRun]:
    """Every program, every step in order; each step commits its own transactions."""
    overlap = current_app.config["LOYALTY"]["analytics"]["rollup_overlap_days"]
    runs = []
    for program in run_in_transaction(lambda: db.session.scalars(
            select(Program).order_by(Program.id)).all()):
        for name, step in analytics.steps_in_order():
            since = run_in_transaction(
                lambda: start_day(program, name, now, rebuild_from, overlap))
            done_through = step(program, since, now)
            run_in_transaction(lambda: _record(program.id, name, done_through, now))
            runs.append(StepRun(program.slug, name, since, done_through))
    return runs


def _record(program_id: int, step: str, done_through: dt.date, now: dt.datetime) -> None:
    run = db.session.get(RollupRun, (program_id, step))
    if run is None:
        db.session.add(RollupRun(program_id=program_id, step=step, done_through=done_through,
                                 ran_at=now))
    else:
        run.done_through, run.ran_at = done_through, now


def last_run_at(program: Program) -> dt.datetime | None:
    """When the rollups last ran for the program (the dashboard says how fresh it is)."""
    return db.session.scalar(select(db.func.max(RollupRun.ran_at)).where(
        RollupRun.program_id == program.id))
