"""App keys: one or more per program, sent by the brand's app as X-App-Key."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from pos_loyalty.db import db
from pos_loyalty.models import AppKey, Program
from pos_loyalty.security import hash_api_key

APP_KEY_PREFIX = "ak_"


def create_app_key(program: Program, label: str = "") -> str:
    """A new key for the program's app; only its SHA-256 is kept, the key is shown once."""
    key = APP_KEY_PREFIX + secrets.token_urlsafe(32)
    db.session.add(AppKey(program_id=program.id, label=label.strip()[:100],
                          key_hash=hash_api_key(key)))
    db.session.flush()
    return key


def program_for_app_key(key: str) -> Program | None:
    """The program an active key belongs to, else None."""
    if not key:
        return None
    return db.session.scalar(
        select(Program).join(AppKey, AppKey.program_id == Program.id)
        .where(AppKey.key_hash == hash_api_key(key), AppKey.active.is_(True)))
