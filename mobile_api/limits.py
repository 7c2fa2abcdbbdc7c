"""The mobile API's per-IP limits, read from [mobile] per request (pos_loyalty.rate_limits
counts them, in the storage every app server shares)."""
from __future__ import annotations

from flask import current_app


def auth_limit() -> str:
    return current_app.config["LOYALTY"]["mobile"]["auth_rate_limit"]


def code_limit() -> str:
    return current_app.config["LOYALTY"]["mobile"]["code_rate_limit"]
