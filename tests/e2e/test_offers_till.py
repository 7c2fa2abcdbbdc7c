"""Tiers and campaigns at the till in a real browser: the panel's tier and progress, the
quote's campaign line (redone live as points are typed), the receipt that names it."""
from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from pos_loyalty import programs
from pos_loyalty.usecases import offers
from till_pages import log_in, scan, use_points

SET_UP = dt.datetime(2026, 1, 1)
LADDER = {"tiers": [
    {"key": "silver", "threshold": 15, "multiplier": "1.5",
     "names": {"fr": "Argent", "en": "Silver"}},
    {"key": "gold", "threshold": 1000, "multiplier": "2", "names": {"fr": "Or", "en": "Gold"}},
]}
# Runs whatever day the browser test runs: the served app keeps the real clock.
DOUBLE_POINTS = {"name": "Double points", "starts": "2000-01-01", "ends": "2100-01-01",
                 "multiplier": "2",
                 "labels": {"fr": "Points doublés aujourd'hui", "en": "Double points today"}}


def set_up_offers(shop) -> None:
    def work() -> None:
        program = programs.default_program()
        offers.set_tiers(program, LADDER, SET_UP, "tests")
        offers.create_campaign(program, DOUBLE_POINTS, SET_UP, "tests")
    shop.read(work)


def test_the_till_shows_the_tier_and_the_campaign_from_quote_to_receipt(page: Page, shop):
    set_up_offers(shop)
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    tier = page.get_by_role("group", name="VIP tier")
    expect(tier).to_contain_text("No tier yet")
    expect(tier).to_contain_text("15 points to Silver")
    expect(tier.get_by_role("progressbar")).to_be_visible()

    page.get_by_label("Total of the bill (EUR)").fill("20.00")
    page.get_by_role("button", name="Calculate").click()
    bonuses = page.get_by_role("list", name="Bonus points")
    expect(bonuses).to_have_text("Double points today: +20")
    use_points(page, "100")
    expect(bonuses).to_have_text("Double points today: +10")
    expect(page.get_by_role("status", name="Points earned")).to_have_text("20")
    page.get_by_role("button", name="Confirm sale").click()

    receipt = page.get_by_role("region", name=re.compile("^Receipt"))
    expect(receipt).to_contain_text("Points earned20")
    expect(receipt).to_contain_text("Double points today+10")
    expect(receipt).to_contain_text("New balance420 pts")

    page.get_by_role("link", name="Checkout").click()
    scan(page, shop.cards["Léa"])
    tier = page.get_by_role("group", name="VIP tier")
    expect(tier).to_contain_text("Silver")
    expect(tier).to_contain_text("980 points to Gold")
