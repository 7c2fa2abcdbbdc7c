"""What a logged-in customer sees and changes: profile, card, balance, history, their data."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select, update

from pos_loyalty import accounts, audit, balances, bonuses, holds, ledger, notify
from pos_loyalty.db import db
from pos_loyalty.errors import CardAlreadyLinked, CardLimitReached, CardNotFound, ValidationFailed
from pos_loyalty.models import (
    Account, Campaign, Card, CustomerProfile, LedgerEntry, MobileSession, OutboxMessage,
    Program, Store,
)
from pos_loyalty.models.account import NOTIFY_CHANNELS
from pos_loyalty.notify.texts import campaign_label, language_of
from pos_loyalty.payloads import plain_text
from pos_loyalty.programs import local_day, rules_for, settings
from pos_loyalty.rules import points_value_minor

from pos_loyalty import app_sessions, devices, one_time_codes

EMAIL_FORMAT = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LANGUAGE_FORMAT = re.compile(r"[a-z]{2}(_[A-Z]{2})?")
PROFILE_FIELDS = ("first_name", "birthday", "email", "language", "sms_notifications",
                  "notify_channel")
OLDEST_BIRTH_YEAR = 1900
# Cards an account holds, against [mobile] max_cards_per_account (a replaced or closed card
# is gone).
HELD_CARD_STATUSES = ("active", "blocked", "lost")
NO_BLANK_CARD = "No blank card has this number."


def iso(moment: dt.datetime | None) -> str | None:
    """Naive UTC as RFC 3339 with a Z (the POS API's format), or None."""
    return None if moment is None else holds.iso(moment)


def _profile(account: Account) -> CustomerProfile | None:
    return db.session.get(CustomerProfile, account.id)


def profile_view(program: Program, account: Account) -> dict[str, Any]:
    profile = _profile(account)
    return {
        "id": account.id, "program": program.slug, "phone": account.phone_e164,
        "first_name": account.first_name,
        "birthday": profile.birthday.isoformat() if profile and profile.birthday else None,
        "email": profile.email if profile else None,
        "language": account.locale, "sms_notifications": not account.sms_opt_out,
        "notify_channel": account.notify_channel, "push_devices": account.push_devices,
        "status": account.status, "created_at": iso(account.created_at),
    }


def update_profile(program: Program, account: Account, changes: dict[str, Any],
                   now: dt.datetime) -> dict[str, Any]:
    """Apply the fields sent (null clears birthday, email and language); others stay."""
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    profile = _profile(account) or CustomerProfile(account_id=account.id)
    if "first_name" in changes:
        account.first_name = _first_name(changes["first_name"])
    if "birthday" in changes:
        _set_birthday(profile, _birthday(changes["birthday"], local_day(program, now)), now)
    if "email" in changes:
        profile.email = _email(changes["email"])
    if "language" in changes:
        account.locale = _language(changes["language"])
    if "sms_notifications" in changes:
        if not isinstance(changes["sms_notifications"], bool):
            raise ValidationFailed("sms_notifications must be true or false.",
                                   field="sms_notifications")
        account.sms_opt_out = not changes["sms_notifications"]
    if "notify_channel" in changes:
        if changes["notify_channel"] not in NOTIFY_CHANNELS:
            raise ValidationFailed("notify_channel is one of " + ", ".join(NOTIFY_CHANNELS)
                                   + ".", field="notify_channel")
        account.notify_channel = changes["notify_channel"]
    profile.updated_at = now
    db.session.add(profile)
    db.session.flush()
    return profile_view(program, account)


def _set_birthday(profile: CustomerProfile, birthday: dt.date | None, now: dt.datetime) -> None:
    """A birthday set or changed is dated, so that it pays its bonus only once it has been
    known [rules] birthday_min_days_known days (`bonuses`); the same one sent again is no
    change."""
    if birthday != profile.birthday:
        profile.birthday, profile.birthday_set_at = birthday, now


def _first_name(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 100:
        raise ValidationFailed("first_name is text of at most 100 characters.",
                               field="first_name")
    return plain_text(value.strip(), "first_name")


def _birthday(value: Any, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 \
            else None
    except ValueError:
        day = None
    if day is None or not dt.date(OLDEST_BIRTH_YEAR, 1, 1) <= day <= today:
        raise ValidationFailed("birthday is a past date written YYYY-MM-DD.", field="birthday")
    return day


def _email(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_FORMAT.fullmatch(value):
        raise ValidationFailed("This email address is not valid.", field="email")
    return value


def _language(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LANGUAGE_FORMAT.fullmatch(value):
        raise ValidationFailed("language is a code like \"fr\" or \"fr_FR\".", field="language")
    return value


def card_of(account: Account) -> Card:
    return accounts.primary_card(account.id)


def link_plastic_card(program: Program, account: Account, card_number: Any,
                      now: dt.datetime) -> tuple[Card, bool]:
    """Link a blank card to the account; True when it was linked now (not already ours).

    An unknown number and another customer's card get one answer (card_not_found), so the
    app tells nobody which numbers exist; an account holds at most [mobile]
    max_cards_per_account cards. Linking a plastic card is one of the ways of signing up:
    it pays the sign-up bonus if the phone never had it.
    """
    try:
        if _owns(account, card_number, program):
            return accounts.find_card(program, card_number), False
        ledger.lock_account(account.id)  # parallel links count the cards one after the other
        max_cards = int(settings()["mobile"]["max_cards_per_account"])
        if max_cards > 0 and _cards_held(account) >= max_cards:
            raise CardLimitReached(max_cards=max_cards)
        card = accounts.link_card(program, account, card_number, now)
        bonuses.grant_signup(program, account, now, "mobile app")
        return card, True
    except (CardNotFound, CardAlreadyLinked):
        raise CardNotFound(NO_BLANK_CARD) from None


def _cards_held(account: Account) -> int:
    return db.session.scalar(select(func.count()).select_from(Card).where(
        Card.account_id == account.id, Card.status.in_(HELD_CARD_STATUSES)))


def _owns(account: Account, card_number: Any, program: Program) -> bool:
    number = accounts.normalize_number(card_number, rules_for(program))
    return db.session.scalar(select(Card.id).where(
        Card.program_id == program.id, Card.number == number,
        Card.account_id == account.id, Card.status == "active")) is not None


def balance(program: Program, account: Account, now: dt.datetime) -> dict[str, Any]:
    """The balance as of now, as the till shows it too (`balances`)."""
    seen = balances.balance_of(account, now)
    return {
        "available_points": seen.available,
        "pending_points": seen.pending,
        "value_minor": points_value_minor(seen.available, rules_for(program)),
        "currency": program.currency,
        "lifetime_earned": account.lifetime_earned,
        "next_expiry": balances.next_expiry(program, account, now),
    }


# What the phone's history calls each kind of entry, per language (others read English); a
# campaign's entry is called by the campaign's own label when it has one.
HISTORY_LABELS = {
    "fr": {"earn": "Achat", "redeem": "Points utilisés",
           "return_reverse": "Retour : points repris", "return_restore": "Retour : points rendus",
           "void_reverse": "Vente annulée : points repris",
           "void_restore": "Vente annulée : points rendus", "hold": "Points réservés",
           "hold_release": "Points réservés rendus", "adjust": "Correction",
           "expire": "Points expirés", "release": "Points devenus utilisables",
           "bonus": "Bonus", "campaign": "Offre", "signup": "Bonus de bienvenue",
           "birthday": "Bonus d'anniversaire", "referral": "Parrainage",
           "import": "Solde repris de l'ancienne carte"},
    "en": {"earn": "Purchase", "redeem": "Points used",
           "return_reverse": "Return: points taken back",
           "return_restore": "Return: points given back",
           "void_reverse": "Sale voided: points taken back",
           "void_restore": "Sale voided: points given back", "hold": "Points set aside",
           "hold_release": "Points set aside, given back", "adjust": "Correction",
           "expire": "Points expired", "release": "Points now usable", "bonus": "Bonus",
           "campaign": "Offer", "signup": "Welcome bonus", "birthday": "Birthday bonus",
           "referral": "Referral", "import": "Balance brought from the previous card"},
}


def history(account: Account, limit: int, before_id: int | None) -> dict[str, Any]:
    """Entries newest first; the cursor is the last id shown, so new entries never shift pages."""
    query = _entries(account).order_by(LedgerEntry.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    rows = db.session.execute(query).all()
    page = rows[:limit]
    language = _language_of(account)
    return {"entries": [_entry_view(row, language) for row in page],
            "next_cursor": str(page[-1][0].id) if len(rows) > limit else None}


def _entries(account: Account) -> Any:
    return (select(LedgerEntry, Store.name, Campaign.name, Campaign.labels)
            .outerjoin(Store, Store.id == LedgerEntry.store_id)
            .outerjoin(Campaign, Campaign.id == LedgerEntry.campaign_id)
            .where(LedgerEntry.account_id == account.id))


def _language_of(account: Account) -> str:
    """The customer's language, else the program's (as their SMS are written)."""
    return language_of(db.session.get(Program, account.program_id), account)


def _entry_view(row: Any, language: str) -> dict[str, Any]:
    entry, store_name, campaign_name, campaign_labels = row
    return {"id": entry.id, "created_at": iso(entry.created_at), "kind": entry.kind,
            "label": entry_label(entry.kind, language, campaign_name, campaign_labels),
            "points": entry.points, "pending_points": entry.pending_delta,
            "balance_after": entry.available_after, "pending_after": entry.pending_after,
            "store_name": store_name}


def entry_label(kind: str, language: str, campaign_name: str | None = None,
                campaign_labels: dict[str, str] | None = None) -> str:
    """What the customer reads for an entry: a campaign's label, any other kind's name in
    HISTORY_LABELS."""
    if campaign_name is not None:
        return campaign_label(campaign_labels, campaign_name, language)
    return HISTORY_LABELS.get(language, HISTORY_LABELS["en"]).get(kind, kind)


def export(program: Program, account: Account, now: dt.datetime) -> dict[str, Any]:
    """Everything kept about the customer, as the data-protection right of access asks."""
    cards = db.session.scalars(select(Card).where(Card.account_id == account.id)
                               .order_by(Card.id)).all()
    entries = db.session.execute(_entries(account).order_by(LedgerEntry.id)).all()
    language = _language_of(account)
    sessions = db.session.scalars(select(MobileSession)
                                  .where(MobileSession.account_id == account.id)
                                  .order_by(MobileSession.id)).all()
    messages = db.session.scalars(select(OutboxMessage)
                                  .where(OutboxMessage.account_id == account.id,
                                         OutboxMessage.kind != "otp",
                                         OutboxMessage.channel != "wallet")
                                  .order_by(OutboxMessage.id)).all()
    return {
        "exported_at": iso(now),
        "profile": profile_view(program, account),
        "balance": balance(program, account, now),
        "cards": [{"card_number": c.number, "kind": c.kind, "status": c.status,
                   "linked_at": iso(c.linked_at)} for c in cards],
        "history": [_entry_view(row, language) for row in entries],
        "sessions": [{"created_at": iso(s.created_at), "revoked_at": iso(s.revoked_at)}
                     for s in sessions],
        "sms": [{"kind": m.kind, "to_phone": m.to_phone,
                 "body": notify.message_text(program, account, m), "status": m.status,
                 "created_at": iso(m.created_at)} for m in messages if m.channel == "sms"],
        "pushes": [{"kind": m.kind, "body": notify.message_text(program, account, m),
                    "status": m.status, "created_at": iso(m.created_at)}
                   for m in messages if m.channel == "push"],
        "devices": [devices.device_view(device) for device in devices.devices_of(account.id)],
        "wallet_passes": [{"wallet": card.wallet, "created_at": iso(card.created_at)}
                          for card in devices.wallet_passes_of(account.id)],
    }


def erase(program: Program, account: Account, now: dt.datetime,
          actor: str = "mobile app") -> None:
    """Erase the person, keep the books: the ledger stays, tied to an anonymous closed account.
    `actor`: who asked (the customer in the app, or support on their request)."""
    phone = account.phone_e164
    app_sessions.revoke_account_sessions(account.id, "erased", now)
    devices.remove_account_devices(account.id)
    db.session.execute(update(Card).where(Card.account_id == account.id)
                       .values(status="closed"))
    profile = _profile(account)
    if profile is not None:
        db.session.delete(profile)
    if phone:
        one_time_codes.forget_phone(program, phone)
        _erase_messages(program, account.id, phone, now)
    account.phone_e164, account.first_name, account.locale = None, "", None
    account.pin_hash, account.status = None, "closed"
    account.referral_code = None   # friends' registrations with it are refused from now on
    audit.record(program, actor, "account_erased", f"account:{account.id}", now)
    db.session.flush()


def _erase_messages(program: Program, account_id: int, phone: str, now: dt.datetime) -> None:
    """SMS to the customer lose their number and text; those not sent yet are cancelled."""
    mine = ((OutboxMessage.program_id == program.id)
            & ((OutboxMessage.account_id == account_id) | (OutboxMessage.to_phone == phone)))
    db.session.execute(update(OutboxMessage).where(mine, OutboxMessage.status == "queued")
                       .values(status="cancelled", last_error="customer erased",
                               status_changed_at=now))
    db.session.execute(update(OutboxMessage).where(mine).values(to_phone="", body="",
                                                                payload=None))
