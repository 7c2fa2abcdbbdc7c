"""A new store set up from the browser: an admin creates the store and a terminal (its key
shown once), then a cashier for it, who opens the till at /cashier."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.security import app_hasher

ADMIN_PASSWORD = "admin-password"


def add_admin(shop) -> None:
    """The one admin `pos-loyalty staff create` made on the command line."""
    shop.read(lambda: run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), "ada", "admin", ADMIN_PASSWORD, None, app_hasher())))


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login")
    switch = page.get_by_role("button", name="English")
    if switch.count():
        switch.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Back office menu")).to_be_visible()


def test_an_admin_sets_up_a_store_a_terminal_and_a_cashier_who_opens_the_till(page: Page, shop):
    add_admin(shop)
    sign_in(page, "ada", ADMIN_PASSWORD)

    menu = page.get_by_role("navigation", name="Back office menu")
    menu.get_by_role("link", name="Stores and terminals").click()
    page.get_by_role("link", name="New store").click()
    page.get_by_label("Name").fill("Boulangerie Villeurbanne")
    page.get_by_label("Address").fill("12 avenue Henri Barbusse\n69100 Villeurbanne")
    page.get_by_label("Opening hours").fill("Mon-Sat 7:00-20:00")
    page.get_by_label("Latitude").fill("45,7710")
    page.get_by_role("button", name="Create the store").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The longitude is a number from -180 to 180, given with the latitude")
    expect(page.get_by_label("Latitude")).to_have_value("45,7710")
    page.get_by_label("Longitude").fill("4.8800")
    page.get_by_role("button", name="Create the store").click()
    expect(page.get_by_role("heading", name="Boulangerie Villeurbanne")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Store Boulangerie Villeurbanne created: now give it a terminal.")

    page.get_by_label("Terminal name").fill("Caisse 3")
    page.get_by_role("button", name="Create a terminal").click()
    expect(page.get_by_role("heading", name="Terminal created")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("it is shown only this once")
    key = page.get_by_label("API key").input_value()
    assert re.fullmatch(r"tk_[\w-]{40,}", key)
    answer = page.request.post("/api/pos/v1/cards/lookup",
                               data={"card_number": shop.cards["Léa"]},
                               headers={"Authorization": f"Bearer {key}"})
    assert answer.status == 200
    assert answer.json()["account"]["available_points"] == 500
    page.get_by_role("link", name="I have copied the key: back to the store").click()
    terminals = page.get_by_role("region", name="Terminals")
    expect(terminals.get_by_role("row", name=re.compile("^Caisse 3 Active"))).to_be_visible()
    assert key not in page.content()

    menu.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="New login").click()
    page.get_by_label("Username").fill("lucie")
    page.get_by_label("Password").fill("baguette-2026")
    page.get_by_label("Role").select_option(label="cashier")
    page.get_by_label("Store").select_option(label="Boulangerie Villeurbanne")
    page.get_by_role("button", name="Create the login").click()
    expect(page.get_by_role("status")).to_have_text(
        "Login lucie created: give them their password.")
    expect(page.get_by_role("heading", name="lucie")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    page.goto("/cashier/login")
    switch = page.get_by_role("button", name="English")
    if switch.count():
        switch.click()
    page.get_by_label("Username").fill("lucie")
    page.get_by_label("Password").fill("baguette-2026")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation")).to_be_visible()
    expect(page.get_by_text("Boulangerie Villeurbanne")).to_be_visible()
