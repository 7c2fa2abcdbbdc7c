"""The ledger's rules over time, through the use cases (no HTTP), both engines: the pending
window, expiry, daily caps, adjustments, and the entries every change writes."""
import datetime as dt

import pytest
from sqlalchemy import select

from pos_loyalty import accounts, sales, verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import RedeemLimitExceeded, ValidationFailed
from pos_loyalty.models import AuditEvent, LedgerEntry, OutboxMessage
from pos_loyalty.rules import BasketLine
from pos_loyalty.usecases import jobs
from pos_loyalty.usecases.jobs import ExpiryRun


def test_points_stay_pending_for_the_return_window(shop):
    shop.till.set_rules(pending_days=14)
    start = shop.now
    card = shop.customer()
    sale = shop.sell(card, 5000)
    assert sale["balance"] == {"available": 0, "pending": 50}
    with pytest.raises(RedeemLimitExceeded):
        shop.sell(card, 5000, redeem_points=1)
    shop.now = start + dt.timedelta(days=15)
    later = shop.sell(card, 2000, redeem_points=50)
    assert later["balance"] == {"available": 0, "pending": 15}
    assert verification.verify_accounts() == []


def test_a_till_sees_points_as_available_once_the_window_has_passed(shop):
    shop.till.set_rules(pending_days=7)
    start = shop.now
    card = shop.customer()
    shop.sell(card, 3000)
    assert shop.balance(card) == {"available": 0, "pending": 30}
    shop.now = start + dt.timedelta(days=7, seconds=-1)
    assert shop.balance(card) == {"available": 0, "pending": 30}
    shop.now = start + dt.timedelta(days=7, seconds=1)
    assert shop.balance(card) == {"available": 30, "pending": 0}
    assert verification.verify_accounts() == []


def test_points_expire_oldest_first_after_twelve_months(shop):
    start = shop.now
    card = shop.customer()
    shop.sell(card, 10_000)
    shop.now = start + dt.timedelta(days=200)
    shop.sell(card, 5_000)
    shop.now = start + dt.timedelta(days=250)
    shop.sell(card, 2_000, redeem_points=120)
    # 100 then 50 earned; 120 spent from the oldest lot first leaves 0 + 30 (+8 newer).
    assert jobs.run_expiry(start + dt.timedelta(days=370)) == ExpiryRun(0, 0, 0)
    shop.now = start + dt.timedelta(days=370)
    assert shop.balance(card)["available"] == 38
    assert jobs.run_expiry(start + dt.timedelta(days=200 + 366)) == ExpiryRun(0, 30, 0)
    shop.now = start + dt.timedelta(days=200 + 366)
    assert shop.balance(card)["available"] == 8
    assert verification.verify_accounts() == []


def test_program_daily_cap_limits_points_issued(shop):
    shop.till.set_rules(daily_program_cap_points=30)
    first, second = shop.customer(), shop.customer()
    assert shop.sell(first, 2000)["points_earned"] == 20
    capped = shop.sell(second, 2000)
    assert capped["points_earned"] == 10 and capped["points_capped"] == 10
    assert shop.sell(second, 2000)["points_earned"] == 0


def test_customer_daily_cap_limits_one_customer_only(shop):
    shop.till.set_rules(daily_customer_cap_points=25)
    first, second = shop.customer(), shop.customer()
    assert shop.sell(first, 2000)["points_earned"] == 20
    assert shop.sell(first, 2000)["points_earned"] == 5
    assert shop.sell(second, 2000)["points_earned"] == 20
    shop.now += dt.timedelta(days=1)
    assert shop.sell(first, 2000)["points_earned"] == 20


def test_a_manager_withdrawal_may_go_below_zero_and_later_credits_pay_the_debt(shop):
    card = shop.customer(points=30)
    assert shop.adjust(card, -50)["available"] == -20
    assert shop.balance(card)["available"] == -20
    shop.sell(card, 5000)
    assert shop.balance(card)["available"] == 30
    assert verification.verify_accounts() == []


def test_an_adjustment_needs_a_reason_and_is_audited(shop):
    card = shop.customer()
    with pytest.raises(ValidationFailed) as refused:
        shop.adjust(card, 10, reason="  ")
    assert refused.value.details == {"field": "reason"}
    assert shop.balance(card)["available"] == 0
    shop.adjust(card, 10, reason="credited twice")
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "points_adjusted")).one()
    assert event.details["points"] == 10 and event.details["reason"] == "credited twice"


def test_a_managers_adjustment_and_its_sms_name_the_store(shop):
    card = shop.customer(points=100)
    shop.adjust(card, 25, reason="Geste commercial", store_id=shop.till.store_id)
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "adjust")
                               .order_by(LedgerEntry.id.desc())).first()
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert (entry.points, entry.store_id) == (25, shop.till.store_id)
    assert message.store_id == shop.till.store_id
    assert message.payload["store"] == "Boulangerie Lyon"


def test_every_entry_records_the_balance_after_it(shop):
    card = shop.customer(points=500)
    shop.sell(card, 2000, redeem_points=100)
    account_id = accounts.find_card(shop.program, card).account_id
    entries = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.account_id == account_id).order_by(LedgerEntry.id)).all()
    running = 0
    for entry in entries:
        running += entry.points
        assert entry.available_after == running
    assert [e.kind for e in entries] == ["adjust", "redeem", "earn"]


def test_several_sales_in_one_transaction_each_get_their_own_rows(shop):
    card = shop.customer(points=100)

    def two_sales():
        return [sales.record_sale(shop.program, shop.terminal, sales.SaleRequest(
            card, f"ONE-TX-{n}", [BasketLine("sku", "", 1, 2000)], redeem_points=10), shop.now)
            for n in (1, 2)]
    first, second = run_in_transaction(two_sales)
    assert first["sale_id"] != second["sale_id"]
    assert first["balance"]["available"] == 100 - 10 + 19
    assert second["balance"]["available"] == 100 - 10 + 19 - 10 + 19
    assert shop.balance(card)["available"] == 118
    assert verification.verify_accounts() == []
