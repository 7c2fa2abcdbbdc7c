"""The cashier terminal over the Flask test client, both engines: logins, CSRF, every screen
and every refusal as the cashier reads it, and what the forms send to the use cases. What the
use cases do with it (points, balances, returns, reports) is tested on them directly:
test_usecases*.py."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from catalogue_check import compiled_differences, untranslated
from cashier_ui.i18n import TRANSLATIONS_DIR
from pos_loyalty import notify, programs, sales
from pos_loyalty.clock import now
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, AuditEvent, Card, LedgerEntry, Sale, Terminal
from pos_loyalty.security import app_hasher
from pos_loyalty.staff_auth import WEB_TILL_NAME

from mobile_app import mobile  # noqa: F401

PASSWORD = "till-password"


def field(page: Any, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found, f"no field {name} on the page"
    return html.unescape(found.group(1))


def words(page: Any) -> str:
    """The page as the cashier reads it: text without tags, spaces collapsed."""
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", page.text, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(text)).replace("\u00a0", " ").replace("\u202f", " ")


class Cashier:
    """A browser session on the till: logs in, keeps the CSRF token, posts forms."""

    def __init__(self, till: Any, username: str, client: Any = None) -> None:
        self.till, self.client, self.username = till, client or till.client, username
        self.token = ""

    def get(self, path: str) -> Any:
        page = self.client.get(path)
        if 'name="csrf_token"' in page.text:
            self.token = field(page, "csrf_token")
        return page

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def log_in(self, password: str = PASSWORD, language: str = "en") -> Any:
        self.get("/cashier/login")
        self.post("/cashier/language", {"lang": language, "next": "/cashier/login"})
        page = self.post("/cashier/login", {"username": self.username, "password": password})
        self.get("/cashier/")
        return page

    def open_card(self, card_number: str, card_entry: str = "scanned") -> Any:
        """The card number into the card field: by the scanner (the page's script marks it
        scanned), or typed."""
        return self.post("/cashier/identify/card", {"card_number": card_number,
                                                    "card_entry": card_entry})

    def quote(self, **form: Any) -> Any:
        page = self.post("/cashier/quote", form)
        assert page.status_code == 200, words(page)
        return page

    def sell(self, card_number: str, total: str, redeem: int = 0) -> Any:
        self.open_card(card_number)
        page = self.quote(total=total)
        return self.post("/cashier/sales", confirm_fields(page, redeem))


def confirm_fields(page: Any, redeem: int) -> dict[str, Any]:
    return {"basket": field(page, "basket"), "idempotency_key": field(page, "idempotency_key"),
            "receipt_number": field(page, "receipt_number"), "proof": field(page, "proof"),
            "redeem_points": str(redeem)}


def add_staff(till: Any, username: str, role: str, store_id: int | None = None) -> None:
    run_in_transaction(lambda: programs.create_staff(
        till.program(), username, role, PASSWORD, store_id or till.store_id, app_hasher()))


@pytest.fixture
def cashier(till: Any) -> Cashier:
    add_staff(till, "camille", "cashier")
    person = Cashier(till, "camille")
    person.log_in()
    return person


@pytest.fixture
def manager(till: Any) -> Cashier:
    add_staff(till, "morgane", "manager")
    person = Cashier(till, "morgane", till.app.test_client())
    person.log_in()
    return person


def sale_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Sale))


# --- logging in ----------------------------------------------------------------------------

def test_every_page_asks_for_a_login_first(client):
    page = client.get("/cashier/")
    assert page.status_code == 302 and page.location.endswith("/cashier/login")


def test_a_post_without_the_csrf_token_is_refused(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card)
    page = cashier.quote(total="20.00")
    form = confirm_fields(page, 100)
    refused = till.client.post("/cashier/sales", data=form)
    assert refused.status_code == 400
    assert "This form has expired" in words(refused)
    wrong = till.client.post("/cashier/sales", data={**form, "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert sale_count() == 0


def test_login_form_itself_needs_the_token(till):
    add_staff(till, "camille", "cashier")
    page = till.client.post("/cashier/login", data={"username": "camille", "password": PASSWORD})
    assert page.status_code == 400


def test_logging_in_opens_the_store_web_till_at_the_scan_screen(till, cashier):
    with cashier.client.session_transaction() as session:
        terminal = db.session.get(Terminal, session["terminal_id"])
    assert (terminal.name, terminal.store_id) == (WEB_TILL_NAME, till.store_id)
    assert "Scan the loyalty card" in words(cashier.get("/cashier/"))


def test_after_five_wrong_passwords_the_till_waits_with_a_429(till):
    add_staff(till, "camille", "cashier")
    person = Cashier(till, "camille")
    for left in (4, 3, 2, 1, 0):
        page = person.log_in(password="nope")
        assert page.status_code == 401
        assert "Wrong username or password." in words(page)
    page = person.log_in()
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "Too many tries: wait 15 min." in words(page)


def test_staff_without_a_home_store_choose_the_store_when_there_are_several(till):
    other_store = run_in_transaction(lambda: programs.create_store(till.program(), "Other").id)
    run_in_transaction(lambda: programs.create_staff(
        till.program(), "ada", "admin", PASSWORD, None, app_hasher()))
    person = Cashier(till, "ada")
    refused = person.log_in()
    assert refused.status_code == 422 and "Choose the store of this till." in words(refused)
    person.post("/cashier/login", {"username": "ada", "password": PASSWORD,
                                   "store_id": str(other_store)})
    assert "Other" in words(person.get("/cashier/"))
    person.post("/cashier/logout")
    assert f'value="{other_store}" selected' in person.get("/cashier/login").text


def test_the_screen_locks_after_inactivity(till, cashier):
    with till.client.session_transaction() as session:
        session["seen"] = int(time.time()) - 11 * 60
    page = till.client.get("/cashier/")
    assert page.status_code == 302 and page.location.endswith("/cashier/login")
    assert "locked after inactivity" in words(till.client.get("/cashier/login"))


def test_till_pages_are_never_cached_nor_framed(cashier):
    page = cashier.get("/cashier/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_the_site_icon_is_served_where_browsers_ask_for_it(client):
    for path in ("/favicon.ico", "/cashier/static/favicon.svg"):
        icon = client.get(path)
        assert (icon.status_code, icon.mimetype) == (200, "image/svg+xml")
        icon.close()


def test_logging_out_ends_the_session(cashier):
    cashier.post("/cashier/logout")
    assert cashier.client.get("/cashier/").status_code == 302


# --- identifying the customer --------------------------------------------------------------

def test_scanned_card_shows_first_name_masked_phone_and_points(till, cashier):
    card = till.customer(points=1234, first_name="Léa")
    assert cashier.open_card(card).status_code == 302
    screen = words(cashier.get("/cashier/"))
    assert "Léa" in screen
    assert till.last_phone[:3] + "*******" + till.last_phone[-2:] in screen
    assert "1,234" in screen and "€123.40" in screen
    assert "Can pay with points" in screen


def test_a_typo_in_the_check_digit_is_said_plainly(till, cashier):
    card = till.customer()
    typo = card[:-1] + str((int(card[-1]) + 1) % 10)
    page = cashier.open_card(typo)
    assert page.status_code == 422
    assert "check the digits, the last one is a check digit" in words(page)


def test_phone_and_pin_wrong_then_right(till, cashier):
    till.customer(points=50, pin="4321", first_name="Hugo")
    phone = till.last_phone
    page = cashier.post("/cashier/identify/phone", {"phone": phone, "pin": "0000"})
    assert page.status_code == 401
    assert "Wrong PIN: 4 tries left" in words(page)
    page = cashier.post("/cashier/identify/phone", {"phone": phone, "pin": "4321"})
    assert page.status_code == 302
    assert "Hugo" in words(cashier.get("/cashier/"))


def test_after_five_wrong_pins_the_till_waits_or_scans_the_card(till, cashier):
    till.customer(pin="4321")
    phone = till.last_phone
    for _ in range(5):
        cashier.post("/cashier/identify/phone", {"phone": phone, "pin": "0000"})
    page = cashier.post("/cashier/identify/phone", {"phone": phone, "pin": "4321"})
    assert page.status_code == 429
    assert "Too many tries: wait 15 min, or scan the card." in words(page)


def test_a_blank_card_offers_enrolment(till, cashier):
    from pos_loyalty import accounts
    blank = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    page = cashier.open_card(blank)
    assert page.status_code == 409
    assert "Enrol a customer with this card" in words(page)


# --- points need the customer at the till -------------------------------------------------

def test_a_typed_card_number_asks_for_the_pin_before_points_are_used(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card, card_entry="typed")
    page = cashier.quote(total="20.00")
    assert "Customer's PIN" in words(page) and field(page, "proof") == ""
    form = confirm_fields(page, 100)
    refused = cashier.post("/cashier/sales", form)
    assert refused.status_code == 403 and sale_count() == 0
    assert "To use points, the customer types their PIN" in words(refused)

    wrong = cashier.post("/cashier/customer/pin", {**form, "pin": "0000"})
    assert wrong.status_code == 401 and "Wrong PIN: 4 tries left" in words(wrong)
    page = cashier.post("/cashier/customer/pin", {**form, "pin": "1234"})
    assert page.status_code == 200
    assert "PIN checked: points can be used." in words(page)
    assert "Customer's PIN" not in words(page)
    assert re.search(r'name="redeem_points"[^>]* value="100"', page.text)
    assert field(page, "idempotency_key") == form["idempotency_key"]
    sold = cashier.post("/cashier/sales", confirm_fields(page, 100))
    assert sold.status_code == 302
    assert till.balance(card) == {"available": 410, "pending": 0}


def test_a_typed_card_number_earns_without_a_pin(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card, card_entry="typed")
    assert cashier.post("/cashier/sales",
                        confirm_fields(cashier.quote(total="20.00"), 0)).status_code == 302
    assert till.balance(card) == {"available": 520, "pending": 0}


def test_the_pin_typed_on_the_basket_page_comes_back_to_it(till, cashier):
    cashier.open_card(till.customer(points=500), card_entry="typed")
    checked = cashier.post("/cashier/customer/pin", {"pin": "1234"})
    assert checked.status_code == 302 and checked.location.endswith("/cashier/")
    assert "Customer's PIN" not in words(cashier.quote(total="20.00"))


def test_a_scanned_card_or_phone_and_pin_need_no_more(till, cashier):
    card = till.customer(points=500, pin="4321")
    cashier.open_card(card)
    assert "Customer's PIN" not in words(cashier.quote(total="20.00"))
    cashier.post("/cashier/customer/clear")
    cashier.post("/cashier/identify/phone", {"phone": till.last_phone, "pin": "4321"})
    page = cashier.quote(total="20.00")
    assert "Customer's PIN" not in words(page)
    assert cashier.post("/cashier/sales", confirm_fields(page, 100)).status_code == 302


def test_the_phone_s_live_code_scanned_at_the_till_spends(till, cashier, mobile):
    customer = mobile.register()
    till.adjust(customer.card_number, 500)
    shown = mobile.get("/me/card", customer.access_token).get_json()
    assert cashier.open_card(shown["scan_value"]).status_code == 302
    page = cashier.quote(total="20.00")
    assert "Customer's PIN" not in words(page)
    assert cashier.post("/cashier/sales", confirm_fields(page, 100)).status_code == 302
    cashier.open_card(customer.card_number)   # the bare number of the phone's card
    assert "Customer's PIN" in words(cashier.quote(total="20.00"))


def test_the_next_customer_does_not_inherit_the_proof(till, cashier):
    cashier.open_card(till.customer(points=500))
    cashier.post("/cashier/customer/clear")
    cashier.open_card(till.customer(points=500), card_entry="typed")
    assert "Customer's PIN" in words(cashier.quote(total="20.00"))


# --- selling -------------------------------------------------------------------------------

def test_quote_shows_earning_the_most_usable_points_and_cash(till, cashier):
    cashier.open_card(till.customer(points=500))
    screen = words(cashier.quote(total="20.00"))
    assert "Earns without points 20 pts" in screen
    assert "Most points usable 190 pts = €19.00" in screen


def test_an_itemised_basket_is_read_from_its_form_fields(till, cashier):
    cashier.open_card(till.customer())
    page = cashier.quote(line_item=["BREAD", "CIGARETTES"], line_category=["bakery", "tobacco"],
                         line_quantity=["2", "1"], line_price=["1.50", "11.00"])
    assert json.loads(field(page, "basket")) == [["BREAD", "bakery", 2, 150],
                                                 ["CIGARETTES", "tobacco", 1, 1100]]
    assert "Earns without points 3 pts" in words(page)


def test_the_basket_names_the_categories_that_earn_nothing_in_the_till_language(till, cashier):
    cashier.open_card(till.customer())
    assert "Itemised basket (no points on: gift cards, lottery, tobacco)" in words(
        cashier.get("/cashier/"))
    cashier.post("/cashier/language", {"lang": "fr", "next": "/cashier/"})
    assert "Panier détaillé (pas de points sur : cartes cadeaux, jeux de loterie, tabac)" in words(
        cashier.get("/cashier/"))


def test_a_program_names_its_own_categories_and_unknown_ids_read_as_words(till, cashier):
    def rename() -> None:
        program = till.program()
        program.branding = {"categories": {"tobacco": {"en": "tobacco and press"}}}
    run_in_transaction(rename)
    till.set_rules(excluded_categories=["tobacco", "phone_top_up"])
    cashier.open_card(till.customer())
    assert "(no points on: phone top up, tobacco and press)" in words(cashier.get("/cashier/"))


def test_sale_with_part_in_points_prints_the_receipt(till, cashier):
    card = till.customer(points=500)
    page = cashier.sell(card, total="20,00", redeem=100)
    assert page.status_code == 302
    receipt = words(cashier.get(page.location))
    assert "Total €20.00" in receipt
    assert "Paid with points €10.00 (100 pts)" in receipt
    assert "Cash due €10.00" in receipt
    assert "Points earned 10" in receipt
    assert "New balance 410 pts" in receipt
    sale = db.session.scalar(select(Sale))
    assert sale.staff_id is not None and sale.store_id == till.store_id


def test_an_english_receipt_of_a_paris_store_writes_the_date_as_in_france(till, cashier):
    page = cashier.sell(till.customer(), total="20.00")
    receipt = words(cashier.get(page.location))
    created = db.session.scalar(select(Sale.created_at))
    paris = created.replace(tzinfo=created.tzinfo or dt.timezone.utc).astimezone(
        ZoneInfo(till.program().timezone))
    assert f"Boulangerie Lyon · {paris:%d/%m/%Y, %H:%M}" in receipt
    assert " AM" not in receipt and " PM" not in receipt


def test_live_figures_come_from_the_core(till, cashier):
    cashier.open_card(till.customer(points=500))
    page = cashier.quote(total="20.00")
    reply = cashier.post("/cashier/quote.json", {"basket": field(page, "basket"),
                                                 "redeem_points": "55"})
    assert reply.get_json() == {"paid_with_points": "€5.50", "cash_due": "€14.50",
                                "points_earned": "14", "points_used": "55", "earned_lines": []}
    too_many = cashier.post("/cashier/quote.json", {"basket": field(page, "basket"),
                                                    "redeem_points": "191"})
    assert too_many.status_code == 422
    assert too_many.get_json()["error"] == "At most 190 points can be used on this bill."


def test_the_same_confirm_sent_twice_makes_one_sale(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card)
    form = confirm_fields(cashier.quote(total="20.00"), 100)
    first = cashier.post("/cashier/sales", form)
    cashier.open_card(card)
    second = cashier.post("/cashier/sales", form)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert sale_count() == 1


def test_too_many_points_is_a_sentence_and_nothing_is_saved(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card)
    page = cashier.post("/cashier/sales", confirm_fields(cashier.quote(total="20.00"), 191))
    assert page.status_code == 422
    assert "At most 190 points can be used on this bill." in words(page)
    assert sale_count() == 0


def test_blocked_account_cannot_spend(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card)
    form = confirm_fields(cashier.quote(total="20.00"), 100)

    def block() -> None:
        account = db.session.scalar(select(Account).join(Card).where(Card.number == card))
        account.status = "blocked"
    run_in_transaction(block)
    page = cashier.post("/cashier/sales", form)
    assert page.status_code == 403
    assert "This account is blocked: its points cannot be used." in words(page)
    assert sale_count() == 0


def test_a_used_receipt_number_is_refused(till, cashier):
    card = till.customer(points=500)
    cashier.open_card(card)
    first = confirm_fields(cashier.quote(total="5.00"), 0)
    cashier.post("/cashier/sales", first)
    cashier.open_card(card)
    again = {**confirm_fields(cashier.quote(total="6.00"), 0),
             "receipt_number": first["receipt_number"]}
    page = cashier.post("/cashier/sales", again)
    assert page.status_code == 409
    assert "This receipt number was already used on this till" in words(page)


def test_an_outage_is_a_sentence_not_a_trace(till, cashier, monkeypatch):
    card = till.customer(points=500)
    cashier.open_card(card)
    form = confirm_fields(cashier.quote(total="20.00"), 0)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))
    monkeypatch.setattr(sales, "record_sale", fail)
    page = cashier.post("/cashier/sales", form)
    assert page.status_code == 503
    assert "The connection to the database failed: nothing was saved." in words(page)
    assert "Traceback" not in page.text
    assert sale_count() == 0


@pytest.mark.parametrize("path", ["/cashier/sales/{id}", "/cashier/sales/{id}/return"])
def test_a_receipt_id_too_large_for_the_database_is_not_found(cashier, path):
    page = cashier.get(path.format(id=2**45))
    assert page.status_code == 404
    assert "No such receipt in this store." in words(page)


def test_another_store_receipt_is_not_found(till, cashier):
    card = till.customer(points=500)
    cashier.sell(card, total="10.00")
    sale_id = db.session.scalar(select(Sale.id))
    other_store = run_in_transaction(lambda: programs.create_store(till.program(), "Other").id)
    add_staff(till, "olivier", "cashier", other_store)
    other = Cashier(till, "olivier", till.app.test_client())
    other.log_in()
    page = other.get(f"/cashier/sales/{sale_id}")
    assert page.status_code == 404
    assert "No such receipt in this store." in words(page)


# --- returns -------------------------------------------------------------------------------

def test_partial_return_shows_the_points_then_records_them(till, cashier):
    card = till.customer(points=500)
    sold = cashier.sell(card, total="20.00", redeem=100)
    sale_id = int(sold.location.rsplit("/", 1)[1])
    preview = cashier.post(f"/cashier/sales/{sale_id}/return/preview", {"amount": "5.00"})
    screen = words(preview)
    assert "Points taken back 2" in screen and "Points given back 25" in screen
    assert "Cash to refund €2.50" in screen
    done = cashier.post(f"/cashier/sales/{sale_id}/return", {
        "amount": "5.00", "idempotency_key": field(preview, "idempotency_key")})
    assert done.status_code == 200
    assert "New balance 433 pts" in words(done)


def test_return_found_by_receipt_number(till, cashier):
    card = till.customer()
    sold = cashier.sell(card, total="8.00")
    number = db.session.scalar(select(Sale.receipt_number))
    found = cashier.post("/cashier/returns/find", {"receipt_number": number})
    assert found.status_code == 302 and found.location == sold.location + "/return"


def test_return_of_chosen_lines_takes_back_their_points_only(till, cashier):
    card = till.customer()
    cashier.open_card(card)
    page = cashier.quote(line_item=["TART", "CIGARETTES"], line_category=["pastry", "tobacco"],
                         line_quantity=["2", "1"], line_price=["9.00", "11.00"])
    sold = cashier.post("/cashier/sales", confirm_fields(page, 0))
    sale_id = int(sold.location.rsplit("/", 1)[1])
    form = cashier.get(f"/cashier/sales/{sale_id}/return")
    assert 'aria-label="Quantity to return TART"' in form.text
    preview = cashier.post(f"/cashier/sales/{sale_id}/return/preview", {"qty_1": "1"})
    screen = words(preview)
    assert "Amount returned €9.00" in screen and "Points taken back 9" in screen
    done = cashier.post(f"/cashier/sales/{sale_id}/return", {
        "qty_1": "1", "idempotency_key": field(preview, "idempotency_key")})
    assert "New balance 9 pts" in words(done)


def test_return_more_than_sold_is_refused(till, cashier):
    sold = cashier.sell(till.customer(), total="8.00")
    sale_id = int(sold.location.rsplit("/", 1)[1])
    page = cashier.post(f"/cashier/sales/{sale_id}/return/preview", {"amount": "9.00"})
    assert page.status_code == 422
    assert "at most €8.00" in words(page)


# --- enrolment -----------------------------------------------------------------------------

def test_enrolment_links_a_blank_card_that_works_at_once(till, cashier):
    from pos_loyalty import accounts
    blank = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    page = cashier.post("/cashier/enrol", {"card_number": blank, "phone": "0612345699",
                                           "first_name": "Inès", "pin": "2468",
                                           "pin_confirm": "2468"})
    assert page.status_code == 302
    screen = words(cashier.get("/cashier/"))
    assert "Inès" in screen and f"Card {blank}" in screen


def test_enrolment_with_pins_that_differ_is_refused(till, cashier):
    page = cashier.post("/cashier/enrol", {"phone": "0612345699", "pin": "2468",
                                           "pin_confirm": "2469"})
    assert page.status_code == 422
    assert "The two PINs are not the same" in words(page)


# --- manager pages -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/cashier/manage", "/cashier/manage/report"])
def test_a_cashier_is_denied_manager_pages(cashier, path):
    page = cashier.get(path)
    assert page.status_code == 403
    assert "This page is for managers only." in words(page)


def test_a_cashier_does_not_see_the_manager_link(cashier, manager):
    assert 'href="/cashier/manage"' not in cashier.get("/cashier/").text
    assert 'href="/cashier/manage"' in manager.get("/cashier/").text


def test_a_cashier_cannot_post_a_manager_action(till, cashier):
    card = till.customer(points=10)
    cashier.open_card(card)
    page = cashier.post("/cashier/manage/adjust", {"points": "1000", "reason": "gift"})
    assert page.status_code == 403
    assert till.balance(card)["available"] == 10


def test_manager_adjustment_needs_a_reason_and_is_audited(till, manager):
    card = till.customer(points=10)
    manager.open_card(card)
    refused = manager.post("/cashier/manage/adjust", {"points": "-5", "reason": " "})
    assert refused.status_code == 422 and "Reason is required." in words(refused)
    done = manager.post("/cashier/manage/adjust", {"points": "-5", "reason": "credited twice"},
                        follow_redirects=True)
    assert "the balance is now 5 points" in words(done)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.actor == "staff:morgane"))
    assert event.action == "points_adjusted" and event.details["reason"] == "credited twice"


def test_manager_blocks_and_unblocks(till, manager):
    card = till.customer(points=10)
    manager.open_card(card)
    blocked = manager.post("/cashier/manage/status", {"status": "blocked", "reason": "fraud"},
                           follow_redirects=True)
    assert "The account is blocked" in words(blocked)
    assert "Blocked: points cannot be spent" in words(manager.get("/cashier/"))
    manager.post("/cashier/manage/status", {"status": "active"})
    assert "Can pay with points" in words(manager.get("/cashier/"))


def test_manager_replaces_a_lost_card_and_is_told_the_new_number(till, manager):
    card = till.customer(points=70)
    manager.open_card(card)
    page = manager.post("/cashier/manage/replace", {"reason": "lost"}, follow_redirects=True)
    new = db.session.scalar(select(Card).where(Card.kind == "virtual", Card.number != card,
                                               Card.status == "active"))
    assert f"The card is replaced: the points are now on card {new.number}." in words(page)


def test_manager_voids_a_sale_of_today(till, manager):
    card = till.customer(points=500)
    sold = manager.sell(card, total="20.00", redeem=100)
    sale_id = int(sold.location.rsplit("/", 1)[1])
    page = manager.post(f"/cashier/sales/{sale_id}/void", follow_redirects=True)
    assert "Sale voided: 10 points taken back, 100 points given back." in words(page)


def test_a_sale_of_another_day_cannot_be_voided_from_the_manager_screen(till, manager):
    import datetime as dt
    from pos_loyalty.rules import BasketLine
    card = till.customer()
    terminal = db.session.scalar(select(Terminal).where(Terminal.name == WEB_TILL_NAME))
    sale = run_in_transaction(lambda: sales.record_sale(
        till.program(), terminal, sales.SaleRequest(card, "OLD-1", [BasketLine("X", "", 1, 500)]),
        utcnow() - dt.timedelta(days=2)))
    page = manager.post(f"/cashier/sales/{sale['sale_id']}/void")
    assert page.status_code == 409
    assert "This sale can no longer be voided: make a return instead." in words(page)


def test_shift_report_by_cashier(till, cashier, manager):
    cashier.sell(till.customer(points=500), total="20.00", redeem=100)
    report = words(manager.get("/cashier/manage/report"))
    assert "camille 1 €20.00 10 100 0 0 0 0" in report
    assert "All cashiers 1 €20.00 10 100" in report


def test_shift_report_shows_the_sms_of_the_day_here_and_everywhere(app, till, cashier, manager):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
    card = till.customer(points=500)  # "+500 points" SMS, made outside any store
    cashier.sell(card, total="20.00", redeem=100)  # this store's sale: its SMS
    program = till.program()
    yesterday = programs.local_day(program, now()) - dt.timedelta(days=1)
    run_in_transaction(lambda: notify.queue_message(
        program, None, "balance", till.last_phone, "yesterday's SMS",
        programs.local_day_start_utc(program, yesterday) + dt.timedelta(hours=12)))
    report = words(manager.get("/cashier/manage/report"))
    assert "SMS to customers Written on this day, by their status now: about this store's " \
        "sales, returns and adjustments, and in all stores with expiry warnings and codes. " \
        "This store All stores Queued 1 2 Sent 0 0 Delivered 0 0 Failed 0 0 Dead 0 0" in report
    earlier = words(manager.get(f"/cashier/manage/report?day={yesterday.isoformat()}"))
    assert "Queued 0 1 Sent 0 0 Delivered 0 0 Failed 0 0 Dead 0 0" in earlier


def test_a_managers_adjustment_names_the_store_of_the_till(till, manager):
    card = till.customer(points=100)
    manager.open_card(card)
    manager.post("/cashier/manage/adjust", {"points": "25", "reason": "Geste commercial"})
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "adjust")
                               .order_by(LedgerEntry.id.desc())).first()
    assert (entry.points, entry.store_id) == (25, till.store_id)


# --- languages -----------------------------------------------------------------------------

def test_default_language_is_the_program_locale_and_switches_in_one_click(till):
    add_staff(till, "camille", "cashier")
    person = Cashier(till, "camille")
    page = person.get("/cashier/login")
    assert "Connexion à la caisse" in words(page)
    person.post("/cashier/language", {"lang": "en", "next": "/cashier/login"})
    assert "Log in to the till" in words(person.get("/cashier/login"))


def test_french_formats_money_and_sentences(till, cashier):
    card = till.customer(points=500)
    cashier.post("/cashier/language", {"lang": "fr", "next": "/cashier/"})
    cashier.open_card(card)
    screen = words(cashier.quote(total="20,00"))
    assert "Points utilisables au plus 190 pts = 19,00 €" in screen
    page = cashier.post("/cashier/sales", confirm_fields(cashier.quote(total="20,00"), 500))
    assert "190 points au plus peuvent être utilisés sur cette addition." in words(page)


def test_compiled_catalogue_matches_its_source():
    assert compiled_differences(TRANSLATIONS_DIR, "cashier") == []


def test_every_message_of_the_till_has_a_french_translation():
    assert untranslated(TRANSLATIONS_DIR, "cashier") == []
