"""The README's worked example, both engines: double points on Saturdays in Lyon for Gold
members, seen the same at the till, through the POS API and on the phone."""
import datetime as dt

import pytest

from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty.usecases import offers
from test_cashier_ui import words
from test_offers_cashier import log_in

MONDAY = dt.datetime(2026, 12, 7, 10, 0)
SATURDAY = dt.datetime(2026, 12, 12, 10, 0)       # 11:00 in Lyon
LADDER = {"tier_measure": "points", "tier_period_months": 0, "tiers": [
    {"key": "silver", "threshold": 500, "multiplier": "1.25",
     "names": {"fr": "Argent", "en": "Silver"}},
    {"key": "gold", "threshold": 1500, "multiplier": "1.5", "names": {"fr": "Or", "en": "Gold"},
     "perks": {"fr": "Une tarte offerte à l'anniversaire", "en": "A free tart on your birthday"}},
]}


@pytest.fixture
def brand(shop):
    """The program of the example: the ladder and the Saturday campaign, on a Monday."""
    shop.now = MONDAY
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    campaign_id = offers.create_campaign(shop.program, {
        "name": "Samedis Or Lyon", "starts": "2026-12-01", "ends": "2027-02-28",
        "labels": {"fr": "Points doublés le samedi", "en": "Double points on Saturdays"},
        "weekdays": ["sat"], "store_ids": [shop.till.store_id], "tiers": ["gold"],
        "multiplier": "2", "budget_points": 200000}, shop.now, "tests")["id"]
    shop.campaign_id = campaign_id
    return shop


def test_gold_on_saturday_in_lyon_is_the_same_on_every_face(brand, mobile: MobileApp):
    camille = mobile.register()
    card = camille.card_number
    brand.sell(card, 150000)                     # 1,500 points on a Monday: Gold
    brand.now = SATURDAY
    token = mobile.login(camille)["access_token"]     # Monday's has expired
    expected = {"base_points": 23, "tier_points": 11, "points_earned": 57, "tier": "gold"}

    pos_quote = brand.till.post("/quote", {"card_number": card, "total_minor": 2300}).get_json()
    assert {k: pos_quote[k] for k in expected} == expected
    assert [(c["id"], c["points"]) for c in pos_quote["applied_campaigns"]] == \
        [(brand.campaign_id, 23)]

    cashier = log_in(brand.till, "marie", language="fr")
    cashier.open_card(card)
    screen = words(cashier.quote(total="23,00"))
    assert "Points doublés le samedi : +23" in screen and "Points gagnés 57" in screen

    before = mobile.get("/me/balance", token).get_json()["available_points"]
    sale = brand.till.sell(card, 2300).get_json()
    assert {k: sale[k] for k in expected} == expected
    assert sale["applied_campaigns"] == pos_quote["applied_campaigns"]
    after = mobile.get("/me/balance", token).get_json()["available_points"]
    assert after - before == 57

    tier = mobile.get("/me/tier", token).get_json()
    assert (tier["tier"]["key"], tier["requalify_on"]) == ("gold", "2028-01-01")
    assert [c["id"] for c in mobile.get("/campaigns", token)
            .get_json()["campaigns"]] == [brand.campaign_id]
    history = mobile.get("/me/history", token).get_json()["entries"]
    assert [(e["kind"], e["points"]) for e in history[:2]] == [("campaign", 23), ("earn", 34)]


def test_silver_on_saturday_and_gold_on_monday_get_no_campaign(brand):
    silver, gold = brand.customer(), brand.customer()
    brand.sell(silver, 50000)
    brand.sell(gold, 150000)
    brand.now = SATURDAY
    assert brand.sell(silver, 2300)["points_earned"] == 23 + 5
    brand.now = SATURDAY + dt.timedelta(days=2)
    assert brand.sell(gold, 2300)["points_earned"] == 23 + 11
