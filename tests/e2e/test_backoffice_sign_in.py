"""Signing in to the back office in a real browser: two-factor with a code computed at the
served app's clock, and a finance login that reads but cannot change anything."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect
from sqlalchemy import select

from office_pages import add_office_login, freeze_clock, sign_in
from pos_loyalty import totp
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Staff

MOMENT = dt.datetime(2026, 6, 1, 8, 30)
SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


def test_admin_with_two_factor_signs_in_with_the_code_of_the_moment(page: Page, shop):
    freeze_clock(shop, MOMENT)
    add_office_login(shop, "ada", "admin")

    def turn_on() -> None:
        staff = db.session.scalar(select(Staff).where(Staff.username == "ada"))
        staff.totp_secret = totp.encrypt_secret(SECRET)
    shop.read(lambda: run_in_transaction(turn_on))
    page.goto("/admin/login")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("office-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    page.get_by_label("Code").fill(totp.code_at(SECRET, MOMENT - dt.timedelta(minutes=2)))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong or already used code")
    page.get_by_label("Code").fill(totp.code_at(SECRET, MOMENT))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Back office")).to_be_visible()
    expect(page.get_by_text("Signed in as ada (admin).")).to_be_visible()


def test_admin_sets_two_factor_up_by_scanning_the_code(page: Page, shop):
    freeze_clock(shop, MOMENT)
    add_office_login(shop, "ada", "admin")
    shop.app.config["LOYALTY"]["back_office"]["require_totp_for_admins"] = True
    sign_in(page, "ada")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.get_by_label("QR code for the authenticator app")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    page.get_by_role("textbox", name="Code").fill(totp.code_at(secret, MOMENT))
    page.get_by_role("button", name="Turn two-factor on").click()
    expect(page.get_by_role("status")).to_contain_text("Two-factor sign-in is on")


def test_finance_reads_the_audit_log_but_cannot_change_anything(page: Page, shop):
    freeze_clock(shop, MOMENT)
    add_office_login(shop, "fanny", "finance")
    sign_in(page, "fanny")
    menu = page.get_by_role("navigation", name="Back office menu")
    expect(menu.get_by_role("link", name="Audit log")).to_be_visible()
    expect(menu.get_by_role("link", name="Staff")).to_have_count(0)
    page.get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post("/admin/two-factor", form={"csrf_token": token, "code": "1"})
    assert answer.status == 403
    assert "Your role does not allow this." in answer.text()
    assert shop.read(lambda: db.session.scalar(
        select(Staff.totp_secret).where(Staff.username == "fanny"))) is None
