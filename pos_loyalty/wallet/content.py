"""What the card in a wallet shows, the same in Apple's and Google's: one reading of the
account, in the customer's language.

The barcode carries the number of the account's card (the newest active one), which the
till's scanner reads as it reads a card. It is a fixed code (a wallet cannot show the app's
live code), so it spends as that number would: a plastic card's as the plastic card; the
app's virtual card's earns but spends only with the PIN (`rules.presence_refusal`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from pos_loyalty import accounts
from pos_loyalty.db import db
from pos_loyalty.models import Account, Program, ProgramAsset
from pos_loyalty.notify.texts import babel_locale, language_of, money_of_points
from pos_loyalty.programs import rules_for, settings
from pos_loyalty.rules import rung_named


@dataclass(frozen=True)
class PassContent:
    program_name: str
    first_name: str
    language: str
    available_points: int
    # What the points pay, written in the program's currency for the customer's language.
    points_value: str
    tier_name: str | None
    card_number: str
    # "#rrggbb": the brand's primary colour (the card's background) and its second colour.
    background_color: str
    accent_color: str
    # The uploaded logo (PNG, JPEG or WebP bytes), None when the brand has none.
    logo: bytes | None
    updated_at: dt.datetime


def pass_content(program: Program, account_id: int, now: dt.datetime) -> PassContent:
    """The account as its wallet pass shows it now: read again from the database, never an
    earlier reading the session kept (a worker's round reads many accounts)."""
    account = db.session.get(Account, account_id, populate_existing=True)
    card = accounts.primary_card(account_id)
    language = language_of(program, account)
    rung = rung_named(rules_for(program).tiers, account.tier) if account.tier else None
    brand = program.branding or {}
    defaults = settings()["mobile"]
    return PassContent(
        program_name=str(brand.get("app_name") or program.name),
        first_name=account.first_name or "",
        language=language,
        available_points=account.available_points,
        points_value=money_of_points(program, max(account.available_points, 0),
                                     babel_locale(program, account)),
        tier_name=rung.name(language) if rung is not None else None,
        card_number=card.number,
        background_color=str(brand.get("primary_color") or defaults["default_primary_color"]),
        accent_color=str(brand.get("secondary_color") or defaults["default_secondary_color"]),
        logo=_logo(program),
        updated_at=now)


def _logo(program: Program) -> bytes | None:
    """The newest logo the brand uploaded, if the app still shows it."""
    if not (program.branding or {}).get("logo_url"):
        return None
    return db.session.scalar(select(ProgramAsset.content)
                             .where(ProgramAsset.program_id == program.id,
                                    ProgramAsset.kind == "logo")
                             .order_by(ProgramAsset.id.desc()).limit(1))
