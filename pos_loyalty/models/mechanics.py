"""What a program runs beyond the flat earn rate: campaigns, tier changes, bonuses, referrals.

The tier ladder itself is a program rule (`[rules] tiers`, `rules.TierRung`): an account
names its tier by key (`Account.tier`), and every change is kept in **TierChange**. A
**Campaign** adds points to the sales it matches; its bonus entries name it
(`LedgerEntry.campaign_id`) and its budget counter (`points_given`) can never pass its budget
(a CHECK, on top of the conditional UPDATE that adds to it). A **BonusGrant** records each
sign-up, birthday and referral bonus once per person and period (a unique row), so a job run
twice or two requests at once cannot pay it twice. A **Referral** ties a newcomer to the
customer whose code they gave, until the newcomer's first qualifying purchase pays both.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

CAMPAIGN_EFFECTS = ("multiplier", "fixed")
TIER_CHANGE_REASONS = ("reached", "kept", "lowered", "return", "set")
BONUS_KINDS = ("signup", "birthday", "referral")
REFERRAL_STATUSES = ("pending", "rewarded", "refused")


class Campaign(Base):
    """A bonus on the sales it matches, for a time: "double points on Saturdays in Lyon"."""
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    name: Mapped[str] = mapped_column(String(120))
    # What the till, the receipt, the SMS and the phone call it, per language: {"fr": ...}.
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Naive UTC, from the program's local times; the campaign runs while starts <= now < ends.
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    # Empty lists mean "any": ISO weekdays (1 = Monday), store ids, categories, SKUs, tiers.
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Local "HH:MM" bounds within the day (from inclusive, until exclusive); both or neither.
    hours_from: Mapped[str | None] = mapped_column(String(5))
    hours_until: Mapped[str | None] = mapped_column(String(5))
    store_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    tiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_basket_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    first_purchase_only: Mapped[bool] = mapped_column(default=False)
    effect: Mapped[str] = mapped_column(String(16))
    # A Decimal string ("2" = double points) for a multiplier; points per receipt for fixed.
    multiplier: Mapped[str | None] = mapped_column(String(16))
    bonus_points: Mapped[int] = mapped_column(BigInteger, default=0)
    # Times one customer may get it (0 = no limit); points it may give in all (0 = no budget).
    per_customer_limit: Mapped[int] = mapped_column(default=0)
    budget_points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_given: Mapped[int] = mapped_column(BigInteger, default=0)
    ended_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_campaign_program_id_ends_at", "program_id", "ends_at"),
        CheckConstraint("effect IN ('multiplier', 'fixed')", name="effect_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("min_basket_minor >= 0 AND bonus_points >= 0 "
                        "AND per_customer_limit >= 0 AND budget_points >= 0",
                        name="amounts_not_negative"),
        CheckConstraint("points_given >= 0 AND (budget_points = 0 OR points_given <= budget_points)",
                        name="within_budget"),
    )


class TierChange(Base):
    """A customer's move from one tier to another (None: below the first rung)."""
    __tablename__ = "tier_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    from_tier: Mapped[str | None] = mapped_column(String(40))
    to_tier: Mapped[str | None] = mapped_column(String(40))
    # reached (a sale crossed a threshold), kept (requalified at the period's end), lowered
    # (the period ended short), return (a return lowered it, if the program says so), set.
    reason: Mapped[str] = mapped_column(String(16))
    # The qualifying measure when it changed (points, or minor units of money).
    measure: Mapped[int] = mapped_column(BigInteger, default=0)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sale.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_tier_change_account_id_id", "account_id", "id"),
        # A program's tier moves of some days (analytics.daily).
        Index("ix_tier_change_program_id_created_at", "program_id", "created_at"),
        CheckConstraint("reason IN ('reached', 'kept', 'lowered', 'return', 'set')",
                        name="reason_known"),
    )


class BonusGrant(Base):
    """One bonus paid to one person for one period: the unique row is the "once"."""
    __tablename__ = "bonus_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # Who, kept past an erasure so the bonus cannot be farmed: a keyed hash of the phone
    # (signup, birthday) or "referral:<id>" for the two sides of a referral.
    person: Mapped[str] = mapped_column(String(80))
    # "" for once ever, the year for a birthday.
    period: Mapped[str] = mapped_column(String(16), default="")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("program_id", "kind", "person", "period"),
        CheckConstraint("kind IN ('signup', 'birthday', 'referral')", name="kind_known"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )


class Referral(Base):
    """A newcomer who gave a customer's referral code; paid once, or refused with a reason."""
    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    referrer_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    referee_id: Mapped[int] = mapped_column(ForeignKey("account.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    refusal: Mapped[str | None] = mapped_column(String(40))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sale.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'rewarded', 'refused')", name="status_known"),
        CheckConstraint("referrer_id <> referee_id", name="not_self"),
    )
