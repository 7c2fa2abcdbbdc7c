"""The cashier terminal in a real browser: what a cashier and a manager do at the till."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from pos_loyalty import live_codes
from pos_loyalty.db import db, utcnow
from pos_loyalty.models import Account, Card, Sale
from till_pages import log_in, scan, tap_keypad, type_by_hand, use_maximum, use_points


def sale_count(shop) -> int:
    return shop.read(lambda: db.session.scalar(select(func.count()).select_from(Sale)))


def available_points(shop, card_number: str) -> int:
    return shop.read(lambda: db.session.scalar(
        select(Account.available_points).join(Card, Card.account_id == Account.id)
        .where(Card.number == card_number)))


def open_basket(page: Page, total: str) -> None:
    page.get_by_label("Total of the bill (EUR)").fill(total)
    page.get_by_role("button", name="Calculate").click()
    expect(page.get_by_label(re.compile(r"^Points to use"))).to_be_visible()


def test_scan_and_sell_with_part_of_the_bill_in_points(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    expect(page.get_by_role("heading", name="Léa")).to_be_visible()
    expect(page.get_by_role("region", name="Léa")).to_contain_text("Available points500")
    open_basket(page, "20.00")
    use_points(page, "100")
    expect(page.get_by_role("status", name="Cash due")).to_have_text("€10.00")
    expect(page.get_by_role("status", name="Points earned")).to_have_text("10")
    page.get_by_role("button", name="Confirm sale").click()
    heading = page.get_by_role("heading", name=re.compile("^Receipt"))
    expect(heading).to_be_visible()
    assert box(heading)["height"] < 40, "the receipt number is broken over two lines"
    receipt = page.get_by_role("region", name=re.compile("^Receipt"))
    expect(receipt).to_contain_text("Paid with points€10.00 (100 pts)")
    expect(receipt).to_contain_text("Cash due€10.00")
    expect(receipt).to_contain_text("New balance410 pts")
    assert available_points(shop, shop.cards["Léa"]) == 410


def test_a_typed_number_asks_for_the_pin_before_points_and_a_scan_does_not(page: Page, shop):
    log_in(page, "cashier")
    type_by_hand(page, shop.cards["Léa"])
    expect(page.get_by_role("heading", name="Léa")).to_be_visible()
    open_basket(page, "20.00")
    use_points(page, "100")
    pin_check = page.get_by_role("group", name=re.compile("^To use points, the customer types"))
    expect(pin_check).to_be_visible()
    page.get_by_role("button", name="Confirm sale").click()
    expect(page.get_by_role("alert")).to_contain_text("To use points, the customer types their PIN")
    assert sale_count(shop) == 0
    tap_keypad(page, shop.pins["Léa"])
    page.get_by_role("button", name="Check the PIN").click()
    expect(page.get_by_role("status").filter(has_text="PIN checked")).to_have_text(
        "PIN checked: points can be used.")
    expect(page.get_by_label(re.compile(r"^Points to use"))).to_have_value("100")
    page.get_by_role("button", name="Confirm sale").click()
    expect(page.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    assert available_points(shop, shop.cards["Léa"]) == 410

    page.get_by_role("link", name="Checkout").click()
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    expect(page.get_by_label("Customer's PIN")).to_have_count(0)


def test_the_phone_s_live_code_scanned_spends_its_bare_number_does_not(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Hugo"])      # a picture of the number, without the live code
    open_basket(page, "8.00")
    expect(page.get_by_label("Customer's PIN")).to_be_visible()
    page.get_by_role("button", name="Next customer").click()
    scan(page, shop.read(lambda: phone_scan_value(shop.cards["Hugo"])))
    expect(page.get_by_role("heading", name="Hugo")).to_be_visible()
    open_basket(page, "8.00")
    expect(page.get_by_label("Customer's PIN")).to_have_count(0)
    use_maximum(page)
    page.get_by_role("button", name="Confirm sale").click()
    expect(page.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    assert available_points(shop, shop.cards["Hugo"]) == 120 - 70 + 1


def phone_scan_value(card_number: str) -> str:
    """What the phone app shows now for the card: the number and its live code."""
    account = db.session.scalar(select(Account).join(Card, Card.account_id == Account.id)
                                .where(Card.number == card_number))
    code = live_codes.current(live_codes.secret_of(account), utcnow(),
                              live_codes.app_settings()).code
    db.session.commit()
    return f"{card_number}-{code}"


def test_use_maximum_fills_the_most_points_the_bill_allows(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Hugo"])
    open_basket(page, "8.00")
    use_maximum(page)
    expect(page.get_by_label(re.compile(r"^Points to use"))).to_have_value("70")
    expect(page.get_by_role("status", name="Cash due")).to_have_text("€1.00")


def test_phone_and_pin_with_a_wrong_pin_then_the_right_one(page: Page, shop):
    log_in(page, "cashier")
    page.get_by_label("Phone number").fill(shop.phones["Hugo"])
    tap_keypad(page, "9999")
    expect(page.get_by_label("PIN", exact=True)).to_have_value("9999")
    page.get_by_role("button", name="Identify").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong PIN: 4 tries left, then a wait.")
    page.get_by_label("PIN", exact=True).fill("")
    tap_keypad(page, shop.pins["Hugo"])
    page.get_by_role("button", name="Identify").click()
    expect(page.get_by_role("heading", name="Hugo")).to_be_visible()


def test_a_late_script_leaves_the_focus_where_the_cashier_is_typing(page: Page, shop):
    """On a slow till the page shows before its script runs: a cashier already typing the
    phone number keeps the focus (the card field takes it only when nothing has it)."""
    log_in(page, "cashier")
    held = []
    page.route("**/cashier.js", lambda route: held.append(route))   # and no HTTP cache
    page.goto("/cashier/", wait_until="commit")
    phone = page.get_by_label("Phone number")
    phone.fill(shop.phones["Hugo"])
    expect(phone).to_be_focused()
    page.wait_for_function("() => true")   # lets the held request reach the handler
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_load_state()
    expect(phone).to_be_focused()
    expect(phone).to_have_value(shop.phones["Hugo"])
    page.get_by_label("PIN", exact=True).fill(shop.pins["Hugo"])
    page.get_by_role("button", name="Identify").click()
    expect(page.get_by_role("heading", name="Hugo")).to_be_visible()


def test_five_wrong_pins_make_the_till_wait(page: Page, shop):
    log_in(page, "cashier")
    for attempt in range(5):
        page.get_by_label("Phone number").fill(shop.phones["Hugo"])
        page.get_by_label("PIN", exact=True).fill("0000")
        page.get_by_role("button", name="Identify").click()
        # Wait for each answer, so five wrong PINs really reach the server.
        expect(page.get_by_role("alert")).to_contain_text(f"{4 - attempt} tries left")
    page.get_by_label("PIN", exact=True).fill(shop.pins["Hugo"])
    page.get_by_role("button", name="Identify").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Too many tries: wait 15 min, or scan the card.")


def test_return_of_part_of_a_sale(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    use_points(page, "100")
    page.get_by_role("button", name="Confirm sale").click()
    page.get_by_role("link", name="Return items from this sale").click()
    page.get_by_label("Amount to return (EUR)").fill("5.00")
    page.get_by_role("button", name="Show the points").click()
    figures = page.get_by_role("region", name="What comes back")
    expect(figures).to_contain_text("Points taken back2")
    expect(figures).to_contain_text("Points given back25")
    expect(figures).to_contain_text("Cash to refund€2.50")
    page.get_by_role("button", name="Confirm the return").click()
    expect(page.get_by_role("heading", name="Return recorded")).to_be_visible()
    expect(page.get_by_role("region", name="Return recorded")).to_contain_text(
        "New balance433 pts")
    assert available_points(shop, shop.cards["Léa"]) == 433


def test_enrolment_of_a_blank_card(page: Page, shop):
    log_in(page, "cashier")
    blank = shop.blank_cards[0]
    scan(page, blank)
    expect(page.get_by_role("alert")).to_contain_text("not linked to a customer")
    page.get_by_role("button", name="Enrol a customer with this card").click()
    expect(page.get_by_label("Blank card number")).to_have_value(blank)
    page.get_by_label("Phone number").fill("06 12 34 56 99")
    page.get_by_label("First name").fill("Inès")
    for label in ("New PIN", "PIN again"):
        page.get_by_label(label).focus()
        tap_keypad(page, "2468")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("status")).to_have_text(f"Card {blank} is live.")
    expect(page.get_by_role("heading", name="Inès")).to_be_visible()
    expect(page.get_by_text("No points to spend yet")).to_be_visible()


def test_manager_adjusts_points_with_a_reason(page: Page, shop):
    log_in(page, "manager")
    scan(page, shop.cards["Hugo"])
    page.get_by_role("link", name="Manager").click()
    page.get_by_label("Points (negative to withdraw)").fill("-20")
    adjust = page.get_by_role("form", name="Adjust points")
    adjust.get_by_label("Reason for the adjustment").fill("credited twice by mistake")
    adjust.get_by_role("button", name="Adjust", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        "Points adjusted: the balance is now 100 points.")
    assert available_points(shop, shop.cards["Hugo"]) == 100


def test_a_cashier_is_denied_a_manager_page(page: Page, shop):
    log_in(page, "cashier")
    expect(page.get_by_role("link", name="Manager")).to_have_count(0)
    response = page.goto("/cashier/manage")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_have_text("This page is for managers only.")


def test_language_switch_in_one_click(page: Page, shop):
    page.goto("/cashier/login")
    expect(page.get_by_role("heading", name="Connexion à la caisse")).to_be_visible()
    log_in(page, "cashier", language="Français")
    expect(page.get_by_role("link", name="Encaissement")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Scan the loyalty card")).to_be_visible()
    expect(page.get_by_role("link", name="Checkout")).to_be_visible()
    page.get_by_role("button", name="Français").click()
    scan_field = page.get_by_label("Numéro de carte")
    expect(scan_field).to_be_focused()
    page.keyboard.type(shop.cards["Léa"])
    page.keyboard.press("Enter")
    page.get_by_label("Total de l'addition (EUR)").fill("12,50")
    page.get_by_role("button", name="Calculer").click()
    expect(page.get_by_role("status", name="Reste à payer")).to_have_text("12,50\u00a0€")
    expect(page.get_by_text("Reste à payer")).to_be_visible()


def test_double_click_on_confirm_makes_one_sale(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    use_points(page, "100")
    page.get_by_role("button", name="Confirm sale").dblclick()
    expect(page.get_by_role("heading", name=re.compile("^Receipt"))).to_be_visible()
    assert sale_count(shop) == 1
    assert available_points(shop, shop.cards["Léa"]) == 410


def test_confirm_sent_twice_by_the_browser_makes_one_sale(page: Page, shop):
    """Even without the button lock (a slow network, a retry), the Idempotency-Key holds."""
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    use_points(page, "100")
    statuses = page.get_by_role("button", name="Confirm sale").evaluate("""async button => {
        const form = button.form;
        const send = () => fetch(form.action, {method: "POST", body: new FormData(form),
                                               redirect: "manual"});
        const replies = await Promise.all([send(), send()]);
        return replies.map(r => r.type);
    }""")
    assert statuses == ["opaqueredirect", "opaqueredirect"]
    assert sale_count(shop) == 1
    assert available_points(shop, shop.cards["Léa"]) == 410


def test_a_network_failure_is_said_plainly(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    page.route("**/cashier/quote.json", lambda route: route.abort())
    use_points(page, "100")
    expect(page.get_by_role("alert")).to_have_text(
        "The till cannot reach the server: check the network, then retry.")


# --- the first hour: what a new cashier sees at 1024x768 and 1280 --------------------------

def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "not on screen"
    return found


def test_the_top_bar_shows_the_store_and_who_is_logged_in_without_cutting(page: Page, shop):
    log_in(page, "cashier")
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text("Boulangerie Lyon Part-Dieu")
    expect(banner.get_by_text("Logged in: cashier", exact=True)).to_be_visible()  # no "· cashier"
    # No text box narrower than its text (an ellipsis); the 1 px screen-reader text aside.
    assert banner.evaluate("bar => [...bar.querySelectorAll('*')].every("
                           "e => e.clientWidth <= 1 || e.scrollWidth <= e.clientWidth + 1)"), \
        "some text is cut"


def test_a_french_manager_top_bar_keeps_one_row_from_1024_to_1280(page: Page, shop):
    log_in(page, "manager", language="Français")
    for width in (1024, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        navigation = box(page.get_by_role("navigation", name="Menu principal"))
        logout = box(page.get_by_role("button", name="Se déconnecter"))
        assert abs(navigation["y"] + navigation["height"] / 2
                   - logout["y"] - logout["height"] / 2) < 4, f"two rows at {width}"
        assert box(page.get_by_role("banner"))["height"] < 90


def test_the_pin_keypad_is_as_wide_as_the_identify_button(page: Page, shop):
    log_in(page, "cashier")
    keypad = box(page.get_by_role("group", name="PIN keypad"))
    identify = box(page.get_by_role("button", name="Identify"))
    assert (round(keypad["x"]), round(keypad["width"])) == (round(identify["x"]),
                                                            round(identify["width"]))


def test_after_calculate_the_points_field_has_the_focus(page: Page, shop):
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    expect(page.get_by_role("region", name="Points for this bill")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Points to use"))).to_be_focused()


def test_the_logged_out_notice_sits_above_the_login_form(page: Page, shop):
    log_in(page, "cashier")
    page.get_by_role("button", name="Log out").click()
    notice = box(page.get_by_role("status"))
    heading = box(page.get_by_role("heading", name="Log in to the till"))
    assert notice["y"] + notice["height"] <= heading["y"]
    assert notice["height"] < 80


def test_each_manager_form_and_reason_has_its_own_name(page: Page, shop):
    log_in(page, "manager")
    scan(page, shop.cards["Hugo"])
    page.get_by_role("link", name="Manager").click()
    for form, reason in (("Adjust points", "Reason for the adjustment"),
                         ("Block or unblock", "Reason for blocking or unblocking"),
                         ("Replace a lost card", "Reason for the replacement")):
        expect(page.get_by_role("form", name=form).get_by_role("textbox", name=reason)
               ).to_have_count(1)


def test_pages_load_without_a_console_error(page: Page, shop):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    log_in(page, "cashier")
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    assert errors == []


# Roles a cashier acts on or finds things by; the last four may go unnamed, never twice named.
CONTROL_ROLES = ("button", "link", "textbox", "spinbutton", "combobox", "checkbox", "radio",
                 "searchbox", "form", "region", "group", "status")


def controls_without_a_unique_name(page: Page) -> list[str]:
    """Controls (and named landmarks) of the page whose role and name do not single them out."""
    snapshot = page.locator("body").aria_snapshot()
    found = re.findall(r'^\s*- (\w+)(?: "((?:[^"\\]|\\.)*)")?', snapshot, flags=re.M)
    seen = [(role, name) for role, name in found if role in CONTROL_ROLES]
    unnamed = [f"{role} without a name" for role, name in seen
               if not name and role not in ("group", "status", "form", "region")]
    twice = sorted({f'{role} "{name}"' for role, name in seen
                    if name and seen.count((role, name)) > 1})
    return unnamed + twice


def test_every_control_of_every_page_has_its_own_role_and_name(page: Page, shop):
    log_in(page, "manager")
    problems = {"identify": controls_without_a_unique_name(page)}
    scan(page, shop.cards["Léa"])
    open_basket(page, "20.00")
    page.get_by_text(re.compile("^Itemised basket")).click()
    problems["quote"] = controls_without_a_unique_name(page)
    page.get_by_role("button", name="Confirm sale").click()
    problems["receipt"] = controls_without_a_unique_name(page)
    page.get_by_role("link", name="Return items from this sale").click()
    problems["return form"] = controls_without_a_unique_name(page)
    for name in ("Returns", "Enrol", "Manager"):
        page.get_by_role("navigation").get_by_role("link", name=name).click()
        problems[name] = controls_without_a_unique_name(page)
    page.get_by_role("link", name="Identify a customer").click()
    scan(page, shop.cards["Hugo"])
    page.get_by_role("navigation").get_by_role("link", name="Manager").click()
    problems["Manager with a customer"] = controls_without_a_unique_name(page)
    page.get_by_role("link", name="Shift report").click()
    problems["report"] = controls_without_a_unique_name(page)
    page.get_by_role("button", name="Log out").click()
    problems["login"] = controls_without_a_unique_name(page)
    assert {screen: found for screen, found in problems.items() if found} == {}
