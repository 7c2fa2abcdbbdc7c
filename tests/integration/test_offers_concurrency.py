"""Campaigns under many tills at once, and returns after them, on both engines: a budget is
never passed, a per-customer limit counts every sale, and returns never take back more than
a sale gave."""
from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import func, select

from pos_loyalty import verification
from pos_loyalty.db import db
from pos_loyalty.models import Campaign, LedgerEntry, Sale
from pos_loyalty.rules import BasketLine
from pos_loyalty.sales import ReturnedLine
from pos_loyalty.usecases import offers

from test_concurrency import run_together

SATURDAY = dt.datetime(2026, 3, 14, 10, 0)   # 11:00 in Paris
THREADS = 20


def campaign(shop: Any, **terms: Any) -> int:
    spec = {"name": "Double points", "starts": "2026-03-01", "ends": "2026-04-01", **terms}
    if "bonus_points" not in spec:
        spec.setdefault("multiplier", "2")
    return offers.create_campaign(shop.program, spec, shop.now, "tests")["id"]


def sale_body(card: str, receipt: str, total_minor: int = 2000) -> dict[str, Any]:
    return {"card_number": card, "receipt_number": receipt, "total_minor": total_minor,
            "card_entry": "scanned"}


def campaign_entries(campaign_id: int) -> list[tuple[int, int]]:
    """(sale id, points) of every ledger entry of the campaign."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        select(LedgerEntry.sale_id, LedgerEntry.points)
        .where(LedgerEntry.kind == "campaign", LedgerEntry.campaign_id == campaign_id))]


def test_twenty_sales_racing_for_a_small_budget_never_pass_it(app, till, shop):
    """Each sale wants 20 campaign points; the budget holds 90: the first sales get them
    whole, one gets what is left (10), the others their base points only, none an error."""
    shop.now = SATURDAY
    cid = campaign(shop, budget_points=90)
    cards = [shop.customer() for _ in range(THREADS)]
    replies = run_together(app, till, [(sale_body(card, f"B{i}"), f"budget-{i}")
                                       for i, card in enumerate(cards)])
    assert [status for status, _ in replies] == [201] * THREADS
    given_points = sorted(sum(c["points"] for c in reply["applied_campaigns"])
                          for _, reply in replies)
    assert given_points == [0] * 15 + [10] + [20] * 4
    assert all(reply["points_earned"] == 20 + sum(c["points"] for c in reply["applied_campaigns"])
               for _, reply in replies)
    entries = campaign_entries(cid)
    assert sum(points for _, points in entries) == 90 == db.session.get(Campaign,
                                                                         cid).points_given
    assert {sale_id for sale_id, _ in entries} == {
        reply["sale_id"] for _, reply in replies if reply["applied_campaigns"]}
    assert verification.verify_accounts() == []


def test_a_budget_is_charged_only_what_the_program_cap_lets_the_sales_give(app, till, shop):
    """The day's cap (300) is smaller than what twenty sales want (20 base + 20 campaign
    each): the sales that pass it are cut, campaigns first, and the budget keeps count of the
    campaign points really given, no more."""
    shop.now = SATURDAY
    shop.till.set_rules(daily_program_cap_points=300)
    cid = campaign(shop, budget_points=1_000)
    cards = [shop.customer() for _ in range(THREADS)]
    replies = run_together(app, till, [(sale_body(card, f"C{i}"), f"cap-{i}")
                                       for i, card in enumerate(cards)])
    assert [status for status, _ in replies] == [201] * THREADS
    assert sum(reply["points_earned"] for _, reply in replies) == 300
    given = sum(points for _, points in campaign_entries(cid))
    assert given == sum(c["points"] for _, reply in replies for c in reply["applied_campaigns"])
    assert db.session.get(Campaign, cid).points_given == given
    assert verification.verify_accounts() == []


def test_one_customer_at_twenty_tills_gets_a_limited_campaign_exactly_its_limit(app, till,
                                                                                shop):
    shop.now = SATURDAY
    cid = campaign(shop, name="Three times", bonus_points=15, per_customer_limit=3)
    card = shop.customer()
    replies = run_together(app, till, [(sale_body(card, f"L{i}", 1000), f"limit-{i}")
                                       for i in range(THREADS)])
    assert [status for status, _ in replies] == [201] * THREADS
    earned = sorted(reply["points_earned"] for _, reply in replies)
    assert earned == [10] * (THREADS - 3) + [25] * 3
    assert len(campaign_entries(cid)) == 3
    assert shop.balance(card)["available"] == 10 * THREADS + 15 * 3
    assert verification.verify_accounts() == []


# --- returns after campaigns ---------------------------------------------------------------

BASKET = [BasketLine("BREAD", "bakery", 3, 450), BasketLine("HONEY", "organic", 2, 1_275),
          BasketLine("CIGS", "tobacco", 1, 1_050), BasketLine("MILK", "dairy", 4, 115)]
TOTAL = sum(line.amount_minor for line in BASKET)   # 5,310


def set_up_offers(shop: Any) -> None:
    """Once per database: a tier for every customer's second sale, and three campaigns that
    add up (a multiplier on bakery, a fixed bonus over 20.00, double points)."""
    if db.session.scalar(select(func.count()).select_from(Campaign)):
        return
    shop.till.set_rules(campaign_combination="additive")
    offers.set_tiers(shop.program, {"tiers": [
        {"key": "silver", "threshold": 1, "multiplier": "1.5"}]}, shop.now, "tests")
    campaign(shop, name="Bakery x3", multiplier="3", categories=["bakery"])
    campaign(shop, name="Basket bonus", bonus_points=25, min_basket_minor=2_000)
    campaign(shop, name="Double")


returns_strategy = st.one_of(
    st.lists(st.integers(1, TOTAL), min_size=1, max_size=4).map(lambda a: ("amounts", a)),
    st.lists(st.tuples(st.sampled_from([line.sku for line in BASKET]), st.integers(1, 4)),
             min_size=1, max_size=4).map(lambda a: ("lines", a)))


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(returns=returns_strategy, redeem=st.sampled_from([0, 120]), then_void=st.booleans())
@example(returns=("amounts", [1_001, 2_000, 2_309]), redeem=120, then_void=False)
@example(returns=("lines", [(line.sku, line.quantity) for line in BASKET]), redeem=0,
         then_void=False)
def test_returns_after_campaigns_never_take_back_more_than_the_sale_gave(shop, returns, redeem,
                                                                         then_void):
    """Each example: a new customer at the silver tier buys the basket with every campaign,
    then returns parts of it (amounts or lines, as many as fit), perhaps voids what is left."""
    shop.now = SATURDAY
    set_up_offers(shop)
    card = shop.customer(points=500)
    shop.sell(card, 500)                      # reaches silver: the next sale earns at it
    sale = shop.sell(card, lines=BASKET, redeem_points=redeem)
    assert sale["tier_points"] > 0 and len(sale["applied_campaigns"]) == 3
    earned = sale["points_earned"]
    assert earned == sale["base_points"] + sale["tier_points"] + sum(
        c["points"] for c in sale["applied_campaigns"])
    reversed_so_far = returned_minor = 0
    left = {line.sku: line.quantity for line in BASKET}
    kind, steps = returns
    for step in steps:
        if kind == "amounts":
            amount = min(step, TOTAL - returned_minor)
            if amount == 0:
                break
            back = shop.return_sale(sale["sale_id"], amount)
            returned_minor += amount
        else:
            sku, quantity = step
            quantity = min(quantity, left[sku])
            if quantity == 0:
                continue
            back = shop.return_sale(sale["sale_id"], lines=[ReturnedLine(sku, quantity)])
            left[sku] -= quantity
        assert back["points_reversed"] >= 0
        reversed_so_far += back["points_reversed"]
        assert reversed_so_far <= earned
    everything_back = returned_minor == TOTAL or not any(left.values())
    if then_void:
        reversed_so_far += shop.void(sale["sale_id"])["points_reversed"]
    assert reversed_so_far <= earned
    if then_void or everything_back:
        assert reversed_so_far == earned
    db.session.expire_all()
    row = db.session.get(Sale, sale["sale_id"])
    assert (row.points_earned, row.points_reversed) == (earned, reversed_so_far)
    assert verification.verify_accounts() == []
