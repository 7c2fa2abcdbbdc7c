"""Programs, stores, terminals and staff: the set-up an admin does once."""
from __future__ import annotations

import datetime as dt
import json
import math
import time
import weakref
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select, update

from pos_loyalty.db import db, retry_read
from pos_loyalty.errors import NotFound, UsernameTaken, ValidationFailed
from pos_loyalty.models import Program, Staff, Store, Terminal
from pos_loyalty.models.program import STAFF_ROLES
from pos_loyalty.payloads import plain_text
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


# A store's texts and the longest each column holds; address and hours may run over lines.
STORE_TEXTS = {"name": 200, "address": 400, "phone": 32, "opening_hours": 400}
MULTI_LINE_STORE_TEXTS = ("address", "opening_hours")
COORDINATE_LIMITS = {"latitude": 90, "longitude": 180}


def checked_store_details(details: dict[str, Any]) -> dict[str, Any]:
    """A store's details as saved (every field of STORE_TEXTS and COORDINATE_LIMITS): texts
    trimmed, plain and within their columns; a position with both coordinates in range, or
    none. Coordinates may come as text ("45,76" as typed in French). ValidationFailed names
    the first bad field."""
    checked: dict[str, Any] = {}
    for field, max_length in STORE_TEXTS.items():
        checked[field] = _store_text(details.get(field), field, max_length)
    if not checked["name"]:
        raise ValidationFailed("A store needs a name.", field="name")
    for field, limit in COORDINATE_LIMITS.items():
        checked[field] = _coordinate(details.get(field), field, limit)
    if (checked["latitude"] is None) != (checked["longitude"] is None):
        missing = "latitude" if checked["latitude"] is None else "longitude"
        raise ValidationFailed("Give both the latitude and the longitude, or neither.",
                               field=missing)
    return checked


def _store_text(value: Any, field: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text.", field=field)
    lines = [plain_text(" ".join(line.split()), field) for line in value.splitlines()]
    text = ("\n" if field in MULTI_LINE_STORE_TEXTS else " ").join(line for line in lines if line)
    if len(text) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters.", field=field)
    return text


def _coordinate(value: Any, field: str, limit: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not -limit <= number <= limit:   # NaN fails both
        raise ValidationFailed(f"{field} is a number from -{limit} to {limit}.", field=field)
    return number


def create_store(program: Program, name: str, **fields: Any) -> Store:
    store = Store(program_id=program.id, **checked_store_details({**fields, "name": name}))
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
                        name=name or f"{store.name[:TERMINAL_NAME_MAX_LENGTH - 5]} till",
                        api_key_hash=hash_api_key(key))
    db.session.add(terminal)
    db.session.flush()
    return terminal, key


TERMINAL_NAME_MAX_LENGTH = 100   # Terminal.name
TERMINAL_CACHE = "pos_loyalty.terminal_cache"
TERMINAL_SEEN = "pos_loyalty.terminal_seen"
# How stale Terminal.last_seen_at may be: it is written at most this often per terminal.
LAST_SEEN_EVERY = dt.timedelta(seconds=60)


def terminal_for_key(key: str, now: dt.datetime) -> tuple[Terminal, Program, Store] | None:
    """The active terminal holding `key`, its program and its store.

    Every POS request asks this, so the answer is kept in the worker's memory for
    [service] auth_cache_seconds: a deactivated terminal is refused within that time.
    """
    digest = hash_api_key(key)
    cache = current_app.extensions.setdefault(TERMINAL_CACHE, {})
    cached = cache.get(digest)
    if cached is None or cached[0] < time.monotonic():
        # The request's first statement: a connection lost under it is replaced, not a 503.
        row = retry_read(lambda: db.session.execute(
            select(Terminal, Program, Store).join(Program, Program.id == Terminal.program_id)
            .join(Store, Store.id == Terminal.store_id)
            .where(Terminal.api_key_hash == digest, Terminal.active.is_(True))).first())
        if row is None:
            return None
        _note_terminal_seen(row[0].id, now)
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
    cache = current_app.extensions.get(TERMINAL_CACHE, {})
    for digest, cached in list(cache.items()):
        if cached[2].id == program_id:
            cache.pop(digest, None)


def _note_terminal_seen(terminal_id: int, now: dt.datetime) -> None:
    """Write Terminal.last_seen_at at most once a minute per terminal, off the sale's path.

    Only when the key was read from the database anyway (once per auth_cache_seconds per
    worker; a request answered from the cache costs nothing), and only when this worker has
    not written it for a minute. The UPDATE's guard keeps several workers from writing within
    the minute, and it is committed at once, before the use case begins: the row (on SQLite,
    the write lock the key's read already took) is held for one statement, never for a
    sale's whole transaction, and a refused sale still counts as the terminal being seen.
    """
    written = current_app.extensions.setdefault(TERMINAL_SEEN, {})
    last = written.get(terminal_id)
    if last is not None and now - last < LAST_SEEN_EVERY:
        return
    db.session.execute(
        update(Terminal).where(Terminal.id == terminal_id, or_(
            Terminal.last_seen_at.is_(None), Terminal.last_seen_at <= now - LAST_SEEN_EVERY))
        .values(last_seen_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    written[terminal_id] = now


def forget_terminal_key(api_key_hash: str) -> None:
    """This worker stops trusting a key it remembered (a revoked terminal): at once here,
    within auth_cache_seconds on the other workers and servers."""
    current_app.extensions.get(TERMINAL_CACHE, {}).pop(api_key_hash, None)


def create_staff(program: Program, username: str, role: str, password: str,
                 store_id: int | None, hasher: Hasher) -> Staff:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(STAFF_ROLES)}", field="role")
    if len(password) < 8:
        raise ValidationFailed("A password needs at least 8 characters.", field="password")
    username = checked_username(username)
    if store_id is not None:
        get_store(program, store_id)
    exists = db.session.scalar(select(Staff.id).where(Staff.program_id == program.id,
                                                      Staff.username == username))
    if exists:
        raise UsernameTaken(f"The username {username!r} is taken.", field="username")
    staff = Staff(program_id=program.id, store_id=store_id, username=username, role=role,
                  password_hash=hasher.hash_password(password))
    db.session.add(staff)
    db.session.flush()
    return staff


USERNAME_MAX_LENGTH = 100   # Staff.username


def checked_username(username: Any) -> str:
    """A login's name as typed at sign-in (which trims it): plain text, 1 to 100 characters."""
    name = username.strip() if isinstance(username, str) else ""
    if not name or len(name) > USERNAME_MAX_LENGTH:
        raise ValidationFailed(f"A username has 1 to {USERNAME_MAX_LENGTH} characters.",
                               field="username")
    return plain_text(name, "username")


def rename_program(program: Program, name: str) -> Program:
    """A new display name (SMS, receipts, the app's branding); the slug, which apps and
    scripts use, stays."""
    program.name = checked_name(name)
    db.session.flush()
    return program
