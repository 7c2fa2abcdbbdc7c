"""Steps a cashier takes, shared by the browser tests: elements found by label and role."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORDS = {"cashier": "cashier-pass", "manager": "manager-pass"}


def log_in(page: Page, role: str, language: str = "English") -> None:
    """Log in at the till in `language` (the program's default is French); the language
    switch shows the other language, one click away."""
    page.goto("/cashier/login")
    switch = page.get_by_role("button", name=language)
    if switch.count():
        switch.click()
    page.get_by_label({"English": "Username", "Français": "Identifiant"}[language]).fill(role)
    page.get_by_label({"English": "Password", "Français": "Mot de passe"}[language]).fill(
        PASSWORDS[role])
    page.get_by_role("button", name={"English": "Log in", "Français": "Se connecter"}[language]
                     ).click()
    expect(page.get_by_role("navigation")).to_be_visible()


def scan(page: Page, card_number: str) -> None:
    """What a USB scanner does: the digits, then Enter, in one burst a few microseconds
    apart, into the focused field.

    Sent from inside the page: typed through the browser's protocol, each key is a round trip
    to Chromium, and on a loaded machine (the suite's parallel workers) the gaps grow past what
    the page takes for a scanner, so a scan would sometimes read as typed. The field is
    focused as soon as the page is parsed, before the page's script times its keys: the scan
    waits for the script to say it listens (data-scan-ready)."""
    field = page.get_by_label("Card number")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("data-scan-ready", "")
    page.evaluate("""(number) => {
      const field = document.activeElement;
      for (const character of number) {
        field.dispatchEvent(new KeyboardEvent("keydown", {key: character, bubbles: true}));
        field.value += character;
        field.dispatchEvent(new Event("input", {bubbles: true}));
      }
      field.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
      field.form.requestSubmit();
    }""", card_number)


def script_ready(page: Page) -> None:
    """Wait for the page's script to listen (it says so last, data-script-ready): a click
    that lands the new page lets the test go on before its script has run, and on a loaded
    machine a key typed or a button pressed that early would go unheard."""
    expect(page.locator("html")).to_have_attribute("data-script-ready", "")


def use_points(page: Page, points: str) -> None:
    """Type the points to use, which the live figures under them follow."""
    script_ready(page)
    page.get_by_label(re.compile(r"^Points to use")).fill(points)


def use_maximum(page: Page) -> None:
    script_ready(page)
    page.get_by_role("button", name="Use maximum").click()


def tap_keypad(page: Page, digits: str) -> None:
    """Press the on-screen PIN keypad's keys, into the PIN field last focused."""
    script_ready(page)
    keypad = page.get_by_role("group", name="PIN keypad")
    for digit in digits:
        keypad.get_by_role("button", name=digit, exact=True).click()


def type_by_hand(page: Page, card_number: str) -> None:
    """What a cashier does reading the number off a card: a key at a time, then Enter."""
    expect(page.get_by_label("Card number")).to_be_focused()
    page.keyboard.type(card_number, delay=120)
    page.keyboard.press("Enter")
