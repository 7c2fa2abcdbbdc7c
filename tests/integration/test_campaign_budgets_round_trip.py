"""Budgets charged with the sale's other writes, both engines: what a sale reads a budget has
left is only a guess, so a guess overtaken by another sale runs the sale again, which then
gives what is really left; and every sale charges the campaign rows before the program's
daily counter, in id order, so that two sales never wait on each other's rows."""
from __future__ import annotations

from typing import Any

import pytest

from pos_loyalty import caps, campaigns, sales, statements, verification
from pos_loyalty.db import db
from pos_loyalty.models import Campaign
from offers_setup import SATURDAY, campaign


def points_given(campaign_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Campaign, campaign_id).points_given


@pytest.fixture
def stale_budgets(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The next sale's first try reads the budgets it is given here, as if the sales that
    charged them since had not committed yet; later tries read the database."""
    stale: dict[str, Any] = {"left": None, "reads": 0}
    read = sales._mechanics_of

    def read_then_age(*args: Any) -> sales.MechanicsRead:
        found = read(*args)
        stale["reads"] += 1
        if stale["left"] is None:
            return found
        left, stale["left"] = stale["left"], None
        return sales.MechanicsRead(found.measure, found.uses, left)
    monkeypatch.setattr(sales, "_mechanics_of", read_then_age)
    return stale


def test_a_budget_taken_after_the_sale_read_it_gives_only_what_is_left(shop, stale_budgets):
    """The budget (30) looked untouched when the sale began, but another sale had taken 20:
    the sale's charge of 20 finds no room, so the sale runs again and gets the 10 left."""
    shop.now = SATURDAY
    cid = campaign(shop, budget_points=30)
    assert shop.sell(shop.customer(), 2000)["applied_campaigns"][0]["points"] == 20
    card = shop.customer()
    stale_budgets.update(left={cid: 30}, reads=0)
    sale = shop.sell(card, 2000)
    assert stale_budgets["reads"] == 2
    assert [(c["id"], c["points"]) for c in sale["applied_campaigns"]] == [(cid, 10)]
    assert sale["points_earned"] == 30
    assert points_given(cid) == 30
    assert shop.balance(card) == {"available": 30, "pending": 0}
    assert verification.verify_campaign_budgets() == []
    assert verification.verify_accounts() == []


def test_a_spent_budget_read_as_open_gives_nothing_and_the_sale_still_passes(shop,
                                                                            stale_budgets):
    shop.now = SATURDAY
    cid = campaign(shop, budget_points=20)
    shop.sell(shop.customer(), 2000)
    stale_budgets.update(left={cid: 20}, reads=0)
    sale = shop.sell(shop.customer(), 2000)
    assert stale_budgets["reads"] == 2
    assert (sale["points_earned"], sale["applied_campaigns"]) == (20, [])
    assert points_given(cid) == 20


@pytest.fixture
def sent_writes(monkeypatch: pytest.MonkeyPatch) -> list[list[statements.Step]]:
    """The steps of every round trip of writes, in order."""
    sent: list[list[statements.Step]] = []
    send = statements.Writes.send

    def watched(self: statements.Writes) -> None:
        sent.append([write.step for write in self._waiting])
        send(self)
    monkeypatch.setattr(statements.Writes, "send", watched)
    return sent


def hot_rows(steps: list[statements.Step]) -> list[Any]:
    """The campaign ids and the day's counter ("day") that `steps` update, in order."""
    return [step.params["c_id"] if step.statement is campaigns.CHARGE_IF_ROOM else "day"
            for step in steps if step.statement in (campaigns.CHARGE_IF_ROOM,
                                                    caps.ADD_TO_DAILY_ISSUANCE_IF_ROOM)]


def test_budgets_with_room_are_charged_in_id_order_before_the_days_counter(shop, sent_writes):
    shop.now = SATURDAY
    shop.till.set_rules(campaign_combination="additive", daily_program_cap_points=10_000)
    bonus = campaign(shop, name="Bonus", bonus_points=5, budget_points=1_000)
    double = campaign(shop, name="Double", budget_points=1_000)
    assert bonus < double
    shop.sell(shop.customer(), 1000)   # opens the day's counter: 10 + 5 + 10
    sent_writes.clear()
    sale = shop.sell(shop.customer(), 2000)
    assert [(c["id"], c["points"]) for c in sale["applied_campaigns"]] == [
        (bonus, 5), (double, 20)]
    assert [hot_rows(steps) for steps in sent_writes] == [[bonus, double, "day"]]
    assert (points_given(bonus), points_given(double)) == (10, 30)


def test_a_program_cap_near_its_end_gives_back_the_budget_it_cut(shop, sent_writes):
    """The day's cap leaves 10 points: the sale's campaign charge goes first, then the
    counter under its lock, which cuts the campaign away; its budget gets the 20 back."""
    shop.now = SATURDAY
    shop.till.set_rules(daily_program_cap_points=50)
    cid = campaign(shop, budget_points=1_000)
    shop.sell(shop.customer(), 2000)   # 20 + 20 of the day's 50
    sent_writes.clear()
    sale = shop.sell(shop.customer(), 2000)
    assert (sale["points_earned"], sale["points_capped"], sale["applied_campaigns"]) == (
        10, 30, [])
    assert hot_rows(sent_writes[0]) == [cid]
    assert points_given(cid) == 20
    assert verification.verify_campaign_budgets() == []
