"""Daily rollups (pos_loyalty.analytics.daily): what happened in a program on each local day,
per store, so that the dashboard reads a few hundred rows instead of the ledger.

Every row is derived data, recomputed whole from the sales, the ledger, the accounts, the tills'
reports and the outbox by `pos-loyalty rollup`; store 0 stands for "outside any store" (the
app's bonuses, expiry, imports), so a program's figure is the sum over every store_id.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base

# Store id of what happened outside any store.
NO_STORE = 0
# Expiry month of the liability's lots that never expire (a key cannot be NULL).
NEVER_EXPIRES = dt.date(9999, 12, 1)


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class RollupDay(Base):
    """One program's day at one store: sales, returns, points by kind, enrolments by channel,
    receipts without a card and SMS. Every column adds up over days and stores."""
    __tablename__ = "rollup_day"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # Not a foreign key: 0 is no store.
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Completed sales (not voided) and what they came to; those that spent points.
    sales: Mapped[int] = _counter()
    sales_minor: Mapped[int] = _counter()
    sales_with_points: Mapped[int] = _counter()
    sales_with_points_minor: Mapped[int] = _counter()
    cash_minor: Mapped[int] = _counter()
    redeemed_minor: Mapped[int] = _counter()
    # Returns on their own day, at the store of the sale they return.
    returns: Mapped[int] = _counter()
    returned_minor: Mapped[int] = _counter()
    # Points as pos_loyalty.program_figures adds up the ledger's kinds: issued is earned +
    # campaign + bonus (before returns); redeemed is net of what returns and voids gave back.
    points_earned: Mapped[int] = _counter()
    points_campaign: Mapped[int] = _counter()
    points_bonus: Mapped[int] = _counter()
    points_redeemed: Mapped[int] = _counter()
    points_expired: Mapped[int] = _counter()
    points_taken_back: Mapped[int] = _counter()
    points_adjusted: Mapped[int] = _counter()
    points_imported: Mapped[int] = _counter()
    # Accounts opened, by account.enrolled_via (unknown: before migration 0014 recorded it).
    enrolled_till: Mapped[int] = _counter()
    enrolled_app: Mapped[int] = _counter()
    enrolled_import: Mapped[int] = _counter()
    enrolled_back_office: Mapped[int] = _counter()
    enrolled_cli: Mapped[int] = _counter()
    enrolled_unknown: Mapped[int] = _counter()
    # What the tills reported (terminal_day): the adoption rate's other receipts.
    receipts_without_card: Mapped[int] = _counter()
    # SMS written that day: handed to Twilio, delivered, failed (failed, undelivered, dead).
    sms_sent: Mapped[int] = _counter()
    sms_delivered: Mapped[int] = _counter()
    sms_failed: Mapped[int] = _counter()


class RollupSmsCostDay(Base):
    """What the day's SMS cost, per currency Twilio priced them in ('' = no price yet)."""
    __tablename__ = "rollup_sms_cost_day"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_unit: Mapped[str] = mapped_column(String(3), primary_key=True)
    messages: Mapped[int] = _counter()
    # Millionths of price_unit, positive for a cost (outbox_message.price_micros).
    cost_micros: Mapped[int] = _counter()


class RollupTierDay(Base):
    """Tier moves of one day: how many accounts went from one tier to another, and why."""
    __tablename__ = "rollup_tier_day"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # '' for "no tier" (below the first rung): keys cannot be NULL.
    from_tier: Mapped[str] = mapped_column(String(40), primary_key=True)
    to_tier: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = _counter()


class RollupCampaignDay(Base):
    """A campaign's day at one store: the sales it gave points on, what they came to, and
    its points."""
    __tablename__ = "rollup_campaign_day"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sales: Mapped[int] = _counter()
    sales_minor: Mapped[int] = _counter()
    points: Mapped[int] = _counter()


class RollupLiabilityDay(Base):
    """The points outstanding at the end of a local day, by the local month their lots
    expire (NEVER_EXPIRES for lots that never do): available and still pending apart."""
    __tablename__ = "rollup_liability_day"

    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    expiry_month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    available: Mapped[int] = _counter()
    pending: Mapped[int] = _counter()


class LotGiveBack(Base):
    """Points a give-back (a return, a void, a hold release) put back into a lot, dated by its
    entry: with the draws, they say what each lot held on any past day (the liability)."""
    __tablename__ = "lot_give_back"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lot.id"))
    points: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)
