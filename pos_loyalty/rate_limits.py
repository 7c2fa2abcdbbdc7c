"""Counters every app server shares: the mobile API's per-IP limits and the core's throttles.

One storage ([service] rate_limit_storage_url) holds both, so a limit means the same thing with
one gunicorn worker or forty behind a load balancer: `memory://` counts per process and is only
for development and tests; production counts in Redis.

The mobile API's auth endpoints use Flask-Limiter's decorators (`limiter.shared_limit`); the
core counts its own events (lookups per terminal, wrong PINs per terminal, codes per program,
card links per account) with `hit`, which needs no request, or `count_or_refuse`, which answers
429 with the wait when a limit is spent.
"""
from __future__ import annotations

import math
import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from pos_loyalty.errors import TooManyRequests

# One limiter, bound to the app by init_app(); its storage belongs to the last app bound, which
# is the only one in a server process (tests build one app at a time).
limiter = Limiter(key_func=get_remote_address)


def init_rate_limits(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["LOYALTY"]["service"][
        "rate_limit_storage_url"]
    limiter.init_app(app)


@limiter.request_filter
def outside_mobile_api() -> bool:
    """Only the mobile API's views carry decorators: every other request skips their work."""
    from flask import request
    return request.blueprint != "mobile_api"


def retry_after_headers() -> dict[str, str]:
    """Retry-After for a request the mobile API's per-IP limits refused, like the core's own
    429s carry (Flask-Limiter's header option would stamp it on every answer, 200s too)."""
    refused = limiter.current_limit
    if refused is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(refused.reset_at - time.time())))}


def hit(limits: str, *key: str) -> bool:
    """Count one event under `key` against every limit in `limits` ("10 per minute;100 per
    hour"); False when any of them is already spent. An empty `limits` never refuses."""
    if not limits.strip():
        return True
    within = [limiter.limiter.hit(item, *key) for item in parse_many(limits)]
    return all(within)


def spent(limits: str, *key: str) -> bool:
    """True when `key` has no event left under `limits`, without counting one."""
    if not limits.strip():
        return False
    return not all(limiter.limiter.test(item, *key) for item in parse_many(limits))


def count_or_refuse(limits: str, *key: str) -> None:
    """Count one event under `key`; TooManyRequests (429, Retry-After) when a limit is spent."""
    if not hit(limits, *key):
        raise TooManyRequests(retry_after=seconds_until_free(limits, *key))


def seconds_until_free(limits: str, *key: str) -> int:
    """Seconds until every spent limit of `limits` counts `key` again (0: none is spent)."""
    if not limits.strip():
        return 0
    stats = [limiter.limiter.get_window_stats(item, *key) for item in parse_many(limits)]
    waits = [math.ceil(window.reset_time - time.time()) for window in stats
             if window.remaining <= 0]
    return max(1, *waits) if waits else 0


def remaining(limits: str, *key: str) -> int | None:
    """Events `key` may still count under the tightest of `limits` (None: no limit)."""
    if not limits.strip():
        return None
    return min(limiter.limiter.get_window_stats(item, *key).remaining
               for item in parse_many(limits))


def clear(limits: str, *key: str) -> None:
    """Forget what `key` counted under `limits`."""
    for item in parse_many(limits) if limits.strip() else []:
        limiter.limiter.clear(item, *key)
