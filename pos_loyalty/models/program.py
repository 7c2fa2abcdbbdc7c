"""The tenant (Program) and where sales happen: stores, terminals, staff."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

STAFF_ROLES = ("cashier", "manager", "admin", "marketing", "support", "finance")
# Who may log in where: the till's roles, and the back office's (admin in both).
TILL_ROLES = ("cashier", "manager", "admin")
BACK_OFFICE_ROLES = ("admin", "marketing", "support", "finance")


class Program(Base):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16))
    # Overrides of config [rules] for this program only.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    branding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unused since migration 0008 (card numbers are drawn at random, pos_loyalty.cards): SQLite
    # cannot drop it without rebuilding this table, which nearly every table refers to.
    next_card_serial: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("next_card_serial >= 1", name="serial_positive"),)


class Store(Base):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    opening_hours: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Terminal(Base):
    __tablename__ = "terminal"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the key: the key is 256 random bits, so a fast hash is the right one.
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Written at most once a minute by the POS API's key check (the back office shows it).
    last_seen_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("store.id"))
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Unused since migration 0007 (wrong passwords are counted by pos_loyalty.throttles); kept
    # so that servers of the previous version still run during a rolling deploy.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    # Two-factor sign-in to the back office: the TOTP secret, encrypted (pos_loyalty.totp), and
    # the last time step whose code was accepted, so that a code is good once.
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("program_id", "username"),
        CheckConstraint("role IN ('cashier', 'manager', 'admin', 'marketing', 'support', "
                        "'finance')", name="role_known"),
    )


class StaffSession(Base):
    """A login at the till. The signed cookie names it; logging out, a new password or
    deactivation deletes it, so a copied cookie stops working at once."""
    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the cookie's random token (256 bits): a database dump holds no live session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
