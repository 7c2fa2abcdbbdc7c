"""Idempotent writes: the first answer to a key is stored and replayed to every retry."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.errors import IdempotencyConflict, IdempotencyKeyMissing, ValidationFailed
from pos_loyalty.models import IdempotencyKey
from pos_loyalty.statements import Outcome, Step, run_together

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
                 required: bool = True) -> Body:
    """Run a write in one transaction, once per Idempotency-Key within `scope`.

    Same key and same request: the first answer, replayed. Same key and another request:
    IdempotencyConflict. No key: IdempotencyKeyMissing, unless the write is `required=False`
    (it then simply runs). The key is claimed before `work` runs, its answer stored after.
    """
    if key is None and not required:
        return run_in_transaction(work)
    claim = Claim.of(scope, key, request)

    def claimed_then_work() -> Body:
        try:
            claim.check(run_together([claim.step()])[0])
        except AnsweredAlready:
            return claim.replay()
        body = work()
        run_together([claim.answer(body)])
        return body
    return run_in_transaction(claimed_then_work)


def once_per_key_with_claim(scope: str, key: str | None, request: Any,
                            work: Callable[[Claim], Body]) -> Body:
    """As `once_per_key`, for a write that sends the claim with its own first read and the
    answer with its own writes, a round trip less for each (the sale). `work` checks the
    claim's outcome (`Claim.check`) before it uses anything else it read."""
    claim = Claim.of(scope, key, request)

    def work_or_replay() -> Body:
        try:
            return work(claim)
        except AnsweredAlready:
            return claim.replay()
    return run_in_transaction(work_or_replay)


class AnsweredAlready(Exception):
    """The key was claimed by an earlier request: replay its answer instead."""


@dataclass(frozen=True)
class Claim:
    """An Idempotency-Key to claim in a write's transaction, and its answer to store.

    The key row is claimed with INSERT ... ON CONFLICT DO NOTHING: a concurrent retry waits on
    the unique index until the first transaction ends, then replays its stored answer. A
    failed first attempt rolls the key back with everything else, so a retry runs afresh.
    """
    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, scope: str, key: str | None, request: Any) -> Claim:
        if not key:
            raise IdempotencyKeyMissing()
        if "\x00" in key:
            raise ValidationFailed("The Idempotency-Key cannot contain a NUL character.",
                                   field="Idempotency-Key")
        if len(key) > 255:
            raise ValidationFailed("The Idempotency-Key is longer than 255 characters.",
                                   field="Idempotency-Key")
        return cls(scope, key, request_fingerprint(request))

    def step(self) -> Step:
        """The claim: a row comes back when this request is the key's first."""
        return Step(_CLAIMS[db.session.get_bind().dialect.name],
                    {"scope": self.scope, "key": self.key, "request_hash": self.fingerprint,
                     "created_at": utcnow()})

    def check(self, outcome: Outcome) -> None:
        """Raise AnsweredAlready unless the claim's row came back."""
        if not outcome.rows:
            raise AnsweredAlready()

    def answer(self, body: Body) -> Step:
        """Store the answer, for the retries to replay."""
        return Step(STORE_ANSWER, {"b_scope": self.scope, "b_key": self.key, "b_status": 200,
                                   "b_response": body})

    def replay(self) -> Body:
        stored = db.session.execute(
            select(IdempotencyKey.request_hash, IdempotencyKey.status_code,
                   IdempotencyKey.response)
            .where(IdempotencyKey.scope == self.scope, IdempotencyKey.key == self.key)).one()
        if stored.request_hash != self.fingerprint or stored.status_code is None:
            raise IdempotencyConflict()
        return stored.response


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

