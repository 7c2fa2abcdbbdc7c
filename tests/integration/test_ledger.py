"""The ledger's command-line faces: `expire` says what it did, `verify` finds a balance that
no longer matches its entries. The ledger's rules over time (pending window, expiry, caps,
adjustments, entries) are tested on the use cases: test_usecases_ledger.py."""
import datetime as dt

from pos_loyalty import accounts
from pos_loyalty.db import run_in_transaction


def test_expire_says_what_it_released_expired_and_ended(shop, runner):
    shop.till.set_rules(pending_days=1)
    start = shop.now
    card = shop.customer(points=30)
    shop.sell(card, 2000)                      # 20 points pending for a day
    shop.hold(card, 10, ttl_seconds=60)        # a hold nobody captures
    shop.now = start + dt.timedelta(days=2)
    result = runner.invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    assert result.output == "released 20 points, expired 0 points, ended 1 holds\n"
    shop.now = start + dt.timedelta(days=2 * 365)
    result = runner.invoke(args=["expire"])
    assert result.output == "released 0 points, expired 50 points, ended 0 holds\n"


def test_verify_finds_a_tampered_balance(till, runner):
    card = till.customer(points=100)
    assert runner.invoke(args=["verify"]).exit_code == 0

    def tamper():
        account = accounts.account_of_card(accounts.find_card(till.program(), card))
        account.available_points = 1_000_000
    run_in_transaction(tamper)
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "available vs entries: cached 1000000, computed 100" in result.output
