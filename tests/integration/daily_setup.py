"""What the tests of the daily rollups share: three days of a shop in Paris, March 2026
(UTC+1). The rules: 1 point per 1.00 paid in money, 10 points pay 1.00, points expire 12
months after they become available."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Card, TerminalDay

MONDAY = dt.datetime(2026, 3, 9, 10, 0)
TUESDAY = MONDAY + dt.timedelta(days=1)
# 00:30 in Paris on Wednesday 11 March.
JUST_AFTER_TUESDAY_MIDNIGHT = dt.datetime(2026, 3, 10, 23, 30)
THURSDAY = MONDAY + dt.timedelta(days=3)
SINCE = dt.date(2026, 3, 1)


def enrolled(card_number: str, via: str, store_id: int | None) -> None:
    """Say where a test customer joined (the enrolment paths record it)."""
    run_in_transaction(lambda: db.session.execute(
        update(Account).where(Account.id == select(Card.account_id).where(
            Card.number == card_number).scalar_subquery())
        .values(enrolled_via=via, enrolled_store_id=store_id)))


def three_days(shop) -> dict[str, int]:
    """Monday: Alice (till) buys 20.00; Bob (app, 500 points given by a manager) buys 30.00
    paying 100 points (10.00). Tuesday: Alice returns 10.00 of hers. Just after midnight, on
    Wednesday: Alice buys 15.00. The till reports 7 receipts without a card on Monday."""
    shop.now = MONDAY
    alice, bob = shop.customer(), shop.customer(points=500)
    enrolled(alice, "till", shop.till.store_id)
    enrolled(bob, "app", None)
    first = shop.sell(alice, 2000)
    shop.sell(bob, 3000, redeem_points=100)
    shop.now = TUESDAY
    shop.return_sale(first["sale_id"], 1000)
    shop.now = JUST_AFTER_TUESDAY_MIDNIGHT
    shop.sell(alice, 1500)
    run_in_transaction(lambda: db.session.add(TerminalDay(
        terminal_id=shop.till.terminal_id, day=dt.date(2026, 3, 9),
        program_id=shop.till.program_id, store_id=shop.till.store_id,
        receipts_without_card=7, reported_at=TUESDAY)))
    return {"store": shop.till.store_id}


