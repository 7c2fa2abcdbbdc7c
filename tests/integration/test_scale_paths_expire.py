"""`pos-loyalty expire` settles accounts a chunk of ids at a time: the same points released
and expired as one pass, every account once, and the same line when piped; its reads go
through the partial indexes of migration 0015."""
import datetime as dt

import pytest
from sqlalchemy import text, update

from pos_loyalty import lots, verification
from pos_loyalty.db import db
from pos_loyalty.models import Account, PointLot
from pos_loyalty.notify.outbox import lots_to_warn, queue_expiry_warnings
from pos_loyalty.usecases import jobs
from pos_loyalty.usecases.jobs import ExpiryRun

WEEK_LATER = dt.timedelta(days=8)          # past the 7-day return window
YEAR_LATER = dt.timedelta(days=8 + 366)    # past the 12 months after the points came free


def three_customers_with_pending_points(shop) -> list[str]:
    """Three customers who earned 30, 40 and 50 points, pending for 7 days; a fourth with
    nothing."""
    shop.till.set_rules(pending_days=7)
    cards = [shop.customer() for _ in range(4)]
    for card, total_minor in zip(cards, (3000, 4000, 5000)):
        shop.sell(card, total_minor)
    return cards


def test_expire_in_chunks_releases_then_expires_every_account_once(shop):
    cards = three_customers_with_pending_points(shop)
    start = shop.now
    chunks: list[int] = []
    assert jobs.accounts_to_settle(start + WEEK_LATER) == 3
    assert jobs.run_expiry(start + WEEK_LATER, chunks.append,
                           accounts_per_chunk=2) == ExpiryRun(120, 0, 0)
    assert chunks == [2, 1]
    assert [shop.balance(card) for card in cards] == [
        {"available": 30, "pending": 0}, {"available": 40, "pending": 0},
        {"available": 50, "pending": 0}, {"available": 0, "pending": 0}]
    chunks.clear()
    assert jobs.accounts_to_settle(start + YEAR_LATER) == 3
    assert jobs.run_expiry(start + YEAR_LATER, chunks.append,
                           accounts_per_chunk=2) == ExpiryRun(0, 120, 0)
    assert chunks == [2, 1]
    assert jobs.accounts_to_settle(start + YEAR_LATER) == 0
    assert jobs.run_expiry(start + YEAR_LATER, accounts_per_chunk=1) == ExpiryRun(0, 0, 0)
    assert verification.verify_accounts() == []


def test_the_reads_page_through_accounts_in_id_order(shop):
    three_customers_with_pending_points(shop)
    ids = sorted(db.session.scalars(
        db.select(Account.id).where(Account.pending_points > 0)))
    due = shop.now + WEEK_LATER
    program_id = shop.till.program_id
    assert lots.accounts_with_pending_due(program_id, due) == ids
    assert lots.accounts_with_pending_due(program_id, due, after=ids[0], limit=1) == ids[1:2]
    assert lots.accounts_with_pending_due(program_id, shop.now) == []
    jobs.run_expiry(due)
    expired = shop.now + YEAR_LATER
    assert lots.accounts_with_expiring_lots(program_id, expired, after=ids[1]) == ids[2:]
    assert lots.accounts_with_expiring_lots(program_id, due) == []


def test_expire_piped_prints_one_line(shop, runner):
    three_customers_with_pending_points(shop)
    shop.now += WEEK_LATER
    result = runner.invoke(args=["expire"])
    assert (result.exit_code, result.output) == (
        0, "released 120 points, expired 0 points, ended 0 holds\n")


def plan_of(statement) -> str:
    """The PostgreSQL plan of a SQLAlchemy statement, sequential scans ruled out so that
    the plan shows whether an index can serve it at all (on an empty table any would do)."""
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(text("EXPLAIN " + sql)))
    db.session.rollback()
    return plan


def test_the_expire_reads_use_the_partial_indexes(shop):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are read on PostgreSQL")
    now = dt.datetime(2026, 3, 9, 10, 0)
    program_id = shop.till.program_id
    assert "ix_point_lot_expiring" in plan_of(
        lots.expiring_lots(program_id, now).group_by(PointLot.account_id))
    assert "ix_point_lot_pending" in plan_of(
        lots.pending_lots_due(program_id, now).group_by(PointLot.account_id))


def test_warnings_are_read_for_customers_who_may_be_texted_only(shop):
    cards = [shop.customer(points) for points in (100, 200, 300)]
    ids = [shop.look_up(card)["account"]["id"] for card in cards]
    db.session.execute(update(Account).where(Account.id == ids[1]).values(sms_opt_out=True))
    db.session.execute(update(Account).where(Account.id == ids[2]).values(status="closed"))
    db.session.commit()
    week_before = shop.now + dt.timedelta(days=365 - 7)   # 12 months after, less a week
    found = [(account_id, remaining, expires_at) for account_id, _, remaining, expires_at
             in lots_to_warn(shop.program, week_before, 14)]
    assert found == [(ids[0], 100, dt.datetime(2027, 3, 9, 10, 0))]
    assert lots_to_warn(shop.program, week_before, 6) == []
    assert queue_expiry_warnings(shop.program, week_before) == 1
    assert lots_to_warn(shop.program, week_before, 14) == []
