"""The checkout's first round trip: the key's claim, card, account (locked), its first lots,
and new ids.

A sale knows its balance after it before writing anything because it holds the account's row
lock: FOR NO KEY UPDATE on PostgreSQL (the lock its UPDATE takes anyway, which still lets other
rows name the account by foreign key); on SQLite every writer runs alone (BEGIN IMMEDIATE). The same
read takes the ids the sale's rows will carry, so that all its writes can go out together.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, exists, func, literal, literal_column, select

from pos_loyalty import lots, tiers
from pos_loyalty.db import db
from pos_loyalty.idempotency import Claim
from pos_loyalty.models import Account, Card, DailyIssuance, Hold, LedgerEntry, PointLot, Sale
from pos_loyalty.statements import Step, run_together

_issuance = DailyIssuance.__table__


@dataclass(frozen=True)
class LockedRead:
    """What the first round trip read: the card and account row (None: no such linked card),
    the first spendable lots (for a spend), and the rows of the `extras` steps, in order."""
    row: Any
    lots: list[tuple[int, int]]
    extras: list[list[tuple[Any, ...]]]


def read_locked(params: dict[str, Any], spends_lots: bool, claim: Claim | None = None,
                extras: Sequence[Step] = ()) -> LockedRead:
    """The locked row of card and account and, for a spend, the first lots; `extras` are
    more reads about the card's account (the tier's measure, campaign uses) that ride along.

    With a `claim`, the Idempotency-Key is claimed in the same round trip and checked first
    (AnsweredAlready). One statement on PostgreSQL, one by one on SQLite. In one statement
    the other reads see the database as it was when it began; if the account lock had to
    wait for another change, they may be older than the account row. The row says so (its
    version is not the one the statement began with: `lots_current`), and the caller reads
    again what it needs (`lots.spendable_lots` here; the extras, theirs).
    """
    locked = locked_statements()
    steps = [Step(locked.card_and_account, params)]
    if spends_lots:
        steps.append(Step(LOTS_OF_CARD, params))
    steps.extend(extras)
    if claim is not None:
        claimed, *outcomes = run_together([claim.step(), *steps])
        claim.check(claimed)
    else:
        outcomes = run_together(steps)
    extra_rows = [outcome.rows for outcome in outcomes[len(outcomes) - len(extras):]]
    if not outcomes[0].rows:
        return LockedRead(None, [], extra_rows)
    row = locked.row(*outcomes[0].rows[0])
    if not spends_lots:
        return LockedRead(row, [], extra_rows)
    if not row.lots_current:
        return LockedRead(row, lots.spendable_lots(row.account_id), extra_rows)
    ranked = sorted(outcomes[1].rows, key=lambda lot: lot[2])
    return LockedRead(row, [(lot_id, remaining) for lot_id, remaining, _ in ranked], extra_rows)


def next_entry_ids() -> tuple[int, int]:
    """Two more entry ids, for a sale whose hold capture wrote entries after the first read."""
    first, second = run_together([Step(locked_statements().next_ids_only, {})])[0].rows[0]
    return first, second


@dataclass(frozen=True)
class LockedStatements:
    card_and_account: Select
    next_ids_only: Select
    row: type


def locked_statements() -> LockedStatements:
    """The checkout's first read, for the engine in use (they take new ids differently)."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in _LOCKED:
        _LOCKED[dialect] = _build_locked_statements(dialect)
    return _LOCKED[dialect]


_LOCKED: dict[str, LockedStatements] = {}


def _build_locked_statements(dialect: str) -> LockedStatements:
    """Card, account (locked), what needs settling first, the day's issuance, and new ids;
    the card's kind and the live code's secret, for a spend (`proofs.TillEvidence`).

    Columns are named as on Account, so the SMS code can read the row as an account. The day's
    issuance is read without its lock: it only tells whether the sale's points surely fit.
    """
    sale_id, (entry_id, entry_id_2) = _next_ids(dialect)
    statement = (
        select(Card.id.label("card_id"), Card.status.label("card_status"),
               Card.kind.label("card_kind"),
               Account.id.label("account_id"), Account.status, Account.available_points,
               Account.pending_points, Account.phone_e164, Account.locale,
               Account.sms_opt_out, Account.sms_invalid, Account.live_code_secret,
               Account.tier, Account.referral_pending, Account.notify_channel,
               Account.push_devices, Account.wallet_passes,
               exists().where(Sale.account_id == Account.id, Sale.status == "completed")
               .label("has_sale"),
               case((Account.pending_points > 0, exists().where(
                   PointLot.account_id == Account.id, PointLot.released.is_(False),
                   PointLot.available_at <= bindparam("now"))), else_=False)
               .label("has_due_pending"),
               exists().where(Hold.account_id == Account.id, Hold.status == "active",
                              Hold.expires_at <= bindparam("now")).label("has_expired_hold"),
               select(_issuance.c.points).where(_issuance.c.program_id == Card.program_id,
                                                _issuance.c.day == bindparam("day"))
               .scalar_subquery().label("issued_today"),
               _lots_current(dialect).label("lots_current"),
               sale_id.label("next_sale_id"), entry_id.label("next_entry_id"),
               entry_id_2.label("next_entry_id_2"))
        .join(Account, Account.id == Card.account_id)
        .where(Card.program_id == bindparam("program_id"), Card.number == bindparam("number"))
        .with_for_update(of=Account.__table__, key_share=True))
    row = namedtuple("LockedCardAndAccount", list(statement.selected_columns.keys()))
    return LockedStatements(statement, select(entry_id, entry_id_2), row)


def _lots_current(dialect: str) -> Any:
    """True when the locked account row is the version the statement began with.

    Every change to lots updates the account row in the same transaction, so an unchanged
    row means unchanged lots. On PostgreSQL the row versions are told apart by `xmin`; SQLite
    runs one writer at a time, so what it reads is always current.
    """
    if dialect != "postgresql":
        return literal(True)
    seen = Account.__table__.alias("seen")
    return literal_column("account.xmin::text") == (
        select(literal_column("seen.xmin::text")).where(seen.c.id == Account.id)
        .scalar_subquery())


def _next_ids(dialect: str) -> tuple[Any, tuple[Any, Any]]:
    """A new sale id and two ledger entry ids, taken before the rows are written.

    PostgreSQL draws them from the tables' sequences; SQLite has none, but its writers run one
    at a time (BEGIN IMMEDIATE), so the ids after the largest are free.
    """
    if dialect == "postgresql":
        return (func.nextval("sale_id_seq"),
                (func.nextval("ledger_entry_id_seq"), func.nextval("ledger_entry_id_seq")))
    largest_entry = select(func.coalesce(func.max(LedgerEntry.id), 0)).scalar_subquery()
    largest_sale = select(func.coalesce(func.max(Sale.id), 0)).scalar_subquery()
    return largest_sale + 1, (largest_entry + 1, largest_entry + 2)


_card_account = (select(Card.account_id).where(Card.program_id == bindparam("program_id"),
                                               Card.number == bindparam("number"))
                 .scalar_subquery())
# The first spendable lots of the card's account, ranked: a statement's parts come back
# unordered. A customer gathers a lot per purchase, but a sale rarely draws on more than the
# oldest one or two; the ledger reads on when these fall short.
LOTS_FIRST_READ = 4
LOTS_OF_CARD = lots.spendable_lots_of(_card_account, LOTS_FIRST_READ).add_columns(
    func.row_number().over(order_by=lots.OLDEST_FIRST))


# Reads about the card's account that a sale with tiers or campaigns adds to its first trip.

def uses_of_card() -> Select:
    """How many times the card's account got each campaign."""
    return _USES_OF_CARD


def measure_of_card(rules: Any) -> Select:
    """The card's account's qualifying tier measure since :m_since (`tiers.measure_statement`)."""
    key = (rules.tier_measure, rules.bonuses_count_towards_tiers)
    if key not in _MEASURES:
        _MEASURES[key] = tiers.measure_statement(rules, _card_account)
    return _MEASURES[key]


_MEASURES: dict[tuple[str, bool], Select] = {}
# Every campaign the account ever got, through the partial index ix_ledger_entry_campaign_uses
# (campaign entries only, index-only on PostgreSQL). Counting only the running campaigns with a
# limit (a subquery on campaign: an expanding IN list cannot ride in the combined first read)
# was measured: the database spent 2 ms more per sale with "additive" campaigns.
_USES_OF_CARD = (
    select(LedgerEntry.campaign_id, func.count())
    .where(LedgerEntry.account_id == _card_account, LedgerEntry.kind == "campaign")
    .group_by(LedgerEntry.campaign_id))
