"""What the offers' and cards' forms share: moments typed as a date and a time, and the core's
refusals turned into a sentence next to the field they name."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from backoffice.i18n import gettext as _
from backoffice.messages import error_sentence
from pos_loyalty.errors import LoyaltyError, ValidationFailed

# Database ids in URLs: larger numbers are no id (and PostgreSQL would refuse them).
ID = "int(max=2147483647)"
MAX_TYPED = 2000


def typed(form: MultiDict[str, str], name: str) -> str:
    """A text field as typed, trimmed and bounded (the core checks its own limits)."""
    return form.get(name, "").strip()[:MAX_TYPED]


def whole_number(text: str, field: str) -> int | None:
    """A count as typed ("200 000" too); None when empty; refused (naming `field`) when it
    is not a whole number."""
    text = text.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise ValidationFailed("not a whole number", field=field)
    return int(text)


def moment_text(date: str, time: str) -> str:
    """"2026-12-05" and "18:00" -> "2026-12-05T18:00"; a date alone stays a date (a whole
    day: for an end, that day included)."""
    return f"{date}T{time}" if date and time else date


def split_moment(text: str) -> tuple[str, str]:
    """The inverse: a spec's moment as the date and time fields show it."""
    date, _sep, time = text.partition("T")
    return date, time


def field_errors(error: LoyaltyError, sentences: Mapping[str, Any],
                 aliases: Mapping[str, str] | None = None) -> tuple[dict[str, str], str]:
    """({field: sentence}, the sentence above the form) for a refusal. A field the form has
    gets a sentence beside it: `sentences["<code>.<field>"]`, else `sentences["<code>"]`,
    else `sentences["<field>"]`; anything else is said above the form."""
    field = error.details.get("field")
    field = (aliases or {}).get(field, field)
    if not isinstance(field, str) or field not in sentences:
        return {}, error_sentence(error)
    sentence = (sentences.get(f"{error.code}.{field}") or sentences.get(error.code)
                or sentences[field])
    return {field: str(sentence)}, _("Check the field marked below.")
