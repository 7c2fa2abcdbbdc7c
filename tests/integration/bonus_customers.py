"""What the bonus tests read and do: a customer's account, entries and SMS, a referral code,
the referral decided on a sale, a birthday set at a given moment.

Imported by tests/integration/test_bonuses_*.py, test_referrals.py, test_bonus_texts.py and
test_mobile_referral.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pos_loyalty import accounts, referrals
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import (
    Account, BonusGrant, CustomerProfile, LedgerEntry, OutboxMessage, Referral,
)
from pos_loyalty.usecases import customers

from mobile_app import new_phone


def account_of(shop: Any, card_number: str) -> Account:
    """The card's account, read fresh."""
    db.session.expire_all()
    return accounts.account_of_card(accounts.find_card(shop.program, card_number))


def account_with_phone(phone: str) -> Account | None:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.phone_e164 == phone))


def entries(account_id: int, kind: str | None = None) -> list[LedgerEntry]:
    db.session.expire_all()
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if kind is not None:
        query = query.where(LedgerEntry.kind == kind)
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))


def messages(kind: str, account_id: int | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.kind == kind)
    if account_id is not None:
        query = query.where(OutboxMessage.account_id == account_id)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def grants(kind: str) -> list[BonusGrant]:
    db.session.expire_all()
    return list(db.session.scalars(select(BonusGrant).where(BonusGrant.kind == kind)
                                   .order_by(BonusGrant.id)))


def referral_of(account_id: int) -> Referral | None:
    db.session.expire_all()
    return db.session.scalar(select(Referral).where(Referral.referee_id == account_id))


def code_of(shop: Any, card_number: str) -> str:
    """The customer's referral code, made now if they had none."""
    return run_in_transaction(lambda: referrals.code_of(shop.program,
                                                        account_of(shop, card_number)))


def enrol(shop: Any, referral_code: str | None = None, phone: str | None = None) -> str:
    """A customer enrolled at the till now, with the referral code given; their card."""
    return customers.enrol(shop.program, phone or new_phone(), "2468", shop.now,
                           channel="till", first_name="Noé",
                           referral_code=referral_code)["card_number"]


def reward(shop: Any, card_number: str, sale: dict[str, Any]) -> None:
    """What the sale's transaction does for a customer whose referral waits: decide it on this
    sale (a second call, or one after the sale decided it itself, changes nothing)."""
    def work() -> None:
        account = account_of(shop, card_number)
        referrals.reward_first_purchase(shop.program, account.id, sale["sale_id"],
                                        sale["total_minor"], shop.now)
    run_in_transaction(work)


def sell_and_reward(shop: Any, card_number: str, total_minor: int) -> dict[str, Any]:
    sale = shop.sell(card_number, total_minor)
    reward(shop, card_number, sale)
    return sale


def set_birthday(account_id: int, birthday: dt.date | None, set_at: dt.datetime | None) -> None:
    """The profile's birthday, as if set at `set_at` (None: before the column existed)."""
    def work() -> None:
        profile = db.session.get(CustomerProfile, account_id) or \
            CustomerProfile(account_id=account_id)
        profile.birthday, profile.birthday_set_at = birthday, set_at
        db.session.add(profile)
    run_in_transaction(work)
