"""Tiers and campaigns as the POS software sees them, both engines: the quote at the terminal's
store lists what applies and agrees with the sale; card answers carry the tier; the answers
keep to the OpenAPI document with real tiers and campaigns in them."""

from offers_setup import LADDER, SATURDAY, campaign
from openapi_check import CheckedClient

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.openapi import pos_document
from pos_loyalty.usecases import offers

LABELS = {"fr": "Points doublés", "en": "Double points"}


def other_store(till) -> int:
    return run_in_transaction(lambda: programs.create_store(till.program(), "Annecy").id)


def quote(till, card, total_minor, **body):
    reply = till.post("/quote", {"card_number": card, "total_minor": total_minor, **body})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_the_quote_lists_the_campaign_and_the_sale_gives_the_same(till, shop):
    shop.now = SATURDAY
    card = shop.customer()
    cid = campaign(shop, labels=LABELS)
    answer = quote(till, card, 2300)
    assert (answer["base_points"], answer["tier_points"], answer["points_earned"]) == (23, 0, 46)
    assert answer["applied_campaigns"] == [{"id": cid, "name": "Double points",
                                            "labels": LABELS, "points": 23}]
    assert answer["tier"] is None
    sale = till.sell(card, 2300).get_json()
    assert sale["applied_campaigns"] == answer["applied_campaigns"]
    assert sale["points_earned"] == answer["points_earned"]


def test_the_quote_applies_the_campaigns_of_the_terminal_s_store_only(till, shop):
    shop.now = SATURDAY
    card = shop.customer()
    here = campaign(shop, name="Lyon x2", store_ids=[till.store_id])
    campaign(shop, name="Annecy x3", multiplier="3", store_ids=[other_store(till)])
    answer = quote(till, card, 1000)
    assert [(c["id"], c["points"]) for c in answer["applied_campaigns"]] == [(here, 10)]
    assert answer["points_earned"] == 20


def test_the_quote_names_the_tier_and_adds_its_points(till, shop):
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    card = shop.customer()
    till.sell(card, 6000)                              # 60 points: Silver from now on
    answer = quote(till, card, 1000, redeem_points=0)
    assert (answer["tier"], answer["base_points"], answer["tier_points"]) == ("silver", 10, 5)
    assert answer["points_earned"] == 15 and answer["applied_campaigns"] == []


def test_a_card_answer_names_the_tier_in_the_program_s_language(till, shop):
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    card, newcomer = shop.customer(), shop.customer()
    till.sell(card, 6000)
    for reply in (till.get(f"/cards/{card}"),
                  till.post("/cards/lookup", {"card_number": card, "card_entry": "scanned"})):
        assert reply.status_code == 200
        assert reply.get_json()["account"]["tier"] == {"key": "silver", "name": "Argent"}
    assert till.get(f"/cards/{newcomer}").get_json()["account"]["tier"] is None


def test_a_program_without_tiers_answers_a_null_tier(till, shop):
    card = shop.customer()
    assert till.get(f"/cards/{card}").get_json()["account"]["tier"] is None
    assert quote(till, card, 1000)["tier"] is None


def test_answers_with_a_tier_and_campaigns_keep_to_the_document(till, shop):
    shop.now = SATURDAY
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    card = shop.customer()
    campaign(shop, labels=LABELS)
    campaign(shop, name="Bakery bonus", bonus_points=5)
    pos = CheckedClient(till.client, "/api/pos/v1", pos_document(), till.headers)
    assert pos.post("/sales", {"card_number": card, "receipt_number": "R1",
                               "total_minor": 6000, "card_entry": "scanned"},
                    headers={"Idempotency-Key": "sale-r1"}).status_code == 201
    answer = pos.post("/quote", {"card_number": card, "total_minor": 1000}).get_json()
    assert answer["tier"] == "silver" and len(answer["applied_campaigns"]) == 1
    looked_up = pos.post("/cards/lookup", {"card_number": card}).get_json()
    assert looked_up["account"]["tier"]["key"] == "silver"
    assert pos.get(f"/cards/{card}").status_code == 200


def test_a_bad_quote_is_still_a_clear_4xx(till, shop):
    shop.now = SATURDAY
    card = shop.customer()
    campaign(shop)
    reply = till.post("/quote", {"card_number": card, "total_minor": 0})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "validation_error"
