"""The back office's campaigns in a real browser: a marketing user creates "double points on
Saturdays" for Gold members, finds it in the list, and the till's quote for a Gold customer on
a Saturday shows it."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from pos_loyalty import programs, tiers
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Card
from pos_loyalty.programs import rules_for
from pos_loyalty.rules import rung_named
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import offers
from till_pages import log_in, scan

SATURDAY = dt.datetime(2026, 3, 14, 10, 0)   # 11:00 in Paris
LADDER = {"tiers": [
    {"key": "silver", "threshold": 500, "multiplier": "1", "names": {"fr": "Argent",
                                                                     "en": "Silver"}},
    {"key": "gold", "threshold": 1500, "multiplier": "1", "names": {"fr": "Or", "en": "Gold"}},
]}
MARKETING_PASSWORD = "marketing-pass"


def set_up(shop) -> None:
    """The ladder, Léa on Gold, a marketing login; the served app's clock on a Saturday."""
    def work() -> None:
        program = programs.default_program()
        offers.set_tiers(program, LADDER, SATURDAY, "tests")
        programs.create_staff(program, "marion", "marketing", MARKETING_PASSWORD, None,
                              app_hasher())
        account_id = db.session.scalar(db.select(Card.account_id).where(
            Card.number == shop.cards["Léa"]))
        gold = rung_named(rules_for(program).tiers, "gold")
        tiers.record_move(program, tiers.TierMove(account_id, None, gold, "set", 1500),
                          SATURDAY)
    shop.read(lambda: run_in_transaction(work))
    shop.app.extensions["pos_loyalty.clock"] = lambda: SATURDAY


def sign_in_to_the_back_office(page: Page) -> None:
    page.goto("/admin/login")
    english = page.get_by_role("button", name="English")
    if english.count():
        english.click()
    page.get_by_label("Username").fill("marion")
    page.get_by_label("Password").fill(MARKETING_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Back office menu")).to_be_visible()


def test_marketing_creates_double_points_on_saturdays_for_gold_and_the_till_gives_it(
        page: Page, shop):
    set_up(shop)
    sign_in_to_the_back_office(page)
    page.get_by_role("navigation", name="Back office menu").get_by_role(
        "link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("Double Saturdays Gold")
    page.get_by_label("Label in French").fill("Points doublés le samedi")
    page.get_by_label("Label in English").fill("Double points on Saturdays")
    page.get_by_label("Starts on").fill("2026-03-01")
    page.get_by_label("Ends on").fill("2026-03-31")
    page.get_by_role("group", name="Days of the week").get_by_label("Saturday").check()
    page.get_by_role("group", name="Tiers").get_by_label("Gold").check()
    page.get_by_label("Multiplier (2 = double points)").fill("2")
    page.get_by_role("button", name="Create the campaign").click()

    expect(page.get_by_role("status")).to_have_text("Campaign Double Saturdays Gold created.")
    page.get_by_role("link", name="All campaigns").click()
    running = page.get_by_role("table", name="Running")
    expect(running.get_by_role("row", name="Double Saturdays Gold")).to_contain_text(
        "Double points on Saturdays")

    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    page.get_by_label("Total of the bill (EUR)").fill("20.00")
    page.get_by_role("button", name="Calculate").click()
    expect(page.get_by_role("list", name="Bonus points")).to_contain_text(
        "Double points on Saturdays: +20")
    assert shop.read(lambda: db.session.scalar(db.select(Account.tier).where(
        Account.first_name == "Léa"))) == "gold"
