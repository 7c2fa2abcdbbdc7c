"""Jobs the operator runs from cron: release due points, expire old ones, end expired holds
(`expire`, hourly); pay the birthday bonuses (`bonuses run`, daily)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from pos_loyalty import bonuses, holds, ledger, lots, notify, tiers
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program


@dataclass(frozen=True)
class ExpiryRun:
    released_points: int
    expired_points: int
    ended_holds: int


def run_expiry(now: dt.datetime) -> ExpiryRun:
    """Every program, one account per transaction, so a long run never holds many locks:
    queue the expiry warnings, release due pending points, expire lots, end expired holds."""
    released = expired = ended = 0
    for program in run_in_transaction(lambda: db.session.scalars(select(Program)).all()):
        run_in_transaction(lambda: notify.queue_expiry_warnings(program, now))
        ctx = ledger.EntryContext(program_id=program.id, now=now, actor="expire job")
        for account_id in run_in_transaction(
                lambda: lots.accounts_with_pending_due(program.id, now)):
            released += run_in_transaction(lambda: ledger.release_pending(ctx, account_id))
        for account_id in run_in_transaction(
                lambda: lots.accounts_with_expiring_lots(program.id, now)):
            expired += run_in_transaction(lambda: ledger.expire_lots(ctx, account_id))
        ended += run_in_transaction(lambda: holds.sweep_expired_holds(program, now))
    return ExpiryRun(released, expired, ended)


@dataclass(frozen=True)
class BonusRun:
    birthdays_paid: int
    tiers_kept: int = 0
    tiers_lowered: int = 0
    tiers_raised: int = 0


def run_bonuses(now: dt.datetime) -> BonusRun:
    """Every program: pay the birthdays of the last few local days not paid yet
    (`bonuses.pay_birthdays`, one account per transaction), then judge the tiers whose
    qualification period ended (`tiers.requalify_due`). Safe to run twice, or after days
    without a run."""
    paid, judged = 0, tiers.TierRun()
    for program in run_in_transaction(lambda: db.session.scalars(select(Program)).all()):
        paid += bonuses.pay_birthdays(program, now)
        # A chunk of tiers per transaction: on 1 January a calendar-year program judges
        # every tier at once, and one transaction would hold every one of those locks.
        while run_in_transaction(lambda: tiers.judge_some(program, now, TIER_CHUNK, judged)):
            pass
    return BonusRun(paid, judged.kept, judged.lowered, judged.raised)


TIER_CHUNK = 500
