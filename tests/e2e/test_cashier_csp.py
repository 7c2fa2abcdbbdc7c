"""The till under its Content-Security-Policy: every screen works, an injected script does not."""
from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Page, expect

from till_pages import log_in, scan, use_points

POLICY = ("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
          "object-src 'none'")


def collect_errors(page: Page) -> list[str]:
    """Console errors, CSP refusals among them ("Refused to execute inline script ...")."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)
    page.on("console", keep)
    return errors


def test_every_screen_works_under_the_policy_without_a_refusal(page: Page, shop):
    errors = collect_errors(page)
    login = page.goto("/cashier/login")
    assert login.headers["content-security-policy"] == POLICY
    assert login.headers["x-content-type-options"] == "nosniff"
    log_in(page, "manager")
    scan(page, shop.cards["Léa"])
    page.get_by_label("Total of the bill (EUR)").fill("20.00")
    page.get_by_role("button", name="Calculate").click()
    use_points(page, "100")
    # The live figures come from the server through the script (fetch, same origin).
    expect(page.get_by_role("status", name="Cash due")).to_have_text("€10.00")
    page.get_by_role("button", name="Confirm sale").click()
    expect(page.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    for link in ("Returns", "Enrol", "Manager"):
        page.get_by_role("navigation").get_by_role("link", name=link).click()
        expect(page.get_by_role("navigation").get_by_role("link", name=link)
               ).to_have_attribute("aria-current", "page")
    assert errors == []


def test_a_script_injected_into_a_page_does_not_run(page: Page, shop):
    errors = collect_errors(page)
    page.goto("/cashier/login")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
        document.body.setAttribute("onclick", "window.clicked = true");
    }""")
    page.locator("body").click(position={"x": 5, "y": 700})
    assert page.evaluate("window.injected === undefined && window.clicked === undefined")
    assert any("Content Security Policy" in error for error in errors), errors
