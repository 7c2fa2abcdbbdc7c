"""Member rollups (pos_loyalty.analytics.members): who bought when, kept by month.

Counting distinct members over any range of months cannot be summed from daily totals, and
the dashboard must never scan the sales. So the rollup step keeps one row per member and
month they bought (`MemberMonth`, per store and for every store as store 0), and from it, month
by month, small tables the dashboard reads: histograms from which the distinct and the repeat
buyers of any range of months are sums (`MemberReach`), the members last seen on each recent
day (`MemberLastDay`, whence the members active 30/90/365 days), each month's totals
(`MemberActivity`) and the cohorts (`CohortMonth`). Everything here is derived from the sales:
`pos-loyalty rollup --rebuild-from DATE` recomputes it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base

# store_id 0 stands for every store of the program together.


class MemberMonth(Base):
    """A member's purchases in one local month, at one store or at all (store 0), with what
    the month before it told (the member's previous month, first month, last day)."""
    __tablename__ = "member_month"

    # No foreign keys: checking them cost 9 us a row, the rows of a month come by the million,
    # and every row is derived from sales that have theirs.
    program_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(primary_key=True)
    purchases: Mapped[int]
    spent_minor: Mapped[int] = mapped_column(BigInteger)
    # The local day of the month's last purchase.
    last_day: Mapped[dt.date] = mapped_column(Date)
    # The month of the member's first purchase ever (at this store): the cohort.
    first_month: Mapped[dt.date] = mapped_column(Date)
    # The member's previous month with a purchase, and that month's row's repeat_month and
    # last_day: what this month's purchases move in the histograms.
    previous_month: Mapped[dt.date | None] = mapped_column(Date)
    # The latest month m such that the purchases from m to this month are 2 or more.
    repeat_month: Mapped[dt.date | None] = mapped_column(Date)
    previous_repeat_month: Mapped[dt.date | None] = mapped_column(Date)
    previous_last_day: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        # The member's earlier months, read when a month is built.
        Index("ix_member_month_member", "program_id", "store_id", "account_id", "month"),
        CheckConstraint("purchases > 0", name="purchases_positive"),
    )


class MemberReach(Base):
    """Histograms as of the end of `as_of_month`: `buyers` members whose last month with a
    purchase is `month`, `repeaters` members whose purchases from `month` on first reach 2 at
    `month`. Distinct (repeat) buyers from month a to `as_of_month` = the sum over month >= a."""
    __tablename__ = "member_reach"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(primary_key=True)
    as_of_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    buyers: Mapped[int]
    repeaters: Mapped[int]


class MemberLastDay(Base):
    """Members whose last purchase as of the end of `as_of_month` (or today in the current
    month) fell on `day`, for the days of the longest activity window only."""
    __tablename__ = "member_last_day"

    # Keyed by month first: only the step reads it, a month of every store at a time (keyed
    # by store first, each month's read walked the rows of every month kept).
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    as_of_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    members: Mapped[int]


class MemberActivity(Base):
    """One month of a store (0: every store): its buyers, purchases, spend and new members,
    and the members active in the 30, 90 and 365 days ending `as_of_day` (the month's last
    day, or today in the current month)."""
    __tablename__ = "member_activity"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    as_of_day: Mapped[dt.date] = mapped_column(Date)
    buyers: Mapped[int]
    purchases: Mapped[int]
    spent_minor: Mapped[int] = mapped_column(BigInteger)
    new_members: Mapped[int]
    active_30: Mapped[int]
    active_90: Mapped[int]
    active_365: Mapped[int]


class CohortMonth(Base):
    """The members of a cohort (first purchase in `first_month`) who bought in `month`, and
    those with a purchase in the `activity_window_months` months ending `month`."""
    __tablename__ = "cohort_month"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(primary_key=True)
    first_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    members: Mapped[int]
    active_members: Mapped[int]
