"""The time the core sees: naive UTC, replaceable per app so tests can freeze it."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from pos_loyalty.db import utcnow


def now() -> dt.datetime:
    return current_app.extensions.get("pos_loyalty.clock", utcnow)()
