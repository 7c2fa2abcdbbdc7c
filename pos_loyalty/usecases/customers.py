"""Customers and cards: look up, identify, enrol, link, adjust, block, replace, issue.

Identifying a customer at a till (the PIN checked, or a card scanned) hands the till a proof
that they are there, which spending points needs (`pos_loyalty.proofs`)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import accounts, adjustments, balances, metrics, proofs, referrals, tiers
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import CardNotLinked, ValidationFailed
from pos_loyalty.models import Account, Card, Program, Terminal
from pos_loyalty.notify.texts import language_of
from pos_loyalty.payloads import plain_text
from pos_loyalty.programs import rules_for
from pos_loyalty.proofs import TillEvidence
from pos_loyalty.rules import points_value_minor
from pos_loyalty.security import app_hasher
from pos_loyalty.throttles import app_try_policy
from pos_loyalty.upkeep import bring_card_up_to_date


def card_view(program: Program, card: Card, now: dt.datetime) -> dict[str, Any]:
    """A card and what a till may see of its account, with the balance as of now."""
    account = accounts.account_of_card(card)
    return {"card_number": card.number, "status": card.status,
            "account": account_view(program, account, now) if account else None}


def account_view(program: Program, account: Account, now: dt.datetime) -> dict[str, Any]:
    """What a cashier sees: first name, masked phone, the balance as of now, the tier (named
    in the program's language)."""
    balance = balances.balance_of(account, now)
    return {
        "id": account.id,
        "first_name": account.first_name,
        "phone_masked": accounts.mask_phone(account.phone_e164),
        "status": account.status,
        "available_points": balance.available,
        "pending_points": balance.pending,
        "available_value_minor": points_value_minor(balance.available, rules_for(program)),
        "can_redeem": account.status == "active" and balance.available > 0,
        "tier": tiers.short_view(program, account.tier, language_of(program, None)),
    }


def look_up_card(program: Program, card_number: Any, now: dt.datetime) -> dict[str, Any]:
    """The card and its account as every face shows them; a read writes nothing."""
    return run_in_transaction(lambda: card_view(
        program, accounts.find_card(program, card_number), now))


def look_up_card_at_till(program: Program, terminal: Terminal, card_number: Any,
                         card_entry: str, now: dt.datetime) -> dict[str, Any]:
    """The card view, and a proof when the entry shows the customer at the till (a scanned
    plastic card, the phone's card with its live code), so that the sale may come minutes
    later; `proof` is null otherwise. Writes nothing (wrong live codes are counted apart)."""
    def work() -> dict[str, Any]:
        number, live_code = accounts.read_card_entry(card_number, rules_for(program))
        card = accounts.find_card(program, number)
        account = accounts.account_of_card(card)
        evidence = TillEvidence(terminal.id, card_entry, live_code, None, now)
        proof = None
        if account is not None and evidence.proves_presence(account.id, card.kind,
                                                            account.live_code_secret):
            proof = proofs.grant(terminal, account.id, now)
        return {**card_view(program, card, now), **proofs.proof_json(proof)}
    return run_in_transaction(work)


def identify(program: Program, terminal: Terminal, pin: Any, now: dt.datetime, *,
             phone: Any = None, card_number: Any = None) -> dict[str, Any]:
    """The customer found by phone (their newest active card) or by card number, once the PIN
    is right, and a proof that they are at this till. Wrong PINs are counted for the account
    and for the terminal (`throttles`); an unknown phone, or a closed account's card, as a
    wrong PIN."""
    place = f"terminal:{terminal.id}"

    def work() -> dict[str, Any]:
        if card_number is None:
            account = accounts.check_pin(program, phone, pin, now, app_try_policy(),
                                         app_hasher(), place=place)
            card = accounts.primary_card(account.id)
        else:
            card = accounts.find_card(program, card_number)
            owner = accounts.account_of_card(card)
            if owner is None:
                raise CardNotLinked()
            if not isinstance(pin, str) or not pin:
                raise ValidationFailed("A PIN is required.", field="pin")
            account = accounts.verify_pin(owner if owner.status != "closed" else None, pin, now,
                                          app_try_policy(), app_hasher(), place=place,
                                          claimed=f"card:{card.number}")
        return {**card_view(program, card, now),
                **proofs.grant(terminal, account.id, now).to_json()}
    with metrics.lockouts_counted("customer"):
        return run_in_transaction(work)


def enrol(program: Program, phone: Any, pin: Any, now: dt.datetime, *, channel: str,
          store_id: int | None = None, first_name: str = "", card_number: str | None = None,
          actor: str = "", referral_code: Any = None) -> dict[str, Any]:
    """A new customer with a blank plastic card given at the till, or a virtual one, and the
    sign-up bonus; with the referral code a friend gave, or refused whole (422) when that code
    cannot be taken (`referrals.attach`). `channel` and `store_id`: where they joined
    (`accounts.create_customer`)."""
    name = plain_text(first_name, "first_name")   # never stored with control characters

    def work() -> dict[str, Any]:
        card = accounts.create_customer(program, phone, pin, now, app_hasher(),
                                        channel=channel, store_id=store_id, first_name=name,
                                        card_number=card_number, actor=actor)
        referrals.attach(program, db.session.get(Account, card.account_id), referral_code, now)
        return card_view(program, card, now)
    return run_in_transaction(work)


def adjust_points(program: Program, card_number: Any, points: int, reason: str, actor: str,
                  now: dt.datetime, *, staff_id: int | None = None,
                  store_id: int | None = None) -> dict[str, int]:
    """A manager's credit or withdrawal, with its reason, audited; the balance it starts from
    is the one shown (due points released first)."""
    def work() -> dict[str, int]:
        bring_card_up_to_date(program, card_number, now)
        return adjustments.adjust_points(program, card_number, points, reason, actor, now,
                                         staff_id=staff_id, store_id=store_id)
    result = run_in_transaction(work)
    metrics.points_adjusted(points)
    return result


def set_account_status(program: Program, card_number: Any, status: str, actor: str,
                       reason: str, now: dt.datetime) -> None:
    """Block or unblock the card's account: a blocked account keeps its points."""
    def work() -> None:
        account = accounts.account_of_card(accounts.find_card(program, card_number))
        if account is None:
            raise CardNotLinked()
        accounts.set_account_status(program, account, status, actor, reason, now)
    run_in_transaction(work)


def replace_card(program: Program, card_number: Any, actor: str, reason: str,
                 now: dt.datetime, new_number: str | None = None) -> str:
    """Close a lost card and carry the account to a new one; the new card's number."""
    return run_in_transaction(lambda: accounts.replace_card(
        program, accounts.find_card(program, card_number), actor, reason, now,
        new_number).number)


def issue_cards(program: Program, count: int, now: dt.datetime) -> list[str]:
    """A batch of blank cards to print, linked to customers later."""
    return run_in_transaction(lambda: accounts.issue_cards(program, count, now))
