"""Finding a customer from one search box: a phone, a card number, a first name or an e-mail.

The text is read every way it can be: a phone as the till reads it (E.164 in the program's
country), a card number as the till reads it (check digit), an e-mail (it has an @, matched
whole, case aside), a first name (it has a letter, matched as a prefix, case aside). Phone and
card number use the unique indexes on (program, phone) and (program, number). The first name
and the e-mail have no index: on a big table they read every account of the program (see
docs/backoffice-customers.md). Pages run by account id, so new customers never shift them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, literal, or_, select

from pos_loyalty import accounts
from pos_loyalty.db import db
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.models import Account, Card, CustomerProfile, Program

MAX_QUERY = 254
PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().-]{6,}")


@dataclass(frozen=True)
class FoundCustomer:
    account_id: int
    first_name: str
    phone: str | None
    email: str | None
    status: str
    cards: list[tuple[str, str]]   # (number, status)

    @property
    def erased(self) -> bool:
        return self.status == "closed"


@dataclass(frozen=True)
class SearchPage:
    customers: list[FoundCustomer]
    next_after: int | None     # the last account id shown, when more follow
    blank_card: str | None     # the text is a blank card's number: no customer has it yet


def search(program: Program, text: str, after_id: int | None, limit: int) -> SearchPage:
    """One page of the program's customers the text names, by account id."""
    text = text.strip()[:MAX_QUERY]
    if not text:
        return SearchPage([], None, None)
    card = _card(program, text)
    query = (select(Account.id, Account.first_name, Account.phone_e164, Account.status)
             .where(Account.program_id == program.id, _names(program, text, card))
             .order_by(Account.id).limit(limit + 1))
    if after_id is not None:
        query = query.where(Account.id > after_id)
    rows = db.session.execute(query).all()
    page = rows[:limit]
    ids = [row.id for row in page]
    emails = dict(db.session.execute(select(CustomerProfile.account_id, CustomerProfile.email)
                                     .where(CustomerProfile.account_id.in_(ids))).all())
    cards: dict[int, list[tuple[str, str]]] = {account_id: [] for account_id in ids}
    for account_id, number, status in db.session.execute(
            select(Card.account_id, Card.number, Card.status)
            .where(Card.account_id.in_(ids)).order_by(Card.id)):
        cards[account_id].append((number, status))
    found = [FoundCustomer(row.id, row.first_name, row.phone_e164, emails.get(row.id),
                           row.status, cards[row.id]) for row in page]
    blank = card.number if card is not None and card.account_id is None else None
    return SearchPage(found, page[-1].id if len(rows) > limit else None, blank)


def _names(program: Program, text: str, card: Card | None) -> ColumnElement[bool]:
    """Accounts the text names, every way it can be read (none: false)."""
    ways: list[ColumnElement[bool]] = []
    if card is not None and card.account_id is not None:
        ways.append(Account.id == card.account_id)
    phone = _phone(program, text)
    if phone is not None:
        ways.append(Account.phone_e164 == phone)
    if "@" in text:
        ways.append(Account.id.in_(select(CustomerProfile.account_id).where(
            func.lower(CustomerProfile.email) == func.lower(literal(text)))))
    elif any(character.isalpha() for character in text):
        # Both sides lowered by the database: SQLite lowers ASCII only, but does it to both.
        ways.append(func.lower(Account.first_name).like(
            func.lower(literal(_like_prefix(text))), escape="\\"))
    return or_(*ways) if ways else false()


def _card(program: Program, text: str) -> Card | None:
    try:
        return accounts.find_card(program, text)
    except LoyaltyError:
        return None


def _phone(program: Program, text: str) -> str | None:
    if not PHONE_CHARACTERS.fullmatch(text):
        return None
    try:
        return accounts.parse_phone(text, accounts.program_region(program))
    except LoyaltyError:
        return None


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"

