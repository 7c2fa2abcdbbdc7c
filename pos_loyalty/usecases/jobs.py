"""Jobs the operator runs from cron: release due points, expire old ones, end expired holds
(`expire`, hourly); pay the birthday bonuses (`bonuses run`, daily)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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


# Accounts whose ids one read of the expire job fetches.
EXPIRY_CHUNK = 10_000


def run_expiry(now: dt.datetime, progress: Callable[[int], None] | None = None,
               accounts_per_chunk: int = EXPIRY_CHUNK) -> ExpiryRun:
    """Every program, one account per transaction, so a long run never holds many locks:
    queue the expiry warnings, release due pending points, expire lots, end expired holds.

    The accounts to settle are read `accounts_per_chunk` at a time, in id order, so a day
    when a million lots expire at once holds one chunk of ids in memory, not a million;
    `progress` is told how many accounts each chunk settled."""
    released = expired = ended = 0
    for program in run_in_transaction(lambda: db.session.scalars(select(Program)).all()):
        run_in_transaction(lambda: notify.queue_expiry_warnings(program, now))
        ctx = ledger.EntryContext(program_id=program.id, now=now, actor="expire job")
        released += _settle_each(lambda after: lots.accounts_with_pending_due(
            program.id, now, after, accounts_per_chunk),
            lambda account_id: ledger.release_pending(ctx, account_id), progress)
        expired += _settle_each(lambda after: lots.accounts_with_expiring_lots(
            program.id, now, after, accounts_per_chunk),
            lambda account_id: ledger.expire_lots(ctx, account_id), progress)
        ended += run_in_transaction(lambda: holds.sweep_expired_holds(program, now))
    return ExpiryRun(released, expired, ended)


def accounts_to_settle(now: dt.datetime) -> int:
    """How many account settlements run_expiry(now) makes (the length of its progress): the
    accounts with pending points due plus those with lots expired, over every program."""
    def count() -> int:
        return sum(lots.count_owners(lots.pending_lots_due(program.id, now))
                   + lots.count_owners(lots.expiring_lots(program.id, now))
                   for program in db.session.scalars(select(Program)))
    return run_in_transaction(count)


def _settle_each(chunk_after: Callable[[int], Sequence[int]], settle: Callable[[int], int],
                 progress: Callable[[int], None] | None) -> int:
    """Settle, one transaction each, the accounts `chunk_after(last id)` gives, chunk after
    chunk until one comes back empty; the points moved."""
    moved, after = 0, 0
    while chunk := run_in_transaction(lambda: chunk_after(after)):
        for account_id in chunk:
            moved += run_in_transaction(lambda: settle(account_id))
        if progress is not None:
            progress(len(chunk))
        after = chunk[-1]
    return moved


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
