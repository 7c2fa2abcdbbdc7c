"""The next expiry a customer sees (/me/balance, the customer record) is read from the first
expiry's local day only: the same day and points as summing every lot, spent lots skipped
and the day being the program's (Paris), not UTC's."""
import datetime as dt

from pos_loyalty import balances
from pos_loyalty.db import db
from pos_loyalty.models import Account


def next_expiry(shop, card: str):
    account = db.session.get(Account, shop.look_up(card)["account"]["id"])
    return balances.next_expiry(shop.program, account, shop.now)


def test_next_expiry_sums_the_first_local_day_and_skips_spent_lots(shop):
    card = shop.customer()
    shop.now = dt.datetime(2026, 3, 9, 10, 0)       # 11:00 in Paris: lot A, 30 points
    shop.sell(card, 3000)
    shop.now = dt.datetime(2026, 3, 9, 22, 30)      # 23:30 in Paris: lot B, 40 points
    shop.sell(card, 4000)
    shop.now = dt.datetime(2026, 3, 9, 23, 30)      # 00:30 on the 10th in Paris: lot C, 50
    shop.sell(card, 5000)
    assert next_expiry(shop, card) == {"date": "2027-03-09", "points": 70}
    shop.now = dt.datetime(2026, 3, 10, 12, 0)      # spends A's 30 and 20 of B; lot D, 95
    shop.sell(card, 10000, redeem_points=50)
    assert next_expiry(shop, card) == {"date": "2027-03-09", "points": 20}
    shop.now = dt.datetime(2026, 3, 11, 12, 0)      # spends B's last 20; lot E, 98
    shop.sell(card, 10000, redeem_points=20)
    assert next_expiry(shop, card) == {"date": "2027-03-10", "points": 145}


def test_an_account_with_nothing_to_expire_has_no_next_expiry(shop):
    card = shop.customer()
    assert next_expiry(shop, card) is None
