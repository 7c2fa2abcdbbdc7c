"""The ledger's rules over time: pending window, expiry, caps, adjustments, verification."""
import datetime as dt

from sqlalchemy import select

from pos_loyalty import accounts, adjustments, verification
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import LedgerEntry
from pos_loyalty.rules import BasketLine



def freeze(app, moment):
    app.extensions["pos_loyalty.clock"] = lambda: moment


def account_id(till, card):
    return accounts.find_card(till.program(), card).account_id


def test_points_stay_pending_for_the_return_window(till, app):
    till.set_rules(pending_days=14)
    start = utcnow()
    freeze(app, start)
    card = till.customer()
    sale = till.sell(card, total_minor=5000).get_json()
    assert sale["balance"] == {"available": 0, "pending": 50}
    over = till.sell(card, total_minor=5000, redeem_points=1)
    assert over.get_json()["error"]["code"] == "redeem_limit_exceeded"
    freeze(app, start + dt.timedelta(days=15))
    later = till.sell(card, total_minor=2000, redeem_points=50).get_json()
    assert later["balance"] == {"available": 0, "pending": 15}
    assert verification.verify_accounts() == []


def test_a_return_inside_the_window_takes_the_points_from_pending(till, app):
    till.set_rules(pending_days=14)
    card = till.customer(points=100)
    sale = till.sell(card, total_minor=5000).get_json()
    reply = till.post(f"/sales/{sale['sale_id']}/returns", {"amount_minor": 5000}, key="r")
    assert reply.get_json()["balance"] == {"available": 100, "pending": 0}
    assert verification.verify_accounts() == []


def test_points_expire_oldest_first_after_twelve_months(till, app, runner):
    start = utcnow()
    freeze(app, start)
    card = till.customer()
    till.sell(card, total_minor=10_000)
    freeze(app, start + dt.timedelta(days=200))
    till.sell(card, total_minor=5_000)
    freeze(app, start + dt.timedelta(days=250))
    till.sell(card, total_minor=2_000, redeem_points=120)
    freeze(app, start + dt.timedelta(days=370))
    result = runner.invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    # 100 then 50 earned; 120 spent from the oldest lot first leaves 0 + 30 (+8 newer).
    assert "expired 0 points" in result.output
    assert till.balance(card)["available"] == 38
    freeze(app, start + dt.timedelta(days=200 + 366))
    result = runner.invoke(args=["expire"])
    assert "expired 30 points" in result.output
    assert till.balance(card)["available"] == 8
    assert verification.verify_accounts() == []


def test_program_daily_cap_limits_points_issued(till):
    till.set_rules(daily_program_cap_points=30)
    first, second = till.customer(), till.customer()
    assert till.sell(first, total_minor=2000).get_json()["points_earned"] == 20
    capped = till.sell(second, total_minor=2000).get_json()
    assert capped["points_earned"] == 10 and capped["points_capped"] == 10
    assert till.sell(second, total_minor=2000).get_json()["points_earned"] == 0


def test_customer_daily_cap_limits_one_customer_only(till):
    till.set_rules(daily_customer_cap_points=25)
    first, second = till.customer(), till.customer()
    assert till.sell(first, total_minor=2000).get_json()["points_earned"] == 20
    assert till.sell(first, total_minor=2000).get_json()["points_earned"] == 5
    assert till.sell(second, total_minor=2000).get_json()["points_earned"] == 20


def test_manager_withdrawal_may_go_below_zero_and_later_credits_pay_the_debt(till):
    card = till.customer(points=30)
    till.adjust(card, -50)
    assert till.balance(card)["available"] == -20
    till.sell(card, total_minor=5000)
    assert till.balance(card)["available"] == 30
    assert verification.verify_accounts() == []


def test_adjustment_needs_a_reason_and_is_audited(till):
    import pytest
    from pos_loyalty.errors import ValidationFailed
    from pos_loyalty.models import AuditEvent
    card = till.customer()
    with pytest.raises(ValidationFailed):
        adjustments.adjust_points(till.program(), card, 10, "  ", "boss", utcnow())
    till.adjust(card, 10)
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "points_adjusted")).one()
    assert event.details["points"] == 10 and event.details["reason"] == "test set-up"


def test_every_entry_records_the_balance_after_it(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=2000, redeem_points=100)
    entries = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.account_id == account_id(till, card)).order_by(LedgerEntry.id)).all()
    running = 0
    for entry in entries:
        running += entry.points
        assert entry.available_after == running
    assert [e.kind for e in entries] == ["adjust", "redeem", "earn"]


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


def test_lost_card_is_replaced_and_keeps_the_balance(till):
    card = till.customer(points=120)

    def replace():
        program = till.program()
        return accounts.replace_card(program, accounts.find_card(program, card), "manager",
                                     "lost", utcnow()).number
    new_number = run_in_transaction(replace)
    assert till.balance(new_number)["available"] == 120
    old = till.sell(card, total_minor=500, redeem_points=0)
    assert old.status_code == 403 and old.get_json()["error"]["code"] == "card_blocked"


def test_a_till_sees_points_as_available_once_the_window_has_passed(till, app):
    till.set_rules(pending_days=7)
    start = utcnow()
    freeze(app, start)
    card = till.customer()
    till.sell(card, total_minor=3000)
    assert till.balance(card) == {"available": 0, "pending": 30}
    freeze(app, start + dt.timedelta(days=7, seconds=1))
    assert till.balance(card) == {"available": 30, "pending": 0}
    assert verification.verify_accounts() == []


def test_several_sales_in_one_transaction_each_get_their_own_rows(till, app):
    from pos_loyalty import sales
    from pos_loyalty.models import Terminal
    card = till.customer(points=100)

    def two_sales():
        terminal = db.session.get(Terminal, till.terminal_id)
        return [sales.record_sale(till.program(), terminal, sales.SaleRequest(
            card, f"ONE-TX-{n}", [BasketLine("sku", "", 1, 2000)], redeem_points=10), utcnow())
            for n in (1, 2)]
    first, second = run_in_transaction(two_sales)
    assert first["sale_id"] != second["sale_id"]
    assert first["balance"]["available"] == 100 - 10 + 19
    assert second["balance"]["available"] == 100 - 10 + 19 - 10 + 19
    assert till.balance(card)["available"] == 118
    assert verification.verify_accounts() == []
