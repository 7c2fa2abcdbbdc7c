"""Programs, stores, terminals and staff: the set-up an admin does once."""
from __future__ import annotations

import datetime as dt
import json
import time
import weakref
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from pos_loyalty.db import db, retry_read
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.models.program import STAFF_ROLES
from pos_loyalty.program_setup import checked_name
from pos_loyalty.rules import ProgramRules, currency_exponent
from pos_loyalty.security import Hasher, hash_api_key, new_terminal_key


def settings() -> dict[str, Any]:
    return current_app.config["LOYALTY"]


def rules_for(program: Program) -> ProgramRules:
    """Config [rules] with the program's own overrides on top (kept per app: every sale asks).

    A sale asks a dozen times, with the same program object: each object remembers its
    answer for as long as its rules are the same object (rules are replaced, never changed
    in place), so the overrides (a tier ladder, say) are not serialized again at every call.
    """
    remembered = current_app.extensions.get(RULES_OF_PROGRAM)
    if remembered is None:
        remembered = current_app.extensions[RULES_OF_PROGRAM] = weakref.WeakKeyDictionary()
    overrides = program.rules
    known = remembered.get(program)
    if known is not None and known[0] is overrides and known[1] == program.currency:
        return known[2]
    key = (json.dumps(overrides, sort_keys=True) if overrides else "", program.currency)
    cache = current_app.extensions.setdefault("pos_loyalty.rules_cache", {})
    if key not in cache:
        merged = {**settings()["rules"], **(overrides or {})}
        cache[key] = ProgramRules.from_settings(merged, currency_exponent(program.currency))
    remembered[program] = (overrides, program.currency, cache[key])
    return cache[key]


RULES_OF_PROGRAM = "pos_loyalty.rules_of_program"


def local_day(program: Program, now: dt.datetime) -> dt.date:
    """The program's calendar day at naive-UTC `now`."""
    return now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(program.timezone)).date()


def local_day_start_utc(program: Program, day: dt.date) -> dt.datetime:
    return local_to_utc(program, dt.datetime.combine(day, dt.time(0)))


def local_to_utc(program: Program, moment: dt.datetime) -> dt.datetime:
    """Naive UTC of `moment`, read in the program's time zone when it names none."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(program.timezone))
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def utc_to_local(program: Program, moment: dt.datetime) -> dt.datetime:
    """The program's local time (naive) of naive-UTC `moment`."""
    return moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(program.timezone)).replace(
        tzinfo=None)


def default_program() -> Program:
    """The program the CLI works on when none is named: the first one. Outside production a
    missing one is made from [program] (the demo's); production names its program at
    `pos-loyalty init`, so nothing runs on a made-up "Demo Boulangerie"."""
    program = db.session.scalar(select(Program).order_by(Program.id).limit(1))
    if program is not None:
        return program
    if settings()["service"]["env"] == "production":
        raise NotFound("No loyalty program exists yet: run `pos-loyalty init --name ... "
                       "--currency ... --timezone ... --locale ...` first.")
    defaults = settings()["program"]
    program = Program(slug=defaults["slug"], name=defaults["name"], currency=defaults["currency"],
                      timezone=defaults["timezone"], locale=defaults["locale"], rules={},
                      branding={})
    db.session.add(program)
    db.session.flush()
    return program


def create_store(program: Program, name: str, **fields: Any) -> Store:
    if not name.strip():
        raise ValidationFailed("A store needs a name.", field="name")
    store = Store(program_id=program.id, name=name.strip(), **fields)
    db.session.add(store)
    db.session.flush()
    return store


def get_store(program: Program, store_id: int) -> Store:
    store = db.session.get(Store, store_id)
    if store is None or store.program_id != program.id:
        raise NotFound(f"No store {store_id} in this program.")
    return store


def create_terminal(program: Program, store_id: int, name: str = "") -> tuple[Terminal, str]:
    """A terminal and its API key; the key is shown once and only its hash is kept."""
    store = get_store(program, store_id)
    key = new_terminal_key()
    terminal = Terminal(program_id=program.id, store_id=store.id,
                        name=name or f"{store.name} till", api_key_hash=hash_api_key(key))
    db.session.add(terminal)
    db.session.flush()
    return terminal, key


def terminal_for_key(key: str) -> tuple[Terminal, Program, Store] | None:
    """The active terminal holding `key`, its program and its store.

    Every POS request asks this, so the answer is kept in the worker's memory for
    [service] auth_cache_seconds: a deactivated terminal is refused within that time.
    """
    digest = hash_api_key(key)
    cache = current_app.extensions.setdefault("pos_loyalty.terminal_cache", {})
    cached = cache.get(digest)
    if cached is None or cached[0] < time.monotonic():
        # The request's first statement: a connection lost under it is replaced, not a 503.
        row = retry_read(lambda: db.session.execute(
            select(Terminal, Program, Store).join(Program, Program.id == Terminal.program_id)
            .join(Store, Store.id == Terminal.store_id)
            .where(Terminal.api_key_hash == digest, Terminal.active.is_(True))).first())
        if row is None:
            return None
        ttl = float(settings()["service"]["auth_cache_seconds"])
        if ttl <= 0:
            terminal, program, store = row
            return terminal, program, store
        for loaded in row:
            db.session.expunge(loaded)
        cached = cache[digest] = (time.monotonic() + ttl, *row)
    # The terminal and program stay detached, shared by this worker's requests: they have no
    # relationships to load and nobody changes them. The store joins this request's session
    # (merge without a query) so that SMS texts find its name there.
    terminal, program, store = cached[1:]
    return terminal, program, db.session.merge(store, load=False)


def forget_cached_program(program_id: int) -> None:
    """A program's rules or branding changed: this worker's next POS request reads them again
    (other workers and servers within [service] auth_cache_seconds)."""
    cache = current_app.extensions.get("pos_loyalty.terminal_cache", {})
    for digest, cached in list(cache.items()):
        if cached[2].id == program_id:
            cache.pop(digest, None)


def create_staff(program: Program, username: str, role: str, password: str,
                 store_id: int | None, hasher: Hasher) -> Staff:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    if len(password) < 8:
        raise ValidationFailed("A password needs at least 8 characters.", field="password")
    if store_id is not None:
        get_store(program, store_id)
    exists = db.session.scalar(select(Staff.id).where(Staff.program_id == program.id,
                                                      Staff.username == username))
    if exists:
        raise ValidationFailed(f"The username {username!r} is taken.", field="username")
    staff = Staff(program_id=program.id, store_id=store_id, username=username, role=role,
                  password_hash=hasher.hash_password(password))
    db.session.add(staff)
    db.session.flush()
    return staff


def rename_program(program: Program, name: str) -> Program:
    """A new display name (SMS, receipts, the app's branding); the slug, which apps and
    scripts use, stays."""
    program.name = checked_name(name)
    db.session.flush()
    return program
