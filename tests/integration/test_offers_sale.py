"""Tiers and campaigns in the sale, through the use cases, both engines: what a sale earns,
what the quote says beforehand, what the ledger records, moving up, returns, budgets."""
import datetime as dt

import pytest
from sqlalchemy import select

from pos_loyalty import notify, referrals, tiers, verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Account, Campaign, LedgerEntry, OutboxMessage, TierChange
from pos_loyalty.rules import BasketLine
from offers_setup import LADDER, SATURDAY, campaign
from pos_loyalty.usecases import customers, offers


def set_ladder(shop, **settings):
    return offers.set_tiers(shop.program, {**LADDER, **settings}, shop.now, "tests")


def account_of(shop, card):
    return db.session.get(Account, shop.look_up(card)["account"]["id"])


def test_a_campaign_doubles_the_base_points_and_its_entry_names_it(shop):
    shop.now = SATURDAY
    card = shop.customer()
    cid = campaign(shop, weekdays=[6], labels={"fr": "Points doublés", "en": "Double points"})
    quote = shop.quote(card, 2300)
    assert (quote.base_points, quote.points_earned) == (23, 46)
    assert [(c.id, c.points) for c in quote.campaigns] == [(cid, 23)]
    sale = shop.sell(card, 2300)
    assert sale["points_earned"] == 46 and sale["base_points"] == 23
    assert sale["applied_campaigns"] == [{"id": cid, "name": "Double points", "points": 23,
                                          "labels": {"fr": "Points doublés",
                                                     "en": "Double points"}}]
    entries = db.session.execute(select(LedgerEntry.kind, LedgerEntry.points,
                                        LedgerEntry.campaign_id)
                                 .where(LedgerEntry.sale_id == sale["sale_id"])
                                 .order_by(LedgerEntry.id)).all()
    assert [tuple(e) for e in entries] == [("earn", 23, None), ("campaign", 23, cid)]
    assert shop.balance(card) == {"available": 46, "pending": 0}


def test_a_campaign_skips_other_days_stores_and_tiers(shop):
    shop.now = SATURDAY
    set_ladder(shop)
    card = shop.customer()
    campaign(shop, weekdays=["sat"], tiers=["gold"])
    assert shop.sell(card, 1000)["applied_campaigns"] == []        # no tier yet
    shop.now = SATURDAY + dt.timedelta(days=2)                      # a Monday
    campaign(shop, weekdays=[6], name="Saturday only")
    assert shop.quote(card, 1000).campaigns == ()


def test_a_store_campaign_needs_an_existing_store(shop):
    with pytest.raises(ValidationFailed) as refused:
        campaign(shop, store_ids=[999])
    assert refused.value.details["field"] == "store_ids"


def test_a_sale_crossing_a_threshold_moves_up_after_earning_at_the_old_tier(shop):
    set_ladder(shop)
    card = shop.customer()
    first = shop.sell(card, 6000)
    assert (first["points_earned"], first["tier"], first["tier_reached"]) == (60, None, "silver")
    assert account_of(shop, card).tier == "silver"
    second = shop.sell(card, 1000)
    assert (second["base_points"], second["tier_points"], second["points_earned"]) == (10, 5, 15)
    change = db.session.scalar(select(TierChange))
    assert (change.from_tier, change.to_tier, change.reason, change.measure) == \
        (None, "silver", "reached", 60)
    sms = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "tier"))
    assert sms.payload == {"tier": "silver", "from": None, "reason": "reached"}


def test_a_tier_is_judged_when_its_period_ends(shop):
    set_ladder(shop, tier_period_months=12)
    card = shop.customer()
    shop.sell(card, 6000)
    account = account_of(shop, card)
    assert account.tier_until == dt.datetime(2027, 3, 9, 10, 0)
    shop.now = dt.datetime(2027, 3, 9, 10, 0)
    run = tiers.requalify_due(shop.program, shop.now)
    db.session.commit()
    assert (run.kept, run.lowered) == (0, 1)        # nothing earned in the last 12 months
    account = account_of(shop, card)
    assert (account.tier, account.tier_until) == (None, None)
    assert tiers.requalify_due(shop.program, shop.now).judged == 0   # run twice: nothing


def test_returns_take_campaign_points_back_in_proportion(shop):
    shop.now = SATURDAY
    card = shop.customer()
    campaign(shop)
    sale = shop.sell(card, 2000)
    assert sale["points_earned"] == 40
    back = shop.return_sale(sale["sale_id"], 1000)
    assert back["points_reversed"] == 20
    assert shop.balance(card)["available"] == 20


def test_a_budget_is_never_passed(shop):
    shop.now = SATURDAY
    cid = campaign(shop, budget_points=30)
    earned = [shop.sell(shop.customer(), 2000)["points_earned"] for _ in range(3)]
    assert earned == [40, 30, 20]
    assert db.session.get(Campaign, cid).points_given == 30
    assert verification.verify_campaign_budgets() == []


def test_a_per_customer_limit_counts_each_sale(shop):
    shop.now = SATURDAY
    card = shop.customer()
    campaign(shop, per_customer_limit=1)
    assert [shop.sell(card, 1000)["points_earned"] for _ in range(2)] == [20, 10]


@pytest.mark.parametrize("rule, earned", [("best", 15 + 30), ("additive", 15 + 15 + 5 + 30)])
def test_campaigns_combine_by_the_program_rule(shop, rule, earned):
    shop.now = SATURDAY
    program = shop.program
    program.rules = {**program.rules, "campaign_combination": rule}
    db.session.commit()
    campaign(shop, name="Double")
    campaign(shop, name="Bakery bonus", bonus_points=5, categories=["bakery"])
    campaign(shop, name="Triple", multiplier="3")
    sale = shop.sell(shop.customer(), lines=[BasketLine("BREAD", "bakery", 1, 1500)])
    assert sale["points_earned"] == earned


def test_a_first_purchase_campaign_pays_once(shop):
    card = shop.customer()
    campaign(shop, name="Welcome", bonus_points=50, first_purchase_only=True,
             starts="2026-01-01")
    assert shop.sell(card, 1000)["points_earned"] == 60
    assert shop.sell(card, 1000)["points_earned"] == 10


def test_a_tier_kept_is_judged_again_a_period_later_and_missed_periods_in_turn(shop):
    set_ladder(shop, tier_period_months=12)
    card = shop.customer()
    shop.sell(card, 6000)                                   # silver, judged 2027-03-09
    shop.now = dt.datetime(2026, 12, 1, 10, 0)
    shop.sell(card, 6000)                                   # 60 more within the period
    shop.now = dt.datetime(2028, 6, 1, 10, 0)               # the job missed two dates
    run = tiers.requalify_due(shop.program, shop.now)
    db.session.commit()
    assert (run.kept, run.lowered) == (1, 1)                # kept in 2027, lowered in 2028
    reasons = db.session.scalars(select(TierChange.reason).order_by(TierChange.id)).all()
    assert reasons == ["reached", "kept", "lowered"]
    assert account_of(shop, card).tier is None


def test_a_calendar_year_tier_is_kept_through_the_next_year(shop):
    set_ladder(shop, tier_period_months=0)
    card = shop.customer()
    shop.sell(card, 6000)
    assert account_of(shop, card).tier_until == dt.datetime(2027, 12, 31, 23, 0)  # Paris
    progress = offers.tier_of_account(shop.program, account_of(shop, card).id, shop.now, "en")
    assert progress["tier"]["name"] == "Silver" and progress["requalify_on"] == "2028-01-01"
    assert (progress["next_tier"]["key"], progress["to_next"]) == ("gold", 140)


def test_the_newcomers_first_qualifying_sale_pays_the_referral_by_itself(shop):
    shop.till.set_rules(referral_bonus_points=100, referral_newcomer_points=50,
                        referral_min_basket_minor=1500)
    referrer = shop.customer()
    code = run_in_transaction(lambda: referrals.code_of(shop.program, account_of(shop, referrer)))
    newcomer = customers.enrol(shop.program, "+33699887766", "2468", shop.now,
                               channel="till", referral_code=code)["card_number"]
    shop.sell(newcomer, 1000)                                  # under the minimum basket
    assert account_of(shop, newcomer).referral_pending
    shop.sell(newcomer, 2000)
    assert shop.balance(newcomer)["available"] == 10 + 20 + 50
    assert shop.balance(referrer)["available"] == 100
    assert not account_of(shop, newcomer).referral_pending


def test_the_sales_sms_names_the_campaign_that_gave_points(shop):
    shop.now = SATURDAY
    cid = campaign(shop, labels={"fr": "Points doublés", "en": "Double points"})
    card = shop.customer()
    shop.sell(card, 2300)
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "balance")
                             .order_by(OutboxMessage.id.desc())).first()
    assert sms.payload["offers"] == [{"campaign_id": cid, "points": 23}]
    text = notify.message_text(shop.program, account_of(shop, card), sms)
    assert "Points doublés" in text and "+23" in text


def test_bonuses_and_campaigns_count_in_lifetime_earned(shop):
    shop.till.set_rules(signup_bonus_points=20)
    shop.now = SATURDAY
    campaign(shop)
    card = shop.customer()
    shop.sell(card, 1000)
    assert account_of(shop, card).lifetime_earned == 20 + 10 + 10
