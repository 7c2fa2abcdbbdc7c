"""The back office's customers in a real browser: support finds a customer by phone and adjusts
within its limit; above it the adjustment waits for an admin, who approves it."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account
from pos_loyalty.security import app_hasher

PASSWORD = "office-password"


def add_staff(shop, role: str) -> None:
    shop.read(lambda: run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), role, role, PASSWORD, None, app_hasher())))


def sign_in(page: Page, username: str) -> None:
    page.goto("/admin/login")
    english = page.get_by_role("button", name="English")
    if english.count():
        english.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Back office menu")).to_be_visible()


def available_points(shop, phone: str) -> int:
    return shop.read(lambda: db.session.scalar(
        select(Account.available_points).where(Account.phone_e164 == phone)))


def adjust(page: Page, points: str, reason: str) -> None:
    form = page.get_by_role("region", name="Adjust points")
    form.get_by_label("Points to add (negative to withdraw)").fill(points)
    form.get_by_label("Reason of the adjustment").fill(reason)
    form.get_by_role("button", name="Adjust").click()


def test_support_adjusts_within_its_limit_and_an_admin_approves_above_it(page: Page, shop):
    add_staff(shop, "support")
    add_staff(shop, "admin")
    phone = shop.phones["Léa"]

    sign_in(page, "support")
    menu = page.get_by_role("navigation", name="Back office menu")
    expect(menu.get_by_role("link", name="Approvals")).to_have_count(0)
    menu.get_by_role("link", name="Customers").click()
    page.get_by_label("Phone, card number, first name or e-mail").fill("06 12 00 00 01")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Léa").click()
    expect(page.get_by_role("heading", name=re.compile("^Léa"))).to_be_visible()
    expect(page.get_by_role("region", name="Customer")).to_contain_text(phone)

    adjust(page, "50", "receipt 1234 not scanned")
    expect(page.get_by_role("status")).to_have_text(
        "Points adjusted: the balance is now 550 points.")
    expect(page.get_by_role("region", name="Balance")).to_contain_text("Available points550")
    expect(page.get_by_role("region", name="Points history")).to_contain_text(
        "receipt 1234 not scanned")

    adjust(page, "800", "store closed on Saturday")
    expect(page.get_by_role("status")).to_contain_text(
        "above your limit of 500: it waits for an admin's approval")
    expect(page.get_by_role("region", name="Balance")).to_contain_text("Available points550")
    assert available_points(shop, phone) == 550
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "admin")
    page.get_by_role("navigation", name="Back office menu").get_by_role(
        "link", name="Approvals").click()
    row = page.get_by_role("row").filter(has_text="store closed on Saturday")
    expect(row).to_contain_text("staff:support")
    row.get_by_role("button", name="Approve 800 points for Léa").click()
    expect(page.get_by_role("status")).to_have_text(
        "Approved: 800 points adjusted, the balance is now 1,350 points.")
    expect(page.get_by_role("cell", name="Nothing waits for approval.")).to_be_visible()
    assert available_points(shop, phone) == 1350
