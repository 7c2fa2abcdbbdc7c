"""The back office's program settings: rules, the app's look and logo, SMS texts and quiet
hours. Each save checks everything it was given before anything changes, writes one audit
event with what was before and after, and reaches the sales at once (see `_saved`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pos_loyalty import audit, programs, rules, sms_templates
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Program, ProgramAsset
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.program_branding import LOGO_TYPES, Logo, checked_logo, checked_look
from pos_loyalty.program_setup import checked_name
from pos_loyalty.rule_fields import RULE_FIELDS, check_together, checked_value

# --- rules ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleValues:
    """Each rule of the form as the program has it, the config's value, and which are the
    program's own."""
    values: dict[str, Any]
    defaults: dict[str, Any]
    own: frozenset[str]


def rule_values(program: Program) -> RuleValues:
    defaults = {f.key: checked_value(f.key, programs.settings()["rules"][f.key])
                for f in RULE_FIELDS}
    own = program.rules or {}
    values = {key: _shown(key, own[key]) if key in own else default
              for key, default in defaults.items()}
    return RuleValues(values, defaults, frozenset(key for key in defaults if key in own))


def _shown(key: str, value: Any) -> Any:
    """A program's value as the form writes it; one set before these checks existed (by
    `programs set-rule`) is shown as it is, and the form asks for a right one."""
    try:
        return checked_value(key, value)
    except ValidationFailed:
        return value


@dataclass(frozen=True)
class RulesPreview:
    """"A basket of `total_minor` earns `points_earned` and can use up to
    `max_redeem_points` (worth `max_redeem_minor`), paying at least `min_cash_minor`"."""
    total_minor: int
    category: str
    points_earned: int
    max_redeem_points: int
    max_redeem_minor: int
    min_cash_minor: int


def preview_rules(program: Program, changes: Mapping[str, Any], total_minor: int,
                  category: str = "") -> RulesPreview:
    """What a basket would earn and may spend under the rules as typed, not saved: the
    core's own quote for a customer with points enough to pay the whole bill (before tiers
    and campaigns)."""
    _, candidate = _rules_with(program, changes)
    basket = [rules.BasketLine("PREVIEW", category.lower(), 1, total_minor)]
    enough = rules.points_for_value(total_minor, candidate)
    quote = rules.quote(basket, enough, True, candidate)
    return RulesPreview(total_minor, category, quote.points_earned, quote.max_redeem_points,
                        quote.max_redeem_minor, quote.min_cash_minor)


def save_rules(program: Program, changes: Mapping[str, Any], actor: str,
               now: dt.datetime) -> dict[str, Any]:
    """Set several rules at once, checked together; returns the rules that changed (their
    new values). A value set back to the config's follows the config again."""
    def work() -> dict[str, Any]:
        current = _locked(program)
        checked, _ = _rules_with(current, changes)
        before_values = rule_values(current)
        changed = {key: value for key, value in checked.items()
                   if before_values.values[key] != value}
        if not changed:
            return {}
        own = dict(current.rules or {})
        for key, value in changed.items():
            if value == before_values.defaults[key]:
                own.pop(key, None)
            else:
                own[key] = value
        current.rules = own
        audit.record(current, actor, "rules_set", f"program:{current.id}", now,
                     before={key: before_values.values[key] for key in changed},
                     after=changed)
        return changed
    return _saved(program, work)


def _rules_with(program: Program, changes: Mapping[str, Any]
                ) -> tuple[dict[str, Any], rules.ProgramRules]:
    checked = {key: checked_value(key, value) for key, value in changes.items()}
    merged = {**programs.settings()["rules"], **(program.rules or {}), **checked}
    return checked, check_together(merged, rules.currency_exponent(program.currency))


# --- the app's look and logo --------------------------------------------------------------

LOOK_KEYS = ("app_name", "primary_color", "secondary_color")


def look_of(program: Program) -> dict[str, str]:
    """The program's name, the app's own name ("" = the program's) and the colours the app
    shows (the [mobile] defaults when the program has none)."""
    defaults = programs.settings()["mobile"]
    brand = program.branding or {}
    return {"name": program.name, "app_name": str(brand.get("app_name") or ""),
            "primary_color": str(brand.get("primary_color")
                                 or defaults["default_primary_color"]),
            "secondary_color": str(brand.get("secondary_color")
                                   or defaults["default_secondary_color"])}


def save_look(program: Program, name: str, app_name: str, primary_color: str,
              secondary_color: str, actor: str, now: dt.datetime) -> None:
    """The program's name (SMS, receipts) and the app's name and colours; a colour set back
    to the [mobile] default follows the default again."""
    def work() -> None:
        current = _locked(program)
        look = checked_look(app_name, primary_color, secondary_color)
        before = look_of(current)
        after = {"name": checked_name(name), "app_name": look.app_name,
                 "primary_color": look.primary_color, "secondary_color": look.secondary_color}
        if before == after:
            return
        defaults = programs.settings()["mobile"]
        unset = {"app_name": "", "primary_color": defaults["default_primary_color"],
                 "secondary_color": defaults["default_secondary_color"]}
        brand = {key: value for key, value in (current.branding or {}).items()
                 if key not in LOOK_KEYS}
        brand.update({key: after[key] for key in LOOK_KEYS if after[key] != unset[key]})
        current.name, current.branding = after["name"], brand
        audit.record(current, actor, "branding_set", f"program:{current.id}", now,
                     before=before, after=after)
    _saved(program, work)


def upload_logo(program: Program, content: bytes, max_bytes: int,
                url_of: Callable[[int, str], str], actor: str, now: dt.datetime) -> str:
    """Keep the image in the database (every app server serves it) and point the app's
    branding at it; returns its URL. `url_of(logo_id, extension)` is where the faces serve
    it (`logo_file`). The image is a `ProgramAsset` row, not part of `Program.branding`,
    which every sale and every app request reads."""
    logo = checked_logo(content, max_bytes)

    def work() -> str:
        current = _locked(program)
        before = (current.branding or {}).get("logo_url", "")
        asset = ProgramAsset(program_id=current.id, kind="logo", content_type=logo.content_type,
                             content=logo.content, width=logo.width, height=logo.height,
                             sha256=logo.sha256, created_at=now)
        db.session.add(asset)
        db.session.flush()
        url = url_of(asset.id, logo.extension)
        audit.record(current, actor, "logo_uploaded", f"program:{current.id}", now,
                     before={"logo_url": before}, after={"logo_url": url},
                     content_type=logo.content_type, bytes=len(logo.content),
                     width=logo.width, height=logo.height, sha256=logo.sha256)
        current.branding = {**(current.branding or {}), "logo_url": url}
        return url
    return _saved(program, work)


def logo_url(program: Program) -> str:
    """The program's own logo, "" when the app shows the default one."""
    return str((program.branding or {}).get("logo_url") or "")


def remove_logo(program: Program, actor: str, now: dt.datetime) -> None:
    """The app shows the default logo again ([mobile] default_logo_url)."""
    def work() -> None:
        current = _locked(program)
        brand = dict(current.branding or {})
        before = brand.pop("logo_url", "")
        if not before:
            return
        current.branding = brand
        audit.record(current, actor, "logo_removed", f"program:{current.id}", now,
                     before={"logo_url": before}, after={"logo_url": ""})
    _saved(program, work)


def logo_file(slug: str, logo_id: int) -> Logo | None:
    """An uploaded logo of the program `slug`, for anyone (the phone app loads it)."""
    def read() -> Logo | None:
        asset = db.session.scalar(
            select(ProgramAsset).join(Program, Program.id == ProgramAsset.program_id)
            .where(ProgramAsset.id == logo_id, ProgramAsset.kind == "logo",
                   Program.slug == slug))
        if asset is None:
            return None
        extension = next(ext for mime, ext in LOGO_TYPES.values()
                         if mime == asset.content_type)
        return Logo(asset.content_type, extension, asset.content, asset.width, asset.height)
    return retry_read(read)


# --- SMS texts and quiet hours -------------------------------------------------------------

def sms_languages() -> list[str]:
    return sorted(programs.settings()["sms"]["templates"])


def sms_texts(program: Program, language: str) -> tuple[dict[str, str], dict[str, str]]:
    """The program's texts in `language` and the config's, template by template."""
    defaults = dict(programs.settings()["sms"]["templates"][language])
    own = sms_config(program)["templates"].get(language, {})
    return {name: str(own.get(name, text)) for name, text in defaults.items()}, defaults


def preview_sms(program: Program, language: str, texts: Mapping[str, str],
                now: dt.datetime) -> list[sms_templates.TemplatePreview]:
    """The texts as typed, written as a customer would read them (nothing is saved)."""
    current, _ = sms_texts(program, language)
    typed = {name: str(texts.get(name, text)) for name, text in current.items()}
    return sms_templates.preview(program, language, typed, sms_config(program),
                                 programs.local_day(program, now))


def save_sms_texts(program: Program, language: str, texts: Mapping[str, str], actor: str,
                   now: dt.datetime) -> list[str]:
    """The program's texts in `language`, every one checked first; a text equal to the
    config's follows the config again. Returns the names of the texts that changed."""
    def work() -> list[str]:
        current = _locked(program)
        shown, defaults = sms_texts(current, language)
        checked = {name: sms_templates.checked_template(name, texts[name])
                   for name in defaults if name in texts}
        changed = sorted(name for name, text in checked.items() if shown[name] != text)
        if not changed:
            return []
        brand = dict(current.branding or {})
        sms = dict(brand.get("sms") or {})
        all_texts = dict(sms.get("templates") or {})
        own = dict(all_texts.get(language) or {})
        for name in changed:
            if checked[name] == defaults[name]:
                own.pop(name, None)
            else:
                own[name] = checked[name]
        all_texts[language] = own
        current.branding = {**brand, "sms": {**sms, "templates": all_texts}}
        audit.record(current, actor, "sms_texts_set", f"program:{current.id}", now,
                     before={name: shown[name] for name in changed},
                     after={name: checked[name] for name in changed}, language=language)
        return changed
    return _saved(program, work)


def quiet_hours(program: Program) -> tuple[str, str]:
    config = sms_config(program)
    return str(config["quiet_hours_start"] or ""), str(config["quiet_hours_end"] or "")


def save_quiet_hours(program: Program, start: str, end: str, actor: str,
                     now: dt.datetime) -> None:
    """When balance SMS and expiry warnings wait (the program's time zone); none when both
    are empty. The config's hours follow the config again."""
    new = sms_templates.checked_quiet_hours(start, end)

    def work() -> None:
        current = _locked(program)
        before = quiet_hours(current)
        if before == new:
            return
        config = programs.settings()["sms"]
        brand = dict(current.branding or {})
        sms = {key: value for key, value in (brand.get("sms") or {}).items()
               if key not in ("quiet_hours_start", "quiet_hours_end")}
        if new != (config["quiet_hours_start"], config["quiet_hours_end"]):
            sms.update(quiet_hours_start=new[0], quiet_hours_end=new[1])
        current.branding = {**brand, "sms": sms}
        audit.record(current, actor, "quiet_hours_set", f"program:{current.id}", now,
                     before={"start": before[0], "end": before[1]},
                     after={"start": new[0], "end": new[1]})
    _saved(program, work)


# --- saving --------------------------------------------------------------------------------

def _locked(program: Program) -> Program:
    """The program row read again and locked (PostgreSQL) for the rest of the transaction:
    two saves at once apply one after the other, each audited against what it replaced."""
    return db.session.scalars(select(Program).where(Program.id == program.id)
                              .with_for_update().execution_options(populate_existing=True)
                              ).one()


def _saved(program: Program, work: Callable[[], Any]) -> Any:
    """Run a save; once committed, this worker's POS API cache forgets the program, so its
    next sale uses the new settings. Other workers and servers: within [service]
    auth_cache_seconds (the till's and the phone's requests read the program every time)."""
    result = run_in_transaction(work)
    programs.forget_cached_program(program.id)
    return result
