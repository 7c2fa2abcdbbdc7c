"""Program settings in a real browser: marketing changes the earn rate in the back office and
the till's next quote for the same basket earns at the new rate."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.security import app_hasher
from till_pages import log_in, scan

MARKETING_PASSWORD = "marketing-pass"


def add_marketing_login(shop) -> None:
    shop.read(lambda: run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), "marion", "marketing", MARKETING_PASSWORD, None,
        app_hasher())))


def quote_earns(page: Page, total: str) -> None:
    page.get_by_label("Total of the bill (EUR)").fill(total)
    page.get_by_role("button", name="Calculate").click()
    expect(page.get_by_label(re.compile(r"^Points to use"))).to_be_visible()


def test_marketing_changes_the_earn_rate_and_the_till_s_next_quote_uses_it(
        page: Page, browser: Browser, shop):
    add_marketing_login(shop)
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    quote_earns(page, "25.00")
    expect(page.get_by_role("status", name="Points earned")).to_have_text("25")

    office = browser.new_context(base_url=shop.url).new_page()
    office.goto("/admin/login")
    office.get_by_role("button", name="English").click()   # the program speaks French
    office.get_by_label("Username").fill("marion")
    office.get_by_label("Password").fill(MARKETING_PASSWORD)
    office.get_by_role("button", name="Sign in").click()
    office.get_by_role("navigation", name="Back office menu").get_by_role(
        "link", name="Program settings").click()
    preview = office.get_by_role("status", name="What the basket earns and can use")
    expect(preview).to_contain_text("A basket of €25.00 earns 25 points")
    expect(office.locator("#rules-form")).to_have_attribute("data-preview-ready", "")
    office.get_by_label("Points per 1.00 paid").fill("2")
    expect(preview).to_contain_text("A basket of €25.00 earns 50 points")   # not saved yet
    office.get_by_role("button", name="Save the rules").click()
    expect(office.get_by_role("status").filter(has_text="Rules saved")).to_have_text(
        "Rules saved: Points per 1.00 paid.")
    office.context.close()

    quote_earns(page, "25.00")
    expect(page.get_by_role("status", name="Points earned")).to_have_text("50")
