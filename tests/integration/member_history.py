"""Members buying at the till at chosen moments, for the tests of the member measures."""
from __future__ import annotations

import datetime as dt

from pos_loyalty import programs
from pos_loyalty.analytics import Filters
from pos_loyalty.analytics.members import rollup_members
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program, Terminal


def at(day: str, hour: int = 10) -> dt.datetime:
    """Naive UTC, 11:00 in Paris in winter, 12:00 in summer."""
    return dt.datetime.fromisoformat(day).replace(hour=hour)


class History:
    """Members buying at the shop's store (or a second store) at chosen moments."""

    def __init__(self, shop) -> None:
        self.shop = shop
        self.cards: dict[str, str] = {}
        self._second: int | None = None

    def second_store(self) -> tuple[int, int]:
        """(store id, terminal id) of a second store, made once."""
        if self._second is None:
            def make() -> tuple[int, int]:
                program = self.shop.program
                store = programs.create_store(program, "Boulangerie Paris")
                return store.id, programs.create_terminal(program, store.id)[0].id
            self._second = run_in_transaction(make)
        return self._second

    def buy(self, member: str, moment: dt.datetime, total_minor: int = 1000,
            store: int = 1) -> dict:
        self.shop.now = moment
        if member not in self.cards:
            self.cards[member] = self.shop.customer()
        return self.shop.sell(self.cards[member], total_minor, terminal=self.terminal(store))

    def void(self, sale: dict, store: int = 1) -> None:
        self.shop.void(sale["sale_id"], terminal=self.terminal(store))

    def terminal(self, store: int) -> Terminal | None:
        """The second store's terminal, or None for the shop's own."""
        return db.session.get(Terminal, self.second_store()[1]) if store == 2 else None

    def roll_up(self, now: dt.datetime) -> None:
        rollup_members(self.program(), dt.date(2025, 1, 1), now)

    def program(self) -> Program:
        return self.shop.program

    def filters(self, first: dt.date, last: dt.date, now: dt.datetime,
                store_id: int | None = None) -> Filters:
        return Filters(self.program(), first, last, store_id, now)

