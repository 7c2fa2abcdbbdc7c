"""Programs as the operator sets them up: the first one at `init`, a new name, its rules."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import inspect, select

from pos_loyalty import audit, program_setup, programs, tiers
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Program
from pos_loyalty.rules import ProgramRules


def has_program() -> bool:
    """Whether a program exists; False before the schema does (init asks before migrating)."""
    if not inspect(db.engine).has_table(Program.__tablename__):
        return False
    return run_in_transaction(
        lambda: db.session.scalar(select(Program.id).limit(1))) is not None


def identity_to_create(given: Mapping[str, str | None], *, production: bool,
                       fallback: Mapping[str, str]) -> program_setup.ProgramIdentity:
    """The checked identity of a new program. Production takes only what the operator gave
    and refuses when a field is missing; development fills the gaps from `fallback` (the
    [program] settings, the demo's)."""
    missing = program_setup.missing_fields(dict(given))
    if production and missing:
        flags = ", ".join(f"--{field}" for field in missing)
        raise ValidationFailed(
            "In production, `pos-loyalty init` creates the program only from what you give it: "
            f"missing {flags}. Example: pos-loyalty init --name \"Boulangerie Martin\" "
            "--currency EUR --timezone Europe/Paris --locale fr_FR", field=missing[0])
    chosen = {field: given.get(field) or fallback[field]
              for field in program_setup.IDENTITY_FIELDS}
    named = production or given.get("name")   # a chosen name makes its own slug
    slug = given.get("slug") or (None if named else fallback.get("slug"))
    return program_setup.checked_identity(slug=slug, **chosen)


def set_up_program(identity: program_setup.ProgramIdentity) -> tuple[Program, bool]:
    """The first program, created from `identity` when there is none; (program, created)."""
    def work() -> tuple[Program, bool]:
        existing = db.session.scalar(select(Program).order_by(Program.id).limit(1))
        if existing is not None:
            return existing, False
        return program_setup.create_program(identity), True
    return run_in_transaction(work)


def rename_program(slug: str, name: str) -> Program:
    """The program's new display name; its slug (apps, scripts) does not change."""
    def work() -> Program:
        program = db.session.scalar(select(Program).where(Program.slug == slug))
        if program is None:
            raise NotFound(f"No program {slug!r}.")
        return programs.rename_program(program, name)
    return run_in_transaction(work)


def set_rule(slug: str, key: str, value: Any, actor: str, now: dt.datetime) -> Program:
    """One of the program's rules (a `[rules]` key) set for this program only, checked with
    all the others first (a bad value changes nothing); `None` goes back to the config's.

    The tier ladder has its own command (`tiers set`), which places the accounts too."""
    def work() -> Program:
        program = db.session.scalar(select(Program).where(Program.slug == slug))
        if program is None:
            raise NotFound(f"No program {slug!r}.")
        known = programs.settings()["rules"]
        if key not in known or key in tiers.TIER_SETTINGS:
            raise ValidationFailed(f"{key!r} is not a rule that can be set here "
                                   f"(see `[rules]` in config/default.toml; tiers: "
                                   f"`pos-loyalty tiers set`).", field="key")
        rules = {k: v for k, v in (program.rules or {}).items() if k != key}
        if value is not None:
            rules[key] = value
        try:
            ProgramRules.from_settings({**known, **rules})
        except (ValueError, TypeError, KeyError) as error:
            raise ValidationFailed(f"{key}: {error}", field="value") from None
        before = (program.rules or {}).get(key)
        program.rules = rules
        audit.record(program, actor, "rule_set", f"program:{program.id}", now, key=key,
                       before=before, after=value)
        db.session.flush()
        return program
    return run_in_transaction(work)
