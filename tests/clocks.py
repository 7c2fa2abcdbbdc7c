"""A clock the tests move by hand: naive UTC, as pos_loyalty.clock.now answers."""
from __future__ import annotations

import datetime as dt


class Clock:
    """Called, it answers `moment`, which moves only when a test says so."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)
