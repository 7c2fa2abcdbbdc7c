"""VIP tiers: the qualifying measure, moving up at a sale, judged again when a period ends.

The ladder is a program rule (`[rules] tiers`, read by `rules.tier_ladder`); what a tier
changes in a sale's points is `rules.tier_extra_points`. This module reads and writes the
account's tier:

- the **measure** is summed from the ledger (points) or the sales (money) over the
  qualification window, so it is never a second copy to keep right;
- a sale that crosses a threshold **moves the customer up** at once (the sale itself earned
  at the old tier); the change is recorded in `tier_change` and told by SMS;
- **down** only when the period ends short (`requalify_due`, the nightly `bonuses run`), or
  after a return if the program says so (`tier_lowered_by_returns`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, update

from pos_loyalty import audit, notify
from pos_loyalty.wallet.updates import queue_wallet_update
from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models.ledger import BONUS_ENTRY_KINDS
from pos_loyalty.models import Account, LedgerEntry, Program, Sale, SaleReturn, TierChange
from pos_loyalty.programs import local_to_utc, rules_for, settings, utc_to_local
from pos_loyalty.rules import (
    ProgramRules, TierRung, add_months, is_higher, rung_above, rung_named, rung_reached,
    tier_judged, tier_kept_until, tier_window_start,
)

# Entries that make the "points" measure: what sales earned, net of what returns and voids
# took back; with bonuses_count_towards_tiers, the bonuses too.
SALE_POINT_KINDS = ("earn", "campaign", "return_reverse", "void_reverse")


def measure_kinds(rules: ProgramRules) -> tuple[str, ...]:
    return SALE_POINT_KINDS + (BONUS_ENTRY_KINDS if rules.bonuses_count_towards_tiers else ())


def measure_statement(rules: ProgramRules, account: ColumnElement[Any] | Any) -> Select:
    """The qualifying measure of `account` (an id or an expression) since :m_since."""
    since = bindparam("m_since")
    if rules.tier_measure == "money":
        paid = (select(func.coalesce(func.sum(Sale.cash_minor), 0))
                .where(Sale.account_id == account, Sale.kind == "sale",
                       Sale.status == "completed", Sale.created_at >= since)
                .scalar_subquery())
        refunded = (select(func.coalesce(func.sum(SaleReturn.refund_cash_minor), 0))
                    .join(Sale, Sale.id == SaleReturn.sale_id)
                    .where(Sale.account_id == account, Sale.status == "completed",
                           SaleReturn.created_at >= since)
                    .scalar_subquery())
        return select(paid - refunded)
    # Kinds one by one, not IN (...): an expanding list cannot ride in the sale's combined
    # first read (`statements`).
    kinds = or_(*(LedgerEntry.kind == kind for kind in measure_kinds(rules)))
    return select(func.coalesce(func.sum(LedgerEntry.points + LedgerEntry.pending_delta), 0)
                  .label("measure")).where(LedgerEntry.account_id == account, kinds,
                                           LedgerEntry.created_at >= since)


def window_start(program: Program, now: dt.datetime) -> dt.datetime:
    """Naive UTC from which the measure counts at `now`."""
    return local_to_utc(program, tier_window_start(rules_for(program),
                                                   utc_to_local(program, now)))


def measure_of(program: Program, account_id: int, now: dt.datetime,
               since: dt.datetime | None = None) -> int:
    rules = rules_for(program)
    return int(db.session.scalar(measure_statement(rules, account_id),
                                 {"m_since": since or window_start(program, now)}) or 0)


def sale_contribution(rules: ProgramRules, points_earned: int, cash_minor: int) -> int:
    """What one sale adds to the measure."""
    return cash_minor if rules.tier_measure == "money" else points_earned


# --- moving -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TierMove:
    """A tier change to record: from and to (keys; None below the first rung), and why."""
    account_id: int
    old: str | None
    new: TierRung | None
    reason: str
    measure: int


def move_up_after_sale(program: Program, account_id: int, current: str | None,
                       measure_after: int) -> TierMove | None:
    """The move a sale causes when the measure with it reaches a higher rung, else None."""
    reached = rung_reached(rules_for(program).tiers, measure_after)
    if not is_higher(rules_for(program).tiers, reached, current):
        return None
    return TierMove(account_id, current, reached, "reached", measure_after)


def record_move(program: Program, move: TierMove, now: dt.datetime, *, sale_id: int | None = None,
                until: dt.datetime | None = None, account: Any = None) -> None:
    """Write the move on the account and in its history, and tell the customer (not for
    "kept", which changes nothing they see). `account`: anything with the SMS columns."""
    rules = rules_for(program)
    if move.new is None:
        until = None
    else:
        until = until or local_to_utc(program, tier_kept_until(rules, utc_to_local(program, now)))
    values = {"tier": move.new.key if move.new else None, "tier_until": until}
    wallet_passes = db.session.execute(update(Account).where(Account.id == move.account_id)
                                       .values(**values).returning(Account.wallet_passes)).scalar()
    if wallet_passes and values["tier"] != move.old:   # the passes show the tier
        queue_wallet_update(program.id, move.account_id, now)
    db.session.add(TierChange(program_id=program.id, account_id=move.account_id,
                              from_tier=move.old, to_tier=values["tier"], reason=move.reason,
                              measure=move.measure, sale_id=sale_id, created_at=now))
    if move.reason in ("reached", "lowered", "return"):
        _tell(program, move, now, account)
    db.session.flush()


def _tell(program: Program, move: TierMove, now: dt.datetime, account: Any) -> None:
    row = account if account is not None else db.session.get(Account, move.account_id)
    notify.queue_event(program, row, "tier", now,
                       {"tier": move.new.key if move.new else None, "from": move.old,
                        "reason": move.reason}, account_id=move.account_id)


def after_return(program: Program, account_id: int, now: dt.datetime) -> TierMove | None:
    """With tier_lowered_by_returns, a return that brings the measure under the tier's
    threshold lowers it at once (to what the measure reaches); otherwise nothing."""
    rules = rules_for(program)
    if not rules.tier_lowered_by_returns or not rules.tiers:
        return None
    account = db.session.get(Account, account_id)
    current = rung_named(rules.tiers, account.tier)
    if current is None:
        return None
    measure = measure_of(program, account_id, now)
    if measure >= current.threshold:
        return None
    move = TierMove(account_id, account.tier, rung_reached(rules.tiers, measure), "return",
                    measure)
    record_move(program, move, now)
    return move


# --- the nightly judgment -----------------------------------------------------------------------

@dataclass
class TierRun:
    kept: int = 0
    lowered: int = 0
    raised: int = 0

    @property
    def judged(self) -> int:
        return self.kept + self.lowered + self.raised


def requalify_due(program: Program, now: dt.datetime, *, chunk: int = 500) -> TierRun:
    """Judge every tier whose period ended by `now`, on the window that ended with it, in
    the caller's transaction (the nightly job commits a chunk at a time: `judge_some`).

    Idempotent: a judged tier gets its next date, so a second run finds nothing; a run after
    missed days judges each tier on its own period, not on the day the job ran, and after
    missed periods judges each period in turn.
    """
    run = TierRun()
    while judge_some(program, now, chunk, run):
        pass
    return run


def judge_some(program: Program, now: dt.datetime, limit: int, run: TierRun) -> int:
    """Judge up to `limit` tiers that are due, oldest accounts first; how many were judged
    (0: none is due). A judged tier's next date is later, or it has none, so calls progress."""
    due = db.session.execute(
        select(Account.id, Account.tier, Account.tier_until)
        .where(Account.program_id == program.id, Account.tier.is_not(None),
               Account.tier_until <= now)
        .order_by(Account.id).limit(limit)).all()
    for account_id, tier, until in due:
        _judge(program, account_id, tier, until, now, run)
    return len(due)


def _judge(program: Program, account_id: int, tier: str, until: dt.datetime, now: dt.datetime,
           run: TierRun) -> None:
    rules = rules_for(program)
    local_until = utc_to_local(program, until)
    # The period just after the moment it starts: the sale that reached the tier at that
    # very moment qualified it for this period, not for the next one too.
    since = local_to_utc(program, _period_start(rules, local_until)) + ONE_TICK
    measure = int(db.session.scalar(measure_statement(rules, account_id), {"m_since": since})
                  or 0)
    rung, reason = tier_judged(rules.tiers, tier, measure)
    next_until = local_to_utc(program, _next_judgment(rules, local_until))
    counter = {"kept": "kept", "lowered": "lowered", "reached": "raised"}[reason]
    setattr(run, counter, getattr(run, counter) + 1)
    record_move(program, TierMove(account_id, tier, rung, reason, measure), now,
                until=next_until)


ONE_TICK = dt.timedelta(microseconds=1)


def _period_start(rules: ProgramRules, local_until: dt.datetime) -> dt.datetime:
    """The start of the period that ends at `local_until`."""
    if rules.tier_period_months == 0:
        return dt.datetime(local_until.year - 1, 1, 1)
    return add_months(local_until, -rules.tier_period_months)


def _next_judgment(rules: ProgramRules, local_until: dt.datetime) -> dt.datetime:
    if rules.tier_period_months == 0:
        return dt.datetime(local_until.year + 1, 1, 1)
    return add_months(local_until, rules.tier_period_months)


# --- the ladder ---------------------------------------------------------------------------------

TIER_SETTINGS = ("tiers", "tier_measure", "tier_period_months", "tier_lowered_by_returns",
                 "bonuses_count_towards_tiers")


def set_ladder(program: Program, given: Mapping[str, Any], now: dt.datetime,
               actor: str) -> tuple[TierRung, ...]:
    """A program's ladder and its tier settings, from a TOML file's tables (`tiers = [...]`
    and any of TIER_SETTINGS), checked whole before anything changes; then every account
    is placed on it by its measure (`place_accounts`)."""
    rules, _checked = _ladder_rules(program, given)
    before = {k: (program.rules or {}).get(k) for k in TIER_SETTINGS}
    program.rules = rules
    db.session.flush()
    audit.record(program, actor, "tiers_set", f"program:{program.id}", now, before=before,
                   after={k: rules.get(k) for k in TIER_SETTINGS})
    return rules_for(program).tiers


def _ladder_rules(program: Program, given: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                        ProgramRules]:
    """The program's rules with `given` over them, checked whole: (as stored, as read)."""
    unknown = sorted(set(given) - set(TIER_SETTINGS))
    if unknown:
        raise ValidationFailed(f"Unknown tier setting {unknown[0]!r}; allowed: "
                               f"{', '.join(TIER_SETTINGS)}.", field=unknown[0])
    if "tiers" not in given:
        raise ValidationFailed("The file needs a tiers list (tiers = [] removes the ladder).",
                               field="tiers")
    rules = {**(program.rules or {}), **{k: given[k] for k in TIER_SETTINGS if k in given}}
    try:
        return rules, ProgramRules.from_settings({**settings()["rules"], **rules})
    except (ValueError, TypeError) as error:
        raise ValidationFailed(str(error), field="tiers") from None


def placed_rung(ladder: tuple[TierRung, ...], tier: str | None,
                measure: int) -> tuple[TierRung | None, bool]:
    """Where `place_accounts` puts an account of this tier and measure: (its rung then,
    whether it moves). Up to what the measure reaches; a tier the ladder lost is left for
    what the measure reaches; else the tier stays until its period ends."""
    reached = rung_reached(ladder, measure)
    gone = tier is not None and rung_named(ladder, tier) is None
    if gone or is_higher(ladder, reached, tier):
        return reached, True
    return rung_named(ladder, tier), False


def place_accounts(program: Program, now: dt.datetime, *, chunk: int = 1000) -> int:
    """Move every account to the rung its measure reaches now, where that is higher (after a
    new ladder, or accounts that earned before tiers existed); tiers above the measure stay
    until their period ends. Reached this way, no SMS is sent. Returns how many moved."""
    rules = rules_for(program)
    if not rules.tiers:
        return _drop_all(program, now)
    moved = 0
    for account_id, tier, measure in _accounts_measured(program, rules, now, chunk):
        reached, moves = placed_rung(rules.tiers, tier, measure)
        if moves:
            record_move(program, TierMove(account_id, tier, reached, "set", measure), now)
            moved += 1
    return moved


def placement_preview(program: Program, given: Mapping[str, Any], now: dt.datetime, *,
                      chunk: int = 1000) -> dict[str | None, int]:
    """How many open accounts each tier key would hold (None: no tier) once `given` is set
    and `place_accounts` has run; checked as `set_ladder` checks it; nothing is written."""
    _stored, rules = _ladder_rules(program, given)
    counts: dict[str | None, int] = {rung.key: 0 for rung in rules.tiers}
    counts[None] = 0
    for _account_id, tier, measure in _accounts_measured(program, rules, now, chunk):
        rung = placed_rung(rules.tiers, tier, measure)[0] if rules.tiers else None
        counts[rung.key if rung else None] += 1
    return counts


def tier_counts(program: Program) -> dict[str | None, int]:
    """How many open accounts hold each tier now (None: no tier)."""
    rows = db.session.execute(
        select(Account.tier, func.count()).where(Account.program_id == program.id,
                                                 Account.status != "closed")
        .group_by(Account.tier)).all()
    return {tier: count for tier, count in rows}


def _accounts_measured(program: Program, rules: ProgramRules, now: dt.datetime,
                       chunk: int) -> Iterator[tuple[int, str | None, int]]:
    """(id, tier, measure under `rules`) of every open account, a chunk of reads at a time."""
    since = local_to_utc(program, tier_window_start(rules, utc_to_local(program, now)))
    after_id = 0
    while True:
        rows = db.session.execute(
            select(Account.id, Account.tier).where(Account.program_id == program.id,
                                                   Account.status != "closed",
                                                   Account.id > after_id)
            .order_by(Account.id).limit(chunk)).all()
        if not rows:
            return
        measures = _measures(rules, [r[0] for r in rows], since)
        for account_id, tier in rows:
            yield account_id, tier, measures.get(account_id, 0)
        after_id = rows[-1][0]


def _drop_all(program: Program, now: dt.datetime) -> int:
    """No ladder: every tier ends, each change recorded."""
    holders = db.session.execute(select(Account.id, Account.tier).where(
        Account.program_id == program.id, Account.tier.is_not(None))).all()
    for account_id, tier in holders:
        record_move(program, TierMove(account_id, tier, None, "set", 0), now)
    return len(holders)


def _measures(rules: ProgramRules, account_ids: list[int], since: dt.datetime) -> dict[int, int]:
    """The measure of many accounts in one statement."""
    if rules.tier_measure == "money":
        return {account_id: int(db.session.scalar(measure_statement(rules, account_id),
                                                  {"m_since": since}) or 0)
                for account_id in account_ids}
    rows = db.session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.points + LedgerEntry.pending_delta))
        .where(LedgerEntry.account_id.in_(account_ids),
               LedgerEntry.kind.in_(measure_kinds(rules)), LedgerEntry.created_at >= since)
        .group_by(LedgerEntry.account_id)).all()
    return {account_id: int(total or 0) for account_id, total in rows}


# --- what the faces show --------------------------------------------------------------------------

def rung_view(rung: TierRung | None, language: str) -> dict[str, Any] | None:
    if rung is None:
        return None
    return {"key": rung.key, "name": rung.name(language), "threshold": rung.threshold,
            "multiplier": str(rung.multiplier), "perks": rung.perk(language)}


def ladder_view(program: Program, language: str) -> dict[str, Any]:
    """The ladder as the phone's branding and the till show it."""
    rules = rules_for(program)
    return {"measure": rules.tier_measure, "period_months": rules.tier_period_months,
            "tiers": [rung_view(rung, language) for rung in rules.tiers]}


def progress(program: Program, account: Account, now: dt.datetime,
             language: str) -> dict[str, Any]:
    """Where the customer stands: the tier, the measure so far, what the next tier needs,
    and when the tier is judged again (a local date)."""
    rules = rules_for(program)
    current = rung_named(rules.tiers, account.tier)
    measure = measure_of(program, account.id, now) if rules.tiers else 0
    above = rung_above(rules.tiers, current.key if current else None)
    until = account.tier_until if current is not None else None
    return {
        "tier": rung_view(current, language),
        "measure": measure, "measure_kind": rules.tier_measure,
        "next_tier": rung_view(above, language),
        "to_next": max(0, above.threshold - measure) if above else None,
        "requalify_on": utc_to_local(program, until).date().isoformat() if until else None,
    }


def short_view(program: Program, tier: str | None, language: str) -> dict[str, Any] | None:
    """The tier in a card or quote answer: key and name, or None."""
    rung = rung_named(rules_for(program).tiers, tier)
    return {"key": rung.key, "name": rung.name(language)} if rung else None

