"""What support does to one of a customer's cards: link a blank one, block or unblock one.

Blocking a card (a stolen plastic card) stops that card only: the account, its points and its
other cards go on. Blocking the account is `accounts.set_account_status`; replacing a lost card
is `accounts.replace_card`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import accounts, audit
from pos_loyalty.errors import CardBlocked, CardNotFound, ValidationFailed
from pos_loyalty.models import Account, Card, Program

CARD_SWITCHES = ("active", "blocked")


def card_of_account(program: Program, account: Account, card_number: Any) -> Card:
    """The account's card with this number; another customer's card is not found."""
    card = accounts.find_card(program, card_number)
    if card.account_id != account.id:
        raise CardNotFound()
    return card


def link(program: Program, account: Account, card_number: Any, actor: str,
         now: dt.datetime) -> Card:
    """Give a blank plastic card to the customer, audited."""
    card = accounts.link_card(program, account, card_number, now)
    audit.record(program, actor, "card_linked", f"card:{card.number}", now,
                 before={"status": "blank"},
                 after={"status": card.status, "account": f"account:{account.id}"})
    return card


def set_card_status(program: Program, account: Account, card_number: Any, status: str,
                    actor: str, reason: str, now: dt.datetime) -> Card:
    """Block or unblock one card; a lost, replaced or closed card stays as it is."""
    if status not in CARD_SWITCHES:
        raise ValidationFailed("status must be active or blocked", field="status")
    card = card_of_account(program, account, card_number)
    if card.status not in CARD_SWITCHES:
        raise CardBlocked()
    before, card.status = card.status, status
    audit.record(program, actor, "card_blocked" if status == "blocked" else "card_unblocked",
                 f"card:{card.number}", now, before={"status": before},
                 after={"status": status}, reason=reason)
    return card
