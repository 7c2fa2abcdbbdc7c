"""An admin approving or rejecting support's adjustments above the limit
(`adjustment_requests`): an approval writes the adjustment in its own transaction, once."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty import adjustment_requests, metrics
from pos_loyalty.db import retry_read, run_in_transaction
from pos_loyalty.models import Program


def waiting(program: Program, limit: int) -> list[adjustment_requests.Waiting]:
    return retry_read(lambda: adjustment_requests.waiting(program, limit))


def approve(program: Program, request_id: int, actor: str, now: dt.datetime,
            staff_id: int | None = None) -> dict[str, Any]:
    """Apply the request's adjustment; a request decided already is refused (409)."""
    done = run_in_transaction(lambda: adjustment_requests.approve(
        program, request_id, actor, now, staff_id=staff_id))
    metrics.points_adjusted(done["points"])
    return done


def reject(program: Program, request_id: int, actor: str, now: dt.datetime) -> int:
    """Refuse the request: no point moves; the customer's account id."""
    return run_in_transaction(lambda: adjustment_requests.reject(program, request_id, actor,
                                                                 now))
