"""Members brought from another system: what exists already, and writing the new ones.

A chunk of good lines (`member_file`) is sorted against the database (`sort_out`): a phone
that has an account is skipped, so a second run of the same file writes nothing twice; a
card of another customer leaves its line out. The new members are written in bulk
(`write_members`), a few statements per chunk whatever its size.

An imported member is an existing customer: no sign-up bonus (a grant row of 0 points is
written, as `bonuses.grant_signup` does, so neither the app nor a card link pays one later),
no PIN until the customer sets one in the app's registration (`pin_hash` NULL: the till's
phone + PIN check refuses it like a wrong PIN), no card unless the file names one (the app
gives a virtual card at registration), no SMS unless asked (`notify`), and the opening
balance is one "import" ledger entry with its lot (`ledger.open_balances`), available at
once and expiring as points credited today do.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, bindparam, select

from pos_loyalty import bonuses, ledger
from pos_loyalty.db import TryAgain, db
from pos_loyalty.member_file import BadLine, Member
from pos_loyalty.models import Account, BonusGrant, Card, CustomerProfile, Program
from pos_loyalty.notify.outbox import BALANCE_KIND, INSERT_MESSAGE, message_row
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.programs import rules_for
from pos_loyalty.rules import expiry_for
from pos_loyalty.statements import insert_many, update_many


@dataclass
class Sorted:
    """A chunk's members once the database is asked: to write, to skip, left out."""
    new: list[Member] = field(default_factory=list)
    skipped: list[Member] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    # Blank cards of the program the new members' card numbers name: number -> card id.
    blank_cards: dict[str, int] = field(default_factory=dict)


def sort_out(program: Program, members: Sequence[Member]) -> Sorted:
    """Which members exist already (their phone has an account: skipped), which name a card
    of another customer (left out), which are new."""
    phones = set(db.session.scalars(select(Account.phone_e164).where(
        Account.program_id == program.id,
        Account.phone_e164.in_(_written_out([member.phone for member in members])))))
    numbers = [member.card_number for member in members if member.card_number]
    cards = {number: (card_id, status) for number, card_id, status in db.session.execute(
        select(Card.number, Card.id, Card.status).where(Card.program_id == program.id,
                                                        Card.number.in_(_written_out(numbers))))}
    chunk = Sorted()
    for member in members:
        card = cards.get(member.card_number) if member.card_number else None
        if member.phone in phones:
            chunk.skipped.append(member)
        elif card is not None and card[1] != "blank":
            chunk.bad_lines.append(BadLine(member.line, "card_taken"))
        else:
            chunk.new.append(member)
            if card is not None:
                chunk.blank_cards[member.card_number] = card[0]
    return chunk


def _written_out(values: list[str]) -> BindParameter:
    """Values written into the statement's text, so each chunk's query is planned for the
    table as it is now. As 500 parameters, psycopg parses the long query again each time, and
    once it prepares it PostgreSQL may keep the plan made while the tables were nearly empty
    (a full scan): an import into a new program slowed down with every chunk (measured:
    0.3 s a query at 20,000 members, against 5 ms written out)."""
    return bindparam("values", values, expanding=True, literal_execute=True)


@dataclass(frozen=True)
class Written:
    members: int
    points: int
    texts: int
    skipped: int   # found meanwhile: enrolled by another face since `sort_out`


def write_members(program: Program, chunk: Sorted, now: dt.datetime, *, actor: str,
                  reason: str, notify: bool) -> Written:
    """Write a chunk's new members in bulk, in the caller's transaction: accounts, cards,
    profiles, sign-up grants, opening balances, and with `notify` their balance SMS."""
    if not chunk.new:
        return Written(0, 0, 0, 0)
    ids = _insert_accounts(program, chunk.new, now)
    members = [member for member in chunk.new if member.phone in ids]
    _give_cards(program, members, ids, chunk.blank_cards, now)
    _insert_profiles(members, ids, now)
    _insert_signup_grants(program, members, ids, now)
    balances = [(ids[member.phone], member.points) for member in members if member.points > 0]
    ctx = ledger.EntryContext(program_id=program.id, now=now, actor=actor, reason=reason)
    points = ledger.open_balances(ctx, balances,
                                  expires_at=expiry_for(rules_for(program), now))
    texts = _queue_texts(program, members, ids, now) if notify else 0
    return Written(len(members), points, texts, len(chunk.new) - len(members))


def _insert_accounts(program: Program, members: Iterable[Member],
                     now: dt.datetime) -> dict[str, int]:
    """phone -> new account id; a phone enrolled meanwhile is left alone (not in the answer)."""
    table = Account.__table__
    return dict(insert_many(table, [
        {"program_id": program.id, "phone_e164": member.phone, "first_name": member.first_name,
         "pin_hash": None, "status": "active", "locale": member.language,
         "sms_opt_out": member.opt_in is False, "created_at": now, "enrolled_via": "import",
         "enrolled_store_id": None} for member in members],
        skip_conflicts_on=["program_id", "phone_e164"],
        returning=[table.c.phone_e164, table.c.id]))


def _give_cards(program: Program, members: Sequence[Member], ids: dict[str, int],
                blank_cards: dict[str, int], now: dt.datetime) -> None:
    """Link the blank cards named, register the others as the member's plastic card. A card
    linked or registered meanwhile by someone else makes the chunk run again (TryAgain), and
    `sort_out` then finds it taken."""
    table = Card.__table__
    links = [{"id": blank_cards[member.card_number], "account_id": ids[member.phone],
              "status": "active", "linked_at": now}
             for member in members if member.card_number in blank_cards]
    if update_many(table, "id", links, guards=[table.c.status == "blank"]) != len(links):
        raise TryAgain()
    symbology = rules_for(program).card_symbology
    new = [{"program_id": program.id, "number": member.card_number,
            "symbology": "ean13" if len(member.card_number) == 13 else symbology,
            "status": "active", "kind": "plastic", "account_id": ids[member.phone],
            "batch_id": None, "created_at": now, "linked_at": now}
           for member in members
           if member.card_number and member.card_number not in blank_cards]
    written = insert_many(table, new, skip_conflicts_on=["program_id", "number"],
                          returning=[table.c.number])
    if len(written) != len(new):
        raise TryAgain()


def _insert_profiles(members: Sequence[Member], ids: dict[str, int], now: dt.datetime) -> None:
    """E-mail and birthday. The birthday is dated now, so that its bonus waits
    [rules] birthday_min_days_known days: the old system may have paid this year's."""
    insert_many(CustomerProfile.__table__, [
        {"account_id": ids[member.phone], "birthday": member.birthday,
         "birthday_set_at": now if member.birthday else None, "email": member.email,
         "updated_at": now}
        for member in members if member.email or member.birthday])


def _insert_signup_grants(program: Program, members: Sequence[Member], ids: dict[str, int],
                          now: dt.datetime) -> None:
    """Known customers already: a sign-up grant of 0 points each, as `bonuses.grant_signup`
    records one, so that neither the app's registration nor a card link pays the bonus, and
    the phone cannot come back as a referred newcomer."""
    insert_many(BonusGrant.__table__, [
        {"program_id": program.id, "kind": "signup",
         "person": bonuses.person_key(program, member.phone), "period": "",
         "account_id": ids[member.phone], "points": 0, "created_at": now}
        for member in members], skip_conflicts_on=["program_id", "kind", "person", "period"])


def _queue_texts(program: Program, members: Sequence[Member], ids: dict[str, int],
                 now: dt.datetime) -> int:
    """The balance SMS of each member with points who may be texted ("+N points, balance")."""
    if not sms_config(program)["balance_enabled"]:
        return 0
    rows = [message_row(program, ids[member.phone], BALANCE_KIND, member.phone, None, now,
                        {"change": member.points, "balance": member.points, "store": None})
            for member in members if member.points > 0 and member.opt_in is not False]
    if rows:
        db.session.execute(INSERT_MESSAGE, rows)
    return len(rows)
