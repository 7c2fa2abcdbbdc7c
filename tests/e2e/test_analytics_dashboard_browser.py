"""The analytics dashboard in a real browser: after real sales and a run of `pos-loyalty
rollup`, marketing opens Analytics from the menu and sees the chart (an SVG image, drawn,
whose legend names the series) and the table of the same numbers: the points measure
(`points_flow`), from the daily rollups."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect
from sqlalchemy import select

from analytics_test_measures import legend_names
from office_pages import add_office_login, freeze_clock, sign_in
from pos_loyalty import accounts, adjustments, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Store
from pos_loyalty.rules import BasketLine
from pos_loyalty.sales import SaleRequest
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import checkout

TITLE = "Points issued, redeemed, expired and taken back"
# Monday March 9th 2026, 11:00 in Lyon: the dashboard's default months are April 2025 to March.
TODAY = dt.datetime(2026, 3, 9, 10, 0)
OPENED = dt.datetime(2026, 2, 2, 10, 0)


def sell_in_february_and_march(shop) -> None:
    """Nina (500 points on February 2nd) pays a 20.00 bill with 100 points on February 10th
    and earns 10; on March 9th a 30.00 bill earns 30."""
    def enrol() -> str:
        program = programs.default_program()
        card = accounts.create_customer(
            program, "+33612000099", "2468", OPENED, app_hasher(), first_name="Nina",
            channel="cli",
            card_number=accounts.issue_cards(program, 1, OPENED)[0])
        adjustments.adjust_points(program, card.number, 500, "opening balance", "tests",
                                  OPENED)
        return card.number

    def sell() -> None:
        card_number = run_in_transaction(enrol)
        program = programs.default_program()
        store_id = db.session.scalar(select(Store.id).where(Store.program_id == program.id))
        terminal, _key = run_in_transaction(
            lambda: programs.create_terminal(program, store_id, "Caisse 1"))
        for receipt, total, points, moment in (("F1", 2000, 100, dt.datetime(2026, 2, 10, 10)),
                                               ("M1", 3000, 0, TODAY)):
            checkout.sell(program, terminal, SaleRequest(
                card_number, receipt, [BasketLine("TOTAL", "", 1, total)], points, None, None,
                "scanned", None), moment, f"sale-{receipt}")
    shop.read(sell)


def test_marketing_sees_the_chart_and_the_table_after_sales_and_a_rollup(page: Page, shop):
    freeze_clock(shop, TODAY)
    sell_in_february_and_march(shop)
    # From February: the program was made at the machine's real time, which may be later
    # than this test's clock, and a first run starts on the program's first day.
    ran = shop.app.test_cli_runner().invoke(args=["rollup", "--rebuild-from", "2026-02-01"])
    assert ran.exit_code == 0, ran.output
    add_office_login(shop, "marion", "marketing")
    sign_in(page, "marion")
    page.get_by_role("navigation", name="Back office menu").get_by_role(
        "link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    expect(page.get_by_text("Figures as of 09/03/2026, 11:00")).to_be_visible()

    measure = page.get_by_role("article", name=TITLE)
    chart = measure.get_by_role("img")
    expect(chart).to_have_attribute("alt", (
        "Bar chart of Points issued, Points redeemed, Points expired, Points taken back, from "
        "April 2025 to March 2026, every store. The numbers are in the table under the chart."))
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    # Drawn, not a broken image: the browser decoded the SVG at its own size.
    page.wait_for_function("img => img.complete && img.naturalWidth === 800",
                           arg=chart.element_handle())
    svg = page.request.get(chart.get_attribute("src"))
    assert svg.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert legend_names(svg.text()) == ["Points issued", "Points redeemed", "Points expired",
                                        "Points taken back"]

    measure.get_by_text("The numbers").click()
    table = measure.get_by_role("table", name=TITLE)
    expect(table).to_be_visible()
    rows = table.get_by_role("row")
    expect(rows).to_have_count(13)
    for index, cells in ((0, ["Month", "Points issued", "Points redeemed", "Points expired",
                              "Points taken back"]),
                         (1, ["April 2025", "0", "0", "0", "0"]),
                         (11, ["February 2026", "10", "100", "0", "0"]),
                         (12, ["March 2026", "30", "0", "0", "0"])):
        expect(rows.nth(index).locator("th, td")).to_have_text(cells)
    expect(measure.locator("dl.figures").locator("dt, dd")).to_have_text(
        ["Points issued", "40", "Points redeemed", "100", "Points expired", "0",
         "Points taken back", "0", "Redemption rate", "250.0%", "Breakage", "0.0%"])
    expect(measure.get_by_role("link", name="Download these figures (CSV)")).to_have_attribute(
        "href", "/admin/analytics/points_flow.csv?from=2025-04&to=2026-03&store=")
