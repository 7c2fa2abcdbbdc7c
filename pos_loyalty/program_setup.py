"""A program's identity (name, currency, time zone, locale), checked before it is saved.

`pos-loyalty init` creates the first program from it. Development may fall back on the demo's
[program] settings; production must be told, so a real brand never starts as "Demo
Boulangerie" in euros by accident.
"""
from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass

import babel
import babel.numbers
from sqlalchemy import select

from pos_loyalty.db import db
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Program

IDENTITY_FIELDS = ("name", "currency", "timezone", "locale")
NAME_MAX_LENGTH = 200    # Program.name
SLUG_MAX_LENGTH = 64     # Program.slug


@dataclass(frozen=True)
class ProgramIdentity:
    """What a program is called and how it counts money, time and words."""
    name: str
    slug: str
    currency: str
    timezone: str
    locale: str


def missing_fields(given: dict[str, str | None]) -> list[str]:
    """The identity fields `given` leaves empty, in the order they are asked for."""
    return [field for field in IDENTITY_FIELDS if not (given.get(field) or "").strip()]


def checked_identity(name: str, currency: str, timezone: str, locale: str,
                     slug: str | None = None) -> ProgramIdentity:
    """The identity, normalised (EUR, fr_FR); ValidationFailed names the first bad field."""
    name = checked_name(name)
    return ProgramIdentity(name=name, slug=checked_slug(slug or slug_of(name)),
                           currency=checked_currency(currency),
                           timezone=checked_timezone(timezone), locale=checked_locale(locale))


def checked_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("A program needs a name.", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(f"A program name has at most {NAME_MAX_LENGTH} characters.",
                               field="name")
    return name


def checked_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or not babel.numbers.is_currency(code):
        raise ValidationFailed(f"{currency!r} is not an ISO 4217 currency code (e.g. EUR).",
                               field="currency")
    return code


def checked_timezone(timezone: str) -> str:
    name = (timezone or "").strip()
    if name not in zoneinfo.available_timezones():
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone (e.g. Europe/Paris).",
                               field="timezone")
    return name


def checked_locale(locale: str) -> str:
    try:
        parsed = babel.Locale.parse((locale or "").strip().replace("-", "_"))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise ValidationFailed(f"{locale!r} is not a locale Babel knows (e.g. fr_FR).",
                               field="locale") from None
    return str(parsed)


def checked_slug(slug: str) -> str:
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", slug or ""):
        raise ValidationFailed("A slug is 1 to 64 lower-case letters, digits and inner "
                               "hyphens, e.g. boulangerie-martin.", field="slug")
    return slug


def slug_of(name: str) -> str:
    """"Boulangerie Pâtissière Martin" -> "boulangerie-patissiere-martin"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX_LENGTH].rstrip("-") or "program"


def create_program(identity: ProgramIdentity) -> Program:
    """A new program with no rule overrides and no branding; the slug must be free."""
    if db.session.scalar(select(Program.id).where(Program.slug == identity.slug)):
        raise ValidationFailed(f"The slug {identity.slug!r} is taken.", field="slug")
    program = Program(slug=identity.slug, name=identity.name, currency=identity.currency,
                      timezone=identity.timezone, locale=identity.locale, rules={},
                      branding={})
    db.session.add(program)
    db.session.flush()
    return program
