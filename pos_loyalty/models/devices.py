"""Where a customer's notifications reach them besides SMS: the brand app's phones, and the
loyalty card saved in Apple Wallet or Google Wallet.

A **PushDevice** is one installation of the brand's app that gave us its push token (FCM on
Android, APNs on iOS). A **WalletPass** is the card saved, or offered, in a wallet: for Apple,
a pass whose **PassRegistration** rows are the devices that hold it (Apple's pass web service
registers them); for Google, a loyalty object kept up to date through the Google Wallet API.

`Account.push_devices` and `Account.wallet_passes` count these rows (`pos_loyalty.devices`
keeps the counts), so that a sale knows from the account's own row whether a push or a
wallet update is wanted, with no further read.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pos_loyalty.db import Base, utcnow

PLATFORMS = ("ios", "android")
WALLETS = ("apple", "google")


class PushDevice(Base):
    """One phone's installation of the brand app, and the token its push service gave it."""
    __tablename__ = "push_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    platform: Mapped[str] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(512))
    app_version: Mapped[str | None] = mapped_column(String(40))
    # The app login that registered it: logging out removes the device (no pushes to a phone
    # someone else may now use).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("mobile_session.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # A token names one installation: registered again (another login), it moves.
        UniqueConstraint("program_id", "platform", "token"),
        CheckConstraint("platform IN ('ios', 'android')", name="platform_known"),
        CheckConstraint("token <> ''", name="token_not_empty"),
    )


class WalletPass(Base):
    """The card in a wallet: one per account and wallet, its serial the same for life."""
    __tablename__ = "wallet_pass"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    wallet: Mapped[str] = mapped_column(String(8))
    # Apple's serialNumber, Google's object id suffix: random, never the card number.
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    # When what the pass shows last changed (Apple: Last-Modified and the update tag).
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "wallet"),
        CheckConstraint("wallet IN ('apple', 'google')", name="wallet_known"),
    )


class PassRegistration(Base):
    """An Apple device holding a pass, and the token that wakes it when the pass changes."""
    __tablename__ = "pass_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("wallet_pass.id"))
    device_library_id: Mapped[str] = mapped_column(String(128))
    push_token: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("pass_id", "device_library_id"),
        Index("ix_pass_registration_device_library_id", "device_library_id"),
    )
