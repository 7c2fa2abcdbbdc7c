"""What the white-label mobile API keeps: app keys, one-time codes, sessions, profiles, promotions.

Secrets are never stored: an app key and a refresh token are kept as their SHA-256 (each holds
256 random bits), a one-time code as an HMAC keyed with the app secret (six digits alone would
be found by trying all million). A **MobileSession** is one login on one phone: the family of
its refresh tokens. Each refresh uses a token up and hands out the next; a token used twice
means it was stolen, and the whole session is revoked.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

CODE_PURPOSES = ("register", "pin_reset")
SESSION_END_REASONS = ("logout", "reuse", "pin_changed", "erased")


class AppKey(Base):
    """The key a brand's phone app sends as X-App-Key; it names the program."""
    __tablename__ = "app_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OneTimeCode(Base):
    """A six-digit code sent by SMS to prove a phone number (registration, PIN reset)."""
    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[dt.datetime]
    # Set when the code is used, or when a newer code for the same phone replaces it.
    consumed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_one_time_code_program_id_phone_e164", "program_id", "phone_e164"),
        CheckConstraint("purpose IN ('register', 'pin_reset')", name="purpose_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )


class MobileSession(Base):
    """One login of a customer on one phone: the family its refresh tokens belong to."""
    __tablename__ = "mobile_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint("revoked_reason IS NULL OR revoked_reason IN "
                        "('logout', 'reuse', 'pin_changed', 'erased')", name="reason_known"),
        CheckConstraint("(revoked_at IS NULL) = (revoked_reason IS NULL)",
                        name="revoked_with_reason"),
    )


class RefreshToken(Base):
    """One refresh token of a session; usable once."""
    __tablename__ = "refresh_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mobile_session.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )


class CustomerProfile(Base):
    """What a customer tells the app about themselves, beyond the account's own columns.

    The name, language (`locale`) and SMS opt-out (`sms_opt_out`) stay on Account, where the
    till and the SMS worker read them.
    """
    __tablename__ = "customer_profile"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    # When the birthday was last set or changed: a recent one does not pay its bonus yet.
    birthday_set_at: Mapped[dt.datetime | None]
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("email IS NULL OR email LIKE '%_@_%'", name="email_has_at"),
    )


class Promotion(Base):
    """A time-boxed offer the brand's app shows (e.g. double points this weekend)."""
    __tablename__ = "promotion"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    # The campaign this promotion announces: the app shows its real terms.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_promotion_program_id_ends_at", "program_id", "ends_at"),
        UniqueConstraint("program_id", "title", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("title <> ''", name="title_not_empty"),
    )
