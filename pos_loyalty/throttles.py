"""Wrong PINs and staff passwords, counted three ways, instead of a lock anyone can trigger.

A try names a subject (the account, or for an unknown phone or username the name typed, so
that it is counted and answered exactly like a known one) and a place (the till's terminal, or
the client's IP). Wrong tries are counted
  - per subject at this place: `pin_max_attempts` per `pin_lockout_minutes` (5 per 15 minutes):
    the customer who mistypes at the till waits, a guesser elsewhere does not make them wait;
  - per subject from anywhere: `[security] account_try_limit` (10 per hour), so guessers
    spread over many places still get only a few tries an hour;
  - per place, whatever the subject: `[security] place_try_limit`, so one till or address
    spraying 1234 over many accounts is stopped.
A spent count answers `TooManyTries` (429, Retry-After) until its window ends. A right secret
forgets the subject's count at that place; a new PIN or password is a new subject, so a reset
starts every count of the account again. The counts live in the rate-limit storage every app server
shares ([service] rate_limit_storage_url).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pos_loyalty import rate_limits
from pos_loyalty.errors import TooManyTries


@dataclass(frozen=True)
class TryPolicy:
    """The three limits, in the rate-limit syntax ("5 per 15 minutes")."""
    per_subject_and_place: str
    per_subject: str
    per_place: str

    @classmethod
    def from_settings(cls, security: dict[str, Any]) -> TryPolicy:
        return cls(f"{int(security['pin_max_attempts'])} per "
                   f"{int(security['pin_lockout_minutes'])} minutes",
                   str(security["account_try_limit"]), str(security["place_try_limit"]))


def _counts(policy: TryPolicy, kind: str, subject: str, place: str) -> list[tuple[str, tuple]]:
    counts = [(policy.per_subject_and_place, (kind, "subject-place", subject, place)),
              (policy.per_subject, (kind, "subject", subject))]
    if place:
        counts.append((policy.per_place, (kind, "place", place)))
    return counts


def refuse_if_throttled(policy: TryPolicy, kind: str, subject: str, place: str) -> None:
    """TooManyTries, with the seconds to wait, when any count is spent; before any check."""
    waits = [rate_limits.seconds_until_free(limits, *key)
             for limits, key in _counts(policy, kind, subject, place)
             if rate_limits.spent(limits, *key)]
    if waits:
        raise TooManyTries(retry_after=max(waits))


def count_wrong_try(policy: TryPolicy, kind: str, subject: str, place: str) -> int:
    """Count one wrong try everywhere; the tries this subject has left at this place."""
    counts = _counts(policy, kind, subject, place)
    for limits, key in counts:
        rate_limits.hit(limits, *key)
    left = [rate_limits.remaining(limits, *key) for limits, key in counts[:2]]
    return max(min(value for value in left if value is not None), 0)


def forget_wrong_tries(policy: TryPolicy, kind: str, subject: str, place: str) -> None:
    """A right secret: the subject's count at this place starts again. The others stay, so a
    right PIN never gives a guesser elsewhere more tries."""
    limits, key = _counts(policy, kind, subject, place)[0]
    rate_limits.clear(limits, *key)


def app_try_policy() -> TryPolicy:
    from flask import current_app
    return TryPolicy.from_settings(current_app.config["LOYALTY"]["security"])
