"""Steps the people who run the program take in the back office, shared by the browser tests."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.security import app_hasher

OFFICE_PASSWORD = "office-password"


def add_office_login(shop, username: str, role: str) -> None:
    """A back office login of `role` in the served program (no store: not a till login)."""
    shop.read(lambda: run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), username, role, OFFICE_PASSWORD, None, app_hasher())))


def freeze_clock(shop, moment: dt.datetime) -> None:
    """The served app's clock (two-factor codes, audit times) stops at `moment`."""
    shop.app.extensions["pos_loyalty.clock"] = lambda: moment


def sign_in(page: Page, username: str, code: str | None = None) -> None:
    """Sign in to /admin in English; with two-factor on, type `code` on the next page."""
    page.goto("/admin/login")
    english = page.get_by_role("button", name="English")
    if english.count():
        english.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(OFFICE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code is not None:
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("navigation", name="Back office menu")).to_be_visible()
