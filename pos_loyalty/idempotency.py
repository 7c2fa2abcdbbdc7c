"""Idempotent writes: the first answer to a key is stored and replayed to every retry."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from pos_loyalty.batch import Outcome, Step, defer, run_together, send_riding, send_with_next
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.errors import IdempotencyConflict, IdempotencyKeyMissing, ValidationFailed
from pos_loyalty.models import IdempotencyKey

Reply = tuple[int, dict[str, Any]]
Body = dict[str, Any]


def request_fingerprint(request: Any) -> str:
    """A hash of the parsed request (dataclasses, tuples, numbers, text): the same request
    sent by any face, in any key order, has the same fingerprint."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def once_per_key(scope: str, key: str | None, request: Any, work: Callable[[], Body], *,
                 required: bool = True, claim_with_first_read: bool = False) -> Body:
    """Run a write in one transaction, once per Idempotency-Key within `scope`.

    Same key and same request: the first answer, replayed. Same key and another request:
    IdempotencyConflict. No key: IdempotencyKeyMissing, unless the write is `required=False`
    (it then simply runs).
    """
    if key is None and not required:
        return run_in_transaction(work)
    fingerprint = request_fingerprint(request)
    _status, body = run_in_transaction(lambda: run_once(
        scope, key, fingerprint, lambda: (200, work()),
        claim_with_first_read=claim_with_first_read))
    return body


class AnsweredAlready(Exception):
    """The key was claimed by an earlier request: replay its answer instead."""


def run_once(scope: str, key: str | None, fingerprint: str, work: Callable[[], Reply], *,
             claim_with_first_read: bool = False) -> Reply:
    """Run `work` unless this key already answered; call inside the write transaction.

    The key row is claimed with INSERT ... ON CONFLICT DO NOTHING: a concurrent retry waits on
    the unique index until the first transaction ends, then replays its stored answer. A
    failed first attempt rolls the key back with everything else, so a retry runs afresh.
    With `claim_with_first_read`, the claim rides with the first `batch.run_together` of
    `work` (one round trip less); its outcome is checked before `work` sees any row.
    """
    if not key:
        raise IdempotencyKeyMissing()
    if "\x00" in key:
        raise ValidationFailed("The Idempotency-Key cannot contain a NUL character.",
                               field="Idempotency-Key")
    if len(key) > 255:
        raise ValidationFailed("The Idempotency-Key is longer than 255 characters.",
                               field="Idempotency-Key")
    claim = Step(_CLAIMS[db.session.get_bind().dialect.name],
                 {"scope": scope, "key": key, "request_hash": fingerprint,
                  "created_at": utcnow()})
    if claim_with_first_read:
        send_with_next(claim, _claimed)
    elif not run_together([claim])[0].rows:
        return _replay(scope, key, fingerprint)
    try:
        status, body = work()
        send_riding()
    except AnsweredAlready:
        return _replay(scope, key, fingerprint)
    # Sent with the other deferred writes at commit: one round trip less.
    defer(Step(STORE_ANSWER, {"b_scope": scope, "b_key": key, "b_status": status,
                              "b_response": body}))
    return status, body


def _claimed(outcome: Outcome) -> None:
    if not outcome.rows:
        raise AnsweredAlready()


_keys = IdempotencyKey.__table__
# Built once: every write of every till runs them.
STORE_ANSWER = (_keys.update()
                .where(_keys.c.scope == bindparam("b_scope"), _keys.c.key == bindparam("b_key"))
                .values(status_code=bindparam("b_status"),
                        response=bindparam("b_response", type_=_keys.c.response.type)))
_CLAIMS = {
    name: (dialect.insert(_keys).on_conflict_do_nothing(index_elements=["scope", "key"])
           .returning(_keys.c.id))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def _replay(scope: str, key: str, fingerprint: str) -> Reply:
    stored = db.session.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.status_code, IdempotencyKey.response)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)).one()
    if stored.request_hash != fingerprint or stored.status_code is None:
        raise IdempotencyConflict()
    return stored.status_code, stored.response
