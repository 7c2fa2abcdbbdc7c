"""Tiers and campaigns in the phone app, both engines: GET /me/tier, GET /campaigns (those this
customer can get now), the ladder in /branding, promotions that point to a campaign (and the
command that makes them), in the customer's language else the program's, and every answer
true to the OpenAPI document with real tiers and campaigns in it."""
import datetime as dt

import pytest
from openapi_check import CheckedClient, error_code
from sqlalchemy import select

from mobile_api.openapi import mobile_document
from offers_setup import LADDER, SATURDAY, make_campaign
from mobile_app import PREFIX, MobileApp, make_program, mobile  # noqa: F401
from pos_loyalty.brand import create_promotion
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import Program, Promotion
from pos_loyalty.usecases import offers

SILVER_FR = {"key": "silver", "name": "Argent", "threshold": 50, "multiplier": "1.5",
             "perks": ""}
GOLD_FR = {"key": "gold", "name": "Or", "threshold": 200, "multiplier": "2",
           "perks": "Café offert"}
LABELS = {"fr": "Points doublés", "en": "Double points"}


def speak(mobile: MobileApp, customer, language: str) -> None:
    reply = mobile.call("PATCH", "/me", {"language": language}, token=customer.access_token)
    assert reply.status_code == 200


def campaign_ids(mobile: MobileApp, customer) -> list[int]:
    reply = mobile.get("/campaigns", customer.access_token)
    assert reply.status_code == 200
    return [c["id"] for c in reply.get_json()["campaigns"]]


# --- GET /me/tier -----------------------------------------------------------------------------

def test_my_tier_shows_the_tier_the_measure_the_next_threshold_and_the_requalification_day(
        shop, mobile: MobileApp):
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    customer = mobile.register()
    shop.sell(customer.card_number, 6000)                  # 60 points: Silver
    reply = mobile.get("/me/tier", customer.access_token)
    assert reply.status_code == 200
    assert reply.get_json() == {"tier": SILVER_FR, "measure": 60, "measure_kind": "points",
                                "next_tier": GOLD_FR, "to_next": 140,
                                "requalify_on": "2027-03-09"}


def test_my_tier_speaks_the_customer_s_language(shop, mobile: MobileApp):
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    customer = mobile.register()
    speak(mobile, customer, "en")
    answer = mobile.get("/me/tier", customer.access_token).get_json()
    assert answer["tier"] is None
    assert (answer["next_tier"]["name"], answer["to_next"]) == ("Silver", 50)


def test_my_tier_without_a_ladder_says_there_is_nothing_to_reach(shop, mobile: MobileApp):
    customer = mobile.register()
    assert mobile.get("/me/tier", customer.access_token).get_json() == {
        "tier": None, "measure": 0, "measure_kind": "points", "next_tier": None,
        "to_next": None, "requalify_on": None}


def test_my_tier_and_campaigns_need_the_customer_s_token(shop, mobile: MobileApp):
    for path in ("/me/tier", "/campaigns"):
        assert error_code(mobile.get(path)) == (401, "invalid_token")


# --- GET /campaigns ---------------------------------------------------------------------------

def test_campaigns_lists_those_this_customer_can_get_now(shop, mobile: MobileApp):
    shop.now = SATURDAY
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    customer = mobile.register()
    everyone = make_campaign(shop.program, shop.now, labels=LABELS)
    saturdays = make_campaign(shop.program, shop.now, name="Saturdays", weekdays=["sat"])
    make_campaign(shop.program, shop.now, name="Gold only", tiers=["gold"])
    make_campaign(shop.program, shop.now, name="Sundays", weekdays=["sun"])
    make_campaign(shop.program, shop.now, name="Next month", starts="2026-04-01",
                  ends="2026-05-01")
    welcome = make_campaign(shop.program, shop.now, name="Welcome", bonus_points=50,
                            first_purchase_only=True)
    assert campaign_ids(mobile, customer) == [everyone, saturdays, welcome]
    shop.sell(customer.card_number, 1000)
    assert campaign_ids(mobile, customer) == [everyone, saturdays]


def test_a_campaign_used_up_by_this_customer_is_no_longer_listed(shop, mobile: MobileApp):
    shop.now = SATURDAY
    customer = mobile.register()
    once = make_campaign(shop.program, shop.now, per_customer_limit=1)
    assert campaign_ids(mobile, customer) == [once]
    assert shop.sell(customer.card_number, 1000)["applied_campaigns"][0]["id"] == once
    assert campaign_ids(mobile, customer) == []


def test_a_campaign_reads_in_the_customer_s_language_with_its_terms(shop, mobile: MobileApp):
    shop.now = SATURDAY
    customer = mobile.register()
    cid = make_campaign(shop.program, shop.now, labels=LABELS, hours="09:00-20:00",
                   store_ids=[shop.till.store_id], min_basket_minor=1500)
    shown = mobile.get("/campaigns", customer.access_token).get_json()["campaigns"]
    assert shown == [{
        "id": cid, "name": "Double points", "label": "Points doublés", "status": "running",
        "starts_at": "2026-03-01T00:00", "ends_at": "2026-04-01T00:00", "weekdays": [],
        "hours": "09:00-20:00", "store_ids": [shop.till.store_id], "categories": [],
        "skus": [], "tiers": [], "min_basket_minor": 1500, "first_purchase_only": False,
        "effect": "multiplier", "multiplier": "2", "bonus_points": 0,
        "per_customer_limit": 0, "budget_points": 0, "points_given": 0}]
    speak(mobile, customer, "en")
    assert mobile.get("/campaigns", customer.access_token).get_json()["campaigns"][0][
        "label"] == "Double points"


# --- the ladder in /branding ------------------------------------------------------------------

def test_branding_shows_the_ladder_in_the_program_s_language(shop, mobile: MobileApp):
    offers.set_tiers(shop.program, {**LADDER, "tier_period_months": 0}, shop.now, "tests")
    assert mobile.get("/branding").get_json()["tiers"] == {
        "measure": "points", "period_months": 0, "tiers": [SILVER_FR, GOLD_FR]}


# --- promotions pointing to a campaign --------------------------------------------------------

def promote(program_id: int, title: str, now: dt.datetime, campaign_id: int | None = None):
    return run_in_transaction(lambda: create_promotion(
        db.session.get(Program, program_id), title, now - dt.timedelta(days=1),
        now + dt.timedelta(days=1), campaign_id=campaign_id).id)


def test_a_promotion_shows_the_real_terms_of_its_campaign(shop, mobile: MobileApp):
    shop.now = SATURDAY
    cid = make_campaign(shop.program, shop.now, labels=LABELS, weekdays=["sat", "sun"])
    promote(mobile.program_id, "This weekend", shop.now, cid)
    promote(mobile.program_id, "Just words", shop.now)
    shown = {p["title"]: p["campaign"] for p in mobile.get("/promotions").get_json()["promotions"]}
    assert shown["Just words"] is None
    assert (shown["This weekend"]["id"], shown["This weekend"]["label"],
            shown["This weekend"]["weekdays"], shown["This weekend"]["status"]) == \
        (cid, "Points doublés", [6, 7], "running")


def test_a_promotion_cannot_point_to_another_program_s_campaign(shop, mobile: MobileApp):
    other_id, _key = make_program("other")
    foreign = make_campaign(db.session.get(Program, other_id), shop.now)
    for wrong in (foreign, 999_999):
        with pytest.raises(ValidationFailed) as refused:
            promote(mobile.program_id, f"Borrowed {wrong}", shop.now, wrong)
        assert refused.value.details["field"] == "campaign_id"
    assert db.session.scalars(select(Promotion)).all() == []


def test_the_promotions_command_points_to_a_campaign(shop, runner):
    cid = make_campaign(shop.program, shop.now)
    made = runner.invoke(args=["promotions", "create", "Double points", "--starts",
                               "2026-03-01", "--ends", "2026-03-31", "--campaign", str(cid)])
    assert made.exit_code == 0, made.output
    promotion = db.session.get(Promotion, int(made.output.strip().splitlines()[-1]))
    assert promotion.campaign_id == cid
    unknown = runner.invoke(args=["promotions", "create", "Nothing", "--starts", "2026-03-01",
                                  "--ends", "2026-03-31", "--campaign", "999999"])
    assert unknown.exit_code == 2
    assert "No campaign 999999 in this program." in unknown.output


# --- the document -----------------------------------------------------------------------------

def test_answers_with_a_ladder_and_campaigns_keep_to_the_document(shop, mobile: MobileApp):
    shop.now = SATURDAY
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    customer = mobile.register()
    shop.sell(customer.card_number, 6000)
    cid = make_campaign(shop.program, shop.now, labels=LABELS, hours="09:00-20:00")
    make_campaign(shop.program, shop.now, name="Bonus", bonus_points=20, tiers=["silver"],
             store_ids=[shop.till.store_id], categories=["bakery"])
    promote(mobile.program_id, "Double points", shop.now, cid)
    app = CheckedClient(mobile.client, PREFIX, mobile_document(),
                        {"X-App-Key": mobile.app_key})
    me = {"Authorization": f"Bearer {customer.access_token}"}
    assert len(app.get("/branding").get_json()["tiers"]["tiers"]) == 2
    assert app.get("/promotions").get_json()["promotions"][0]["campaign"]["id"] == cid
    assert app.get("/me/tier", headers=me).get_json()["tier"]["key"] == "silver"
    assert len(app.get("/campaigns", headers=me).get_json()["campaigns"]) == 2
