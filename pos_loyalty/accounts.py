"""Customers and their cards: find, identify, enrol, issue, link, block, replace."""
from __future__ import annotations

import datetime as dt
from typing import Any

import phonenumbers
from sqlalchemy import select, update

from pos_loyalty import bonuses, cards, sms_countries, throttles
from pos_loyalty.db import db, insert_or_ignore
from pos_loyalty.errors import (
    CardAlreadyLinked, CardBlocked, CardNotFound, InvalidCardNumber, InvalidPin, PhoneTaken,
    ValidationFailed,
)
from pos_loyalty.models import Account, Card, CardBatch, Program
from pos_loyalty.models.account import ENROLMENT_CHANNELS
from pos_loyalty.payloads import plain_text
from pos_loyalty.audit import record as audit
from pos_loyalty.programs import rules_for
from pos_loyalty.rules import UNUSABLE_CARD_STATUSES, ProgramRules, check_new_pin
from pos_loyalty.security import Hasher
from pos_loyalty.throttles import TryPolicy


def normalize_number(raw: Any, rules: ProgramRules) -> str:
    """The canonical card number, or InvalidCardNumber (format or check digit); what a till
    scanned off the phone gives its card number (the live code is left out)."""
    return read_card_entry(raw, rules)[0]


def read_card_entry(raw: Any, rules: ProgramRules) -> tuple[str, str | None]:
    """The canonical card number and, when the text is the phone's `<number>-<live code>`, the
    code. A typed number may hold dashes too: read as the phone's only when the part before
    the code is a card number itself."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidCardNumber("A card number is required.", field="card_number")
    number, code = cards.split_live_code(raw)
    refusal = None
    if code is not None:
        try:
            return _checked_number(number, rules), code
        except cards.InvalidCardNumber as exc:
            refusal = exc
    try:
        return _checked_number(raw, rules), None
    except cards.InvalidCardNumber as exc:
        raise InvalidCardNumber(f"This card number is not valid: {refusal or exc}.",
                                field="card_number") from exc


def _checked_number(raw: str, rules: ProgramRules) -> str:
    digits = raw.strip().replace(" ", "").replace("-", "")
    symbology = "ean13" if digits.isdigit() and len(digits) == 13 else rules.card_symbology
    return cards.normalize_card_number(digits, symbology)


def find_card(program: Program, raw_number: Any) -> Card:
    number = normalize_number(raw_number, rules_for(program))
    card = db.session.scalar(select(Card).where(Card.program_id == program.id,
                                                Card.number == number))
    if card is None:
        raise CardNotFound()
    return card


def account_of_card(card: Card, *, for_spending: bool = False) -> Account | None:
    """The card's account; a lost, blocked or replaced card cannot be used to spend."""
    if card.status in UNUSABLE_CARD_STATUSES and for_spending:
        raise CardBlocked()
    if card.account_id is None:
        return None
    return db.session.get(Account, card.account_id)


def parse_phone(raw: Any, region: str) -> str:
    """E.164 from what a person typed; national numbers are read in the program's country."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed("A phone number is required.", field="phone")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed("This phone number cannot be read.", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("This phone number is not valid.", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def program_region(program: Program) -> str:
    return program.locale.split("_")[-1].upper() if "_" in program.locale else "FR"


def mask_phone(phone: str | None) -> str:
    """What a cashier may see: country code and the last two digits."""
    if not phone:
        return ""
    return phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:]


def account_by_phone(program: Program, phone: str) -> Account | None:
    """The open account with this E.164 phone, or None."""
    account = db.session.scalar(select(Account).where(Account.program_id == program.id,
                                                      Account.phone_e164 == phone))
    return account if account is not None and account.status != "closed" else None


def check_pin(program: Program, phone_raw: Any, pin: Any, now: dt.datetime,
              policy: TryPolicy, hasher: Hasher, *, place: str = "") -> Account:
    """The account whose phone and PIN these are. An unknown phone is answered, counted and
    timed as a wrong PIN, so the answer never tells who is enrolled."""
    phone = parse_phone(phone_raw, program_region(program))
    if not isinstance(pin, str) or not pin:
        raise ValidationFailed("A PIN is required.", field="pin")
    return verify_pin(account_by_phone(program, phone), pin, now, policy, hasher, place=place,
                      claimed=f"phone:{phone}")


def verify_pin(account: Account | None, pin: str, now: dt.datetime, policy: TryPolicy,
               hasher: Hasher, *, place: str = "", claimed: str = "") -> Account:
    """`account` when `pin` is its PIN, else InvalidPin with the tries left here.

    `place` is where the try comes from ("terminal:7", "ip:203.0.113.9"), `claimed` what names
    the customer when no account was found (their phone): see `throttles` for the counts and
    `TooManyTries`. An old argon2 PIN hash that matches is replaced by the keyed one.
    """
    subject = _pin_subject(account) if account is not None else claimed
    throttles.refuse_if_throttled(policy, "pin", subject, place)
    matches, rehashed = hasher.check_pin(account.pin_hash if account else None, pin)
    if account is None or not matches:
        left = throttles.count_wrong_try(policy, "pin", subject, place)
        raise InvalidPin(attempts_left=left)
    if rehashed:
        account.pin_hash = rehashed
    throttles.forget_wrong_tries(policy, "pin", subject, place)
    return account


def _pin_subject(account: Account) -> str:
    """The account as the throttles count it; a new PIN (a new hash) starts new counts."""
    return f"account:{account.id}:{(account.pin_hash or '')[-12:]}"


def create_customer(program: Program, phone_raw: Any, pin: Any, now: dt.datetime, hasher: Hasher,
                    *, channel: str, store_id: int | None = None, first_name: str = "",
                    card_number: str | None = None, actor: str = "") -> Card:
    """A new account with its first card: the blank plastic card given, or a virtual one; and
    its sign-up bonus, if this phone never had one (`bonuses.grant_signup`).

    `channel` (ENROLMENT_CHANNELS) and `store_id` (the till's store, None elsewhere) say where
    the customer joined, for the analytics; required, so that no new way in forgets them."""
    if channel not in ENROLMENT_CHANNELS:
        raise ValueError(f"unknown enrolment channel {channel!r}")
    phone = parse_phone(phone_raw, program_region(program))
    sms_countries.check_destination(program, phone)  # its balance SMS go there
    check_new_pin(pin)
    taken = db.session.scalar(select(Account.id).where(Account.program_id == program.id,
                                                       Account.phone_e164 == phone))
    if taken:
        raise PhoneTaken()
    account = Account(program_id=program.id, phone_e164=phone, first_name=first_name.strip(),
                      pin_hash=hasher.hash_pin(pin), created_at=now, enrolled_via=channel,
                      enrolled_store_id=store_id)
    db.session.add(account)
    db.session.flush()
    card = (link_card(program, account, card_number, now) if card_number
            else issue_virtual_card(program, account, now))
    bonuses.grant_signup(program, account, now, actor)
    return card


def issue_cards(program: Program, count: int, now: dt.datetime, label: str = "") -> list[str]:
    """A batch of blank cards, numbered at random in the program's range, linked later;
    `label` says what the batch is for ("Lyon opening, plastic")."""
    if not 1 <= count <= MAX_BATCH:
        raise ValidationFailed(f"Issue between 1 and {MAX_BATCH} cards at a time.",
                               field="count")
    if len(label.strip()) > MAX_BATCH_LABEL:
        raise ValidationFailed(f"A batch's label is {MAX_BATCH_LABEL} characters at most.",
                               field="label")
    batch = CardBatch(program_id=program.id, count=count, created_at=now,
                      label=plain_text(label.strip(), "label"))
    db.session.add(batch)
    db.session.flush()
    symbology = rules_for(program).card_symbology
    return _insert_new_numbers(program, count, {
        "program_id": program.id, "symbology": symbology, "status": "blank", "kind": "plastic",
        "account_id": None, "batch_id": batch.id, "created_at": now, "linked_at": None})


def issue_virtual_card(program: Program, account: Account, now: dt.datetime) -> Card:
    """The card of a customer without a plastic one: it lives in the phone app."""
    [number] = _insert_new_numbers(program, 1, {
        "program_id": program.id, "symbology": rules_for(program).card_symbology,
        "status": "active", "kind": "virtual", "account_id": account.id, "batch_id": None,
        "created_at": now, "linked_at": now})
    return db.session.scalar(select(Card).where(Card.program_id == program.id,
                                                Card.number == number))


MAX_BATCH = 100_000
MAX_BATCH_LABEL = 100
# Rounds of drawing again for numbers taken meanwhile. In a range of 10^10 a clash is rare;
# rounds running out means the range is nearly full (a prefix that leaves too few digits).
MAX_DRAWS = 20


def _insert_new_numbers(program: Program, count: int, row: dict[str, Any]) -> list[str]:
    """`count` cards with new random numbers, written; a number already taken, by an earlier
    card or a concurrent batch, is skipped by the insert (ON CONFLICT DO NOTHING waits for
    the other writer) and drawn again."""
    rules = rules_for(program)
    if count > cards.card_range_size(rules.card_prefix, rules.card_symbology) // 10:
        raise ValidationFailed("The program's card range has no room for this many cards: "
                               "use a shorter card_prefix.", field="count")
    insert = (insert_or_ignore()(Card.__table__)
              .on_conflict_do_nothing(index_elements=["program_id", "number"])
              .returning(Card.__table__.c.number))
    issued: list[str] = []
    for _ in range(MAX_DRAWS):
        wanted = count - len(issued)
        drawn: set[str] = set()
        while len(drawn) < wanted:
            drawn.add(cards.random_card_number(rules.card_prefix, rules.card_symbology))
        issued += db.session.execute(insert, [
            {**row, "number": number} for number in sorted(drawn)]).scalars().all()
        if len(issued) == count:
            return issued
    raise ValidationFailed("The program's card range is nearly full: use a shorter "
                           "card_prefix.", field="count")


def link_card(program: Program, account: Account, card_number: Any, now: dt.datetime) -> Card:
    """Give a blank plastic card to an account; a card of someone else is refused."""
    card = find_card(program, card_number)
    if card.account_id == account.id and card.status == "active":
        return card
    if card.status != "blank":
        raise CardAlreadyLinked()
    # Conditional, so two customers linking one blank card at once cannot both win: the
    # second UPDATE waits for the first, then finds the card no longer blank.
    linked = db.session.execute(
        update(Card).where(Card.id == card.id, Card.status == "blank")
        .values(account_id=account.id, status="active", linked_at=now)).rowcount
    if linked != 1:
        raise CardAlreadyLinked()
    db.session.refresh(card)
    return card


def set_account_status(program: Program, account: Account, status: str, actor: str,
                       reason: str, now: dt.datetime) -> None:
    """Block or unblock: a blocked account keeps its points but cannot spend them."""
    if status not in ("active", "blocked"):
        raise ValidationFailed("status must be active or blocked", field="status")
    before, account.status = account.status, status
    audit(program, actor, f"account_{status}", f"account:{account.id}", now,
          before={"status": before}, after={"status": status}, reason=reason)


def replace_card(program: Program, old: Card, actor: str, reason: str, now: dt.datetime,
                 new_number: str | None = None) -> Card:
    """A lost card is closed and a new one takes its place; the account and points stay."""
    if old.account_id is None:
        raise CardNotFound("A blank card has nothing to replace.")
    account = db.session.get(Account, old.account_id)
    new = (link_card(program, account, new_number, now) if new_number
           else issue_virtual_card(program, account, now))
    before = old.status
    old.status, old.replaced_by_id = "replaced", new.id
    audit(program, actor, "card_replaced", f"card:{old.number}", now,
          before={"status": before}, after={"status": "replaced", "replaced_by": new.number},
          reason=reason, new_card=new.number)
    return new


def primary_card(account_id: int) -> Card:
    """The card a till shows for an account found by phone: the newest active one."""
    card = db.session.scalar(select(Card).where(Card.account_id == account_id,
                                                Card.status == "active")
                             .order_by(Card.linked_at.desc(), Card.id.desc()).limit(1))
    if card is None:
        raise CardNotFound("This customer has no active card.")
    return card
