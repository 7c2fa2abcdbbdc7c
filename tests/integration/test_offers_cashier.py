"""Tiers and campaigns on the cashier terminal, both engines, in English and French: the
customer panel's tier and progress, the quote's bonus lines (live too), the receipt that names
its campaigns, and the manager's list of today's campaigns with their terms."""
import re

import pytest

from offers_setup import LADDER, SATURDAY, campaign
from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.usecases import offers
from test_cashier_ui import Cashier, add_staff, field, words

LABELS = {"fr": "Points doublés aujourd'hui", "en": "Double points today"}


@pytest.fixture
def weekend(shop):
    """The shop on a Saturday morning, before anyone logs in."""
    shop.now = SATURDAY
    return shop


def log_in(till, username: str, role: str = "cashier", language: str = "en") -> Cashier:
    add_staff(till, username, role)
    person = Cashier(till, username, till.app.test_client())
    person.log_in(language=language)
    return person


def silver_customer(shop) -> str:
    """A customer who earned 60 points this week: Silver, 140 points from Gold."""
    offers.set_tiers(shop.program, LADDER, shop.now, "tests")
    card = shop.customer()
    shop.sell(card, 6000)
    return card


def panel(cashier: Cashier, card: str) -> str:
    cashier.open_card(card)
    return words(cashier.get("/cashier/"))


# --- the customer panel -----------------------------------------------------------------------

def test_the_panel_shows_the_tier_and_what_the_next_one_needs(weekend):
    card = silver_customer(weekend)
    cashier = log_in(weekend.till, "camille")
    screen = panel(cashier, card)
    assert "Silver 140 points to Gold" in screen
    assert "Tier reviewed on 14 March 2027" in screen
    page = cashier.get("/cashier/").text
    assert re.search(r'<progress value="60" max="200" aria-label="140 points to Gold">', page)


def test_the_panel_speaks_french_in_a_french_till(weekend):
    card = silver_customer(weekend)
    screen = panel(log_in(weekend.till, "camille", language="fr"), card)
    assert "Argent Encore 140 points avant le niveau Or" in screen
    assert "Niveau revu le 14 mars 2027" in screen


def test_a_customer_below_the_first_tier_and_one_at_the_top(weekend):
    offers.set_tiers(weekend.program, LADDER, weekend.now, "tests")
    newcomer, best = weekend.customer(), weekend.customer()
    weekend.sell(best, 25000)
    cashier = log_in(weekend.till, "camille")
    assert "No tier yet 50 points to Silver" in panel(cashier, newcomer)
    top = panel(cashier, best)
    assert "Gold Top tier" in top and "<progress" not in cashier.get("/cashier/").text


def test_a_money_ladder_says_how_much_more_to_spend(weekend):
    ladder = {**LADDER, "tier_measure": "money",
              "tiers": [{**rung, "threshold": rung["threshold"] * 100}
                        for rung in LADDER["tiers"]]}
    offers.set_tiers(weekend.program, ladder, weekend.now, "tests")
    card = weekend.customer()
    weekend.sell(card, 1234)
    assert "No tier yet €37.66 more spending to Silver" in panel(
        log_in(weekend.till, "camille"), card)


def test_a_program_without_tiers_shows_no_tier(weekend):
    cashier = log_in(weekend.till, "camille")
    cashier.open_card(weekend.customer())
    assert "VIP tier" not in cashier.get("/cashier/").text


# --- the quote --------------------------------------------------------------------------------

def test_the_quote_lists_the_tier_and_the_campaign_with_their_points(weekend):
    card = silver_customer(weekend)
    campaign(weekend, labels=LABELS)
    cashier = log_in(weekend.till, "camille")
    cashier.open_card(card)
    screen = words(cashier.quote(total="23.00"))
    assert "Silver tier: +11 Double points today: +23" in screen
    assert "Points earned 57" in screen


def test_the_quote_reads_the_campaign_s_label_in_french_or_else_its_name(weekend):
    card = weekend.customer()
    campaign(weekend, labels=LABELS)
    campaign(weekend, name="Bonus boulangerie", bonus_points=30)
    campaign(weekend, name="Coffee", bonus_points=5, labels={"en": "Coffee bonus"})
    weekend.till.set_rules(campaign_combination="additive")
    cashier = log_in(weekend.till, "camille", language="fr")
    cashier.open_card(card)
    screen = words(cashier.quote(total="23,00"))
    assert ("Points doublés aujourd'hui : +23 Bonus boulangerie : +30 Coffee bonus : +5"
            in screen)


def test_the_quote_applies_the_campaigns_of_this_till_s_store_only(weekend):
    card = weekend.customer()
    elsewhere = run_in_transaction(lambda: programs.create_store(weekend.program, "Annecy").id)
    campaign(weekend, name="Annecy triple", multiplier="3", store_ids=[elsewhere])
    campaign(weekend, name="Lyon double", store_ids=[weekend.till.store_id])
    cashier = log_in(weekend.till, "camille")
    cashier.open_card(card)
    screen = words(cashier.quote(total="10.00"))
    assert "Lyon double: +10" in screen and "Annecy" not in screen


def test_the_live_figures_redo_the_bonus_lines(weekend):
    card = weekend.customer(points=500)
    campaign(weekend, labels=LABELS)
    cashier = log_in(weekend.till, "camille")
    cashier.open_card(card)
    page = cashier.quote(total="20.00")
    reply = cashier.post("/cashier/quote.json", {"basket": field(page, "basket"),
                                                 "redeem_points": "100"})
    assert reply.get_json()["earned_lines"] == ["Double points today: +10"]
    assert reply.get_json()["points_earned"] == "20"


def test_no_bonus_means_no_bonus_list(weekend):
    cashier = log_in(weekend.till, "camille")
    cashier.open_card(weekend.customer())
    page = cashier.quote(total="10.00").text
    assert re.search(r'<ul class="earned-lines" data-live-list="earned_lines" '
                     r'aria-label="Bonus points" hidden>\s*</ul>', page)


# --- the receipt ------------------------------------------------------------------------------

def test_the_receipt_names_each_campaign_and_the_balance_counts_them(weekend):
    card = weekend.customer()
    campaign(weekend, labels=LABELS)
    campaign(weekend, name="Welcome", bonus_points=50, first_purchase_only=True)
    weekend.till.set_rules(campaign_combination="additive")
    cashier = log_in(weekend.till, "camille", language="fr")
    sold = cashier.sell(card, total="20,00")
    assert sold.status_code == 302
    receipt = words(cashier.get(sold.location))
    assert "Points gagnés 90 Points doublés aujourd'hui +20 Welcome +50" in receipt
    assert "Nouveau solde 90 pts" in receipt


# --- the manager's screen ---------------------------------------------------------------------

def test_the_manager_lists_today_s_campaigns_with_their_terms(weekend):
    offers.set_tiers(weekend.program, LADDER, weekend.now, "tests")
    campaign(weekend, labels=LABELS, weekdays=["sat", "sun"], hours="18:00-20:00",
             store_ids=[weekend.till.store_id], tiers=["gold"], min_basket_minor=1500,
             per_customer_limit=2, budget_points=1000)
    campaign(weekend, name="Welcome", bonus_points=50, first_purchase_only=True,
             categories=["bakery"], skus=["BREAD"])
    campaign(weekend, name="Evening", starts="2026-03-14T18:00", ends="2026-03-14T22:00")
    campaign(weekend, name="Mondays", weekdays=["mon"])
    campaign(weekend, name="Next month", starts="2026-04-01", ends="2026-05-01")
    screen = words(log_in(weekend.till, "morgane", "manager").get("/cashier/manage"))
    assert ("Double points today Running now Points × 2 From 01/03/2026 to 31/03/2026 "
            "On Saturday, Sunday Hours: 18:00–20:00 Only in some stores, "
            "this one included For tiers: Gold Basket of €15.00 or more At most 2 times per "
            "customer Budget: 0 of 1,000 points given") in screen
    assert ("Welcome Running now +50 points per receipt From 01/03/2026 to 31/03/2026 "
            "Products: bakery Items: BREAD First purchase only") in screen
    assert ("Evening Starts later today Points × 2 From 14/03/2026, 18:00 to 14/03/2026, "
            "22:00") in screen
    assert "Mondays" not in screen and "Next month" not in screen


def test_the_manager_reads_them_in_french(weekend):
    campaign(weekend, labels=LABELS, multiplier="1.5", weekdays=["sat"])
    screen = words(log_in(weekend.till, "morgane", "manager", language="fr")
                   .get("/cashier/manage"))
    assert ("Campagnes du jour dans ce magasin Points doublés aujourd'hui En cours "
            "Points × 1,5 Du 01/03/2026 au 31/03/2026 Jours : samedi") in screen


def test_a_day_without_campaigns_says_so(weekend):
    screen = words(log_in(weekend.till, "morgane", "manager").get("/cashier/manage"))
    assert "Today's campaigns in this store No campaign today." in screen
