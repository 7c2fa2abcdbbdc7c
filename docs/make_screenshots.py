"""Make docs/checkout.png (the cashier's checkout screen), docs/backoffice.png (a customer's
page in the back office) or docs/analytics.png (the back office's analytics dashboard) on the
demo data, in Chromium.

    python docs/make_screenshots.py [--face till|backoffice|analytics] [--out FILE]
                                    [--width 1280] [--height 800] [--language English|Français]

Loads the demo data (the same as `pos-loyalty demo`) into a temporary SQLite file, serves it on
a free localhost port, then either logs in as the demo cashier, scans a customer's card, quotes
a basket and chooses points; or signs in to the back office as the demo support login and opens
that customer's page; or runs `pos-loyalty rollup` and signs in as the demo marketing login to
open Analytics, once every chart is drawn; then saves the screen. Needs the `test` extra
(Playwright) and /usr/bin/chromium.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from pos_loyalty.app import create_app
from pos_loyalty.db import db, run_in_transaction

DOCS = Path(__file__).resolve().parent
SHOTS = {"till": "checkout.png", "backoffice": "backoffice.png", "analytics": "analytics.png"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--face", default="till", choices=tuple(SHOTS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--language", default="English", choices=("English", "Français"))
    options = parser.parse_args()
    options.out = options.out or DOCS / SHOTS[options.face]
    with tempfile.TemporaryDirectory() as folder:
        database = {"service": {"database_url": f"sqlite:///{folder}/demo.sqlite3",
                                "secret_key": "screenshots"}}
        # The demo's cheap hashing, as `pos-loyalty demo` loads it (seconds, not minutes).
        app = create_app({**database, "security": create_app(database).config["LOYALTY"]["demo"]})
        with app.app_context():
            from pos_loyalty.cli import migrate_schema
            from pos_loyalty.demo import load_demo_data
            migrate_schema()
            _key, customers = run_in_transaction(load_demo_data)
            if options.face == "analytics":
                from pos_loyalty.analytics.rollups import run_rollups
                from pos_loyalty.clock import now
                run_rollups(now())
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}", customers[0][1], options)
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            with app.app_context():
                db.engine.dispose()
    print(f"wrote {options.out}")


def shoot(url: str, card_number: str, options: argparse.Namespace) -> None:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": options.width, "height": options.height},
                                base_url=url)
        if options.face == "backoffice":
            customer_page(page, card_number, options.language == "English")
        elif options.face == "analytics":
            analytics_page(page, options.language == "English")
        else:
            checkout(page, card_number, options.language)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(options.out))
        browser.close()


def office_sign_in(page, username: str, english: bool) -> None:
    """Sign in to the back office as a demo login (its password is `<username>-demo`)."""
    page.goto("/admin/login")
    switch = page.get_by_role("button", name="English" if english else "Français")
    if switch.count():
        switch.click()
    page.get_by_label("Username" if english else "Identifiant").fill(username)
    password = page.get_by_label("Password" if english else "Mot de passe")
    password.fill(f"{username}-demo")
    password.press("Enter")


def customer_page(page, card_number: str, english: bool) -> None:
    """The demo support login finds the customer by card number and opens their page."""
    office_sign_in(page, "support", english)
    page.get_by_role("link", name="Customers" if english else "Clients").first.click()
    search = page.get_by_role("searchbox")
    search.fill(card_number)
    search.press("Enter")
    page.locator("table.list a").first.click()
    expect(page.get_by_role("heading").first).to_be_visible()


def analytics_page(page, english: bool) -> None:
    """The demo marketing login opens Analytics; the screen is taken once every chart (an
    image each) is drawn."""
    office_sign_in(page, "marketing", english)
    page.get_by_role("link", name="Analytics" if english else "Analyses").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for chart in page.locator("img.chart").all():
        chart.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.images].every(image => image.complete)")
    page.evaluate("window.scrollTo(0, 0)")


def checkout(page, card_number: str, language: str) -> None:
    """The demo cashier scans the card, quotes a basket and chooses half the points usable."""
    page.goto("/cashier/login")
    switch = page.get_by_role("button", name=language)
    if switch.count():
        switch.click()
    english = language == "English"
    page.get_by_label("Username" if english else "Identifiant").fill("cashier")
    password = page.get_by_label("Password" if english else "Mot de passe")
    password.fill("cashier-demo")
    password.press("Enter")
    card = page.get_by_label("Card number" if english else "Numéro de carte")
    card.fill(card_number)
    card.press("Enter")
    total = page.get_by_label(re.compile("^Total of the bill" if english else "^Total de"))
    total.fill("23.40")
    total.press("Enter")
    points = page.get_by_label(re.compile("^Points to use" if english else "^Points à"))
    most = int(points.get_attribute("max") or 0)
    points.fill(str(most // 2))
    if most // 2:
        paid = page.get_by_role("status", name="Paid with points" if english
                                else "Payé en points")
        expect(paid).not_to_have_text(re.compile(r"^\D*0[.,]00\D*$"))


if __name__ == "__main__":
    main()
