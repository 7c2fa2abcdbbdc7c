"""Per-IP rate limits on the auth endpoints (Flask-Limiter), read from [mobile] per request."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# One limiter, bound to the app by init_app(); its storage belongs to the last app bound, which
# is the only one in a server process (tests build one app at a time).
limiter = Limiter(key_func=get_remote_address)


def init_limiter(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["LOYALTY"]["mobile"]["rate_limit_storage_url"]
    limiter.init_app(app)


@limiter.request_filter
def outside_mobile_api() -> bool:
    """Only the mobile API has limits: every other request skips the limiter's work."""
    return request.blueprint != "mobile_api"


def auth_limit() -> str:
    return current_app.config["LOYALTY"]["mobile"]["auth_rate_limit"]


def code_limit() -> str:
    return current_app.config["LOYALTY"]["mobile"]["code_rate_limit"]
