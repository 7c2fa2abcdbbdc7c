"""The back office in a real browser: an admin imports members from a CSV with good and bad
lines; finance reads reports and exports but cannot change anything."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account
from pos_loyalty.security import app_hasher

PASSWORD = "office-e2e-pass"
MEMBERS = ("téléphone;prénom;solde;langue\n"
           "06 12 34 56 78;Camille;250;fr\n"
           "06 12 34 56;Trop court;10;fr\n"
           "06 61 22 33 44;Nina;-4;en\n"
           "06 98 76 54 32;Marc;40;en\n").encode()


def office_login(shop, page: Page, role: str) -> None:
    """A back office login of `role` (named after it), signed in, pages in English."""
    shop.read(lambda: run_in_transaction(lambda: programs.create_staff(
        programs.default_program(), f"office-{role}", role, PASSWORD, None, app_hasher())))
    page.goto("/admin/login")
    switch = page.get_by_role("button", name="English")
    if switch.count():
        switch.click()
    page.get_by_label("Username").fill(f"office-{role}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Back office menu")).to_be_visible()


def members_count(shop) -> int:
    return shop.read(lambda: db.session.scalar(select(func.count()).select_from(Account)))


def csv_upload(name: str = "clients.csv") -> dict:
    return {"name": name, "mimeType": "text/csv", "buffer": MEMBERS}


def test_a_csv_with_good_and_bad_lines_imports_the_good_ones_and_lists_the_bad(page: Page,
                                                                               shop):
    before = members_count(shop)
    office_login(shop, page, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Import members").click()
    page.get_by_label("CSV file of members").set_input_files(csv_upload())
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Check of clients.csv")).to_be_visible()
    bad = page.get_by_role("table", name="Bad lines")
    expect(bad.get_by_role("row")).to_have_count(3)   # the header and two bad lines
    expect(bad.get_by_role("row").nth(1)).to_contain_text(
        "3The phone number cannot be read or is not valid.bad_phone")
    expect(bad.get_by_role("row").nth(2)).to_contain_text(
        "4The points balance is negative.negative_balance")
    assert members_count(shop) == before

    page.get_by_label("The same file again").set_input_files(csv_upload())
    page.get_by_role("button", name="Import 2 members").click()
    expect(page.get_by_role("status")).to_have_text("2 members imported.")
    expect(page.get_by_role("table", name="Bad lines").get_by_role("row")).to_have_count(3)
    assert members_count(shop) == before + 2


def test_finance_reads_reports_and_exports_but_any_change_is_refused(page: Page, shop):
    office_login(shop, page, "finance")
    menu = page.get_by_role("navigation", name="Back office menu")
    expect(menu.get_by_role("link", name="Import members")).to_have_count(0)
    menu.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Members\s*2"))
    menu.get_by_role("link", name="Exports").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the members").click()
    assert download.value.suggested_filename.endswith(".csv")

    refused = page.goto("/admin/imports")
    assert refused.status == 403
    expect(page.get_by_role("main")).to_contain_text("Your role does not allow this.")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post("/admin/imports/check", multipart={
        "csrf_token": token, "file": csv_upload()})
    assert answer.status == 403
    assert members_count(shop) == 2
