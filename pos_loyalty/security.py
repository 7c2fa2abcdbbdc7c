"""Secrets: PIN and password hashing (argon2id), terminal keys, and PIN lockout."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update

from pos_loyalty.db import db

TERMINAL_KEY_PREFIX = "tk_"


@dataclass(frozen=True)
class LockoutPolicy:
    max_attempts: int
    lockout: dt.timedelta

    @classmethod
    def from_settings(cls, security: dict[str, Any]) -> LockoutPolicy:
        return cls(int(security["pin_max_attempts"]),
                   dt.timedelta(minutes=int(security["pin_lockout_minutes"])))


def make_hasher(security: dict[str, Any]) -> PasswordHasher:
    return PasswordHasher(time_cost=int(security["argon2_time_cost"]),
                          memory_cost=int(security["argon2_memory_kib"]),
                          parallelism=int(security["argon2_parallelism"]))


def hash_secret(hasher: PasswordHasher, secret: str) -> str:
    return hasher.hash(secret)


def verify_secret(hasher: PasswordHasher, stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches; a missing or corrupt hash never matches."""
    if not stored_hash:
        return False
    try:
        return hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def record_failed_attempt(model: Any, row_id: int, counter: Any, now: dt.datetime,
                          policy: LockoutPolicy) -> int:
    """One more failure, counted in the database so every app server agrees; returns the
    attempts left, and at zero locks the row (`model.locked_until`) and restarts the count."""
    attempts = db.session.execute(
        update(model).where(model.id == row_id).values({counter: counter + 1})
        .returning(counter)).scalar_one()
    left = max(policy.max_attempts - attempts, 0)
    if left == 0:
        db.session.execute(update(model).where(model.id == row_id)
                           .values({counter: 0, model.locked_until: now + policy.lockout}))
    return left


def new_terminal_key() -> str:
    return TERMINAL_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Keys carry 256 random bits, so SHA-256 is enough and lets us look a key up by hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def app_hasher() -> PasswordHasher:
    """The running app's hasher, built once from [security] by create_app()."""
    from flask import current_app
    return current_app.extensions["pos_loyalty.hasher"]


def app_lockout_policy() -> LockoutPolicy:
    from flask import current_app
    return LockoutPolicy.from_settings(current_app.config["LOYALTY"]["security"])
