"""What an account holds as of now, read without writing: the one read every face shows.

Time moves balances without anyone asking: pending points pass their return window and
holds run out. A read counts those as they are now (`rules.balance_now`) instead of writing
the release first, so a look-up never takes a write lock and the till, the POS API and the
phone always show the same figures. The next write to the account writes the release
(`upkeep.bring_up_to_date`), and the hourly `pos-loyalty expire` job settles quiet accounts.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from pos_loyalty.db import db
from pos_loyalty.models import Account, Hold, PointLot, Program
from pos_loyalty.programs import local_day, local_day_start_utc
from pos_loyalty.rules import Balance, balance_now


def balance_of(account: Account, now: dt.datetime) -> Balance:
    """The account's available and pending points as of `now`, read in one statement (the
    cached balances fresh from the database, with what time has made due). The due pending
    points are read through ix_point_lot_pending, which holds pending lots only, so the read
    does not grow with the account's spent and released lots."""
    due_pending = select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
        PointLot.account_id == account.id, PointLot.released.is_(False),
        PointLot.available_at <= now).scalar_subquery()
    expired_holds = select(func.coalesce(func.sum(Hold.points), 0)).where(
        Hold.account_id == account.id, Hold.status == "active",
        Hold.expires_at <= now).scalar_subquery()
    row = db.session.execute(
        select(Account.available_points, Account.pending_points, due_pending, expired_holds)
        .where(Account.id == account.id)).one()
    return balance_now(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def next_expiry(program: Program, account: Account, now: dt.datetime) -> dict[str, Any] | None:
    """The first local day on which some spendable points expire, and how many.

    Two reads whatever the number of lots: the first expiry (the head of the account's
    (account_id, expires_at) index), then the sum of that local day's lots only."""
    spendable = (PointLot.account_id == account.id, PointLot.remaining > 0,
                 PointLot.expires_at.is_not(None),
                 PointLot.released.is_(True) | (PointLot.available_at <= now))
    first = db.session.scalar(select(PointLot.expires_at).where(*spendable)
                              .order_by(PointLot.expires_at).limit(1))
    if first is None:
        return None
    first_day = local_day(program, first)
    day_after = local_day_start_utc(program, first_day + dt.timedelta(days=1))
    points = db.session.scalar(select(func.sum(PointLot.remaining)).where(
        *spendable, PointLot.expires_at >= first, PointLot.expires_at < day_after))
    return {"date": first_day.isoformat(), "points": int(points)}
