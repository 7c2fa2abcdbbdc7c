"""The program's own SMS texts (`[sms.templates.<language>]` overridden in
`Program.branding["sms"]`) and quiet hours: what each text may say, and how it reads.

A text may use only the placeholders its sender fills in (`notify.texts.render` and its
callers): any other would fail when the SMS is written, long after the text was saved.
"""
from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Account, Program
from pos_loyalty.notify.segments import SegmentCount, count_segments
from pos_loyalty.notify.texts import babel_locale, money_text, render
from pos_loyalty.payloads import is_plain_text

TEMPLATE_MAX_LENGTH = 480      # three GSM-7 segments and more: longer is surely a mistake
ALWAYS = frozenset({"program", "store"})
BALANCE = frozenset({"balance", "value"})
_POINTS_BALANCE = frozenset({"points"}) | BALANCE
# The placeholders each text is given (besides {program} and {store}, always there).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "credit": _POINTS_BALANCE, "debit": _POINTS_BALANCE,
    "credit_offer": _POINTS_BALANCE | {"offers"},
    "sale": frozenset({"earned", "spent"}) | BALANCE,
    "sale_offer": frozenset({"earned", "spent", "offers"}) | BALANCE,
    "expiry": _POINTS_BALANCE | {"date"},
    "balance": BALANCE,
    "help": frozenset(),
    "wallet": frozenset({"link"}),
    "otp": frozenset({"code", "minutes"}),
    "offer": frozenset({"label", "points"}),
    "signup": _POINTS_BALANCE, "birthday": _POINTS_BALANCE,
    "referral_referrer": _POINTS_BALANCE, "referral_newcomer": _POINTS_BALANCE,
    "referral_referrer_pending": _POINTS_BALANCE | {"date"},
    "referral_newcomer_pending": _POINTS_BALANCE | {"date"},
    "tier_up": frozenset({"tier", "previous"}), "tier_kept": frozenset({"tier", "previous"}),
    "tier_down": frozenset({"tier", "previous"}), "tier_ended": frozenset({"tier"}),
    "referral_share": frozenset({"code", "points", "basket"}),
    "referral_share_any_basket": frozenset({"code", "points"}),
    "referral_share_plain": frozenset({"code"}),
}
QUIET_HOURS_FORMAT = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Examples a preview fills the placeholders with (a campaign and tiers named per language).
SAMPLE_WORDS = {"fr": {"label": "Week-end x2", "tier": "Or", "previous": "Argent"},
                "en": {"label": "Weekend x2", "tier": "Gold", "previous": "Silver"}}


def placeholders_of(name: str) -> frozenset[str]:
    return ALWAYS | PLACEHOLDERS.get(name, frozenset())


def checked_template(name: str, text: str) -> str:
    """The text, or ValidationFailed (field: the template's name) when it cannot be sent."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"{name}: the text is empty.", field=name, problem="empty")
    if len(text) > TEMPLATE_MAX_LENGTH:
        raise ValidationFailed(f"{name}: at most {TEMPLATE_MAX_LENGTH} characters.",
                               field=name, problem="too_long", high=TEMPLATE_MAX_LENGTH)
    if not is_plain_text(text):
        raise ValidationFailed(f"{name}: no control or text-direction characters.",
                               field=name, problem="not_plain")
    allowed = placeholders_of(name)
    for placeholder in _placeholders_in(name, text):
        if placeholder not in allowed:
            raise ValidationFailed(
                f"{name}: {{{placeholder}}} is not a placeholder of this text.", field=name,
                problem="unknown_placeholder", placeholder=placeholder[:40],
                allowed=sorted(allowed))
    return text


def _placeholders_in(name: str, text: str) -> list[str]:
    """The names between braces; `{{` and `}}` are braces written out. Anything beyond a
    plain name ({balance:>9}, {program.name}, {0}) is refused as unknown."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise ValidationFailed(f"{name}: a brace is not closed.", field=name,
                               problem="braces") from None
    found = []
    for _literal, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if format_spec or conversion or not field_name.isidentifier():
            found.append(field_name + (f"!{conversion}" if conversion else "")
                         + (f":{format_spec}" if format_spec else ""))
        else:
            found.append(field_name)
    return found


def checked_quiet_hours(start: str, end: str) -> tuple[str, str]:
    """("21:00", "08:00"), or ("", "") for none; a start equal to its end is none too."""
    start, end = (start or "").strip(), (end or "").strip()
    if not start and not end:
        return "", ""
    for field, value in (("quiet_hours_start", start), ("quiet_hours_end", end)):
        if not QUIET_HOURS_FORMAT.fullmatch(value):
            raise ValidationFailed(f"{field} is a time like 21:00 (or both empty).",
                                   field=field, problem="time")
    return ("", "") if start == end else (start, end)


@dataclass(frozen=True)
class TemplatePreview:
    name: str
    text: str              # what a customer would read, or "" when the template is refused
    count: SegmentCount | None
    error: ValidationFailed | None


def preview(program: Program, language: str, texts: Mapping[str, str],
            config: Mapping[str, Any], today: dt.date) -> list[TemplatePreview]:
    """Each text as the core writes it (`notify.texts.render`) with sample values, in
    `language`, and what it costs in SMS segments; a text that cannot be sent says why."""
    reader = Account(locale=language)    # never saved: it only carries the language
    locale = babel_locale(program, reader)
    words = SAMPLE_WORDS.get(language, SAMPLE_WORDS["en"])
    samples: dict[str, Any] = {
        "points": 25, "balance": 1250, "earned": 25, "spent": 100, "code": "482913",
        "minutes": "10", "date": today + dt.timedelta(days=14),
        "basket": money_text(program, 1000, locale),
        "link": "https://loyalty.example.com/wallet/eyJhbGciOiJIUzI1NiJ9.example", **words}
    trial_config = {**config, "templates": {**config["templates"], language: dict(texts)}}
    offer = _render_one(program, reader, "offer", trial_config, samples)
    samples["offers"] = offer.text or words["label"]
    return [_render_one(program, reader, name, trial_config, samples) for name in texts]


def _render_one(program: Program, reader: Account, name: str, config: Mapping[str, Any],
                samples: Mapping[str, Any]) -> TemplatePreview:
    try:
        checked_template(name, config["templates"][reader.locale][name])
    except ValidationFailed as error:
        return TemplatePreview(name, "", None, error)
    given = {key: samples[key] for key in PLACEHOLDERS.get(name, ()) if key in samples}
    text = render(program, reader, name, dict(config), **given)
    return TemplatePreview(name, text, count_segments(text), None)
