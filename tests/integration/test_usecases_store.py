"""The store's web till through the use cases (no HTTP), both engines: staff open it, and it
reads back the store's receipts and the shift report."""
import datetime as dt

import pytest
from sqlalchemy import select

from pos_loyalty import notify, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import SaleNotFound
from pos_loyalty.models import Terminal
from pos_loyalty.notify.senders import ConsoleSender, SendFailed, SendResult
from pos_loyalty.notify.worker import process_round
from pos_loyalty.programs import local_day, local_day_start_utc
from pos_loyalty.reports import ShiftRow
from pos_loyalty.security import app_hasher
from pos_loyalty.staff_auth import WEB_TILL_NAME
from pos_loyalty.usecases import staff, store_reports

PASSWORD = "till-password"


def add_staff(shop, username, role, store_id):
    return run_in_transaction(lambda: programs.create_staff(
        shop.program, username, role, PASSWORD, store_id, app_hasher()).id)


def add_store(shop, name):
    return run_in_transaction(lambda: programs.create_store(shop.program, name).id)


# --- staff at the web till -----------------------------------------------------------------

def test_a_store_s_web_till_is_made_at_the_first_login_then_reused(shop):
    add_staff(shop, "camille", "cashier", shop.till.store_id)
    first = staff.open_web_till("camille", PASSWORD, None, shop.now, "192.0.2.10")
    again = staff.open_web_till("camille", PASSWORD, None, shop.now, "192.0.2.10")
    assert first.terminal_id is not None and again.terminal_id == first.terminal_id
    web_tills = db.session.scalars(select(Terminal).where(Terminal.name == WEB_TILL_NAME)).all()
    assert [(t.id, t.store_id) for t in web_tills] == [(first.terminal_id, shop.till.store_id)]


def test_staff_without_a_home_store_choose_it_when_there_are_several(shop):
    other_store = add_store(shop, "Other")
    ada = add_staff(shop, "ada", "admin", None)
    assert staff.open_web_till("ada", PASSWORD, None, shop.now, "192.0.2.10") == \
        staff.OpenedTill(ada, None, None)
    opened = staff.open_web_till("ada", PASSWORD, other_store, shop.now, "192.0.2.10")
    assert db.session.get(Terminal, opened.terminal_id).store_id == other_store


# --- receipts and reports ------------------------------------------------------------------

def test_a_receipt_of_another_store_is_not_found(shop):
    sale = shop.sell(shop.customer(points=500), 1000, receipt="R-9")
    other_store = add_store(shop, "Other")
    program = shop.program
    assert store_reports.receipt(program, shop.till.store_id, sale["sale_id"])["sale"].id \
        == sale["sale_id"]
    with pytest.raises(SaleNotFound) as unknown:
        store_reports.receipt(program, other_store, sale["sale_id"])
    assert unknown.value.message == "No such receipt in this store."
    with pytest.raises(SaleNotFound):
        store_reports.check_store_sale(program, other_store, sale["sale_id"])
    assert store_reports.find_receipts(program, other_store, "R-9") == []


def test_the_shift_report_sums_each_cashier_s_sales_and_points(shop):
    camille = add_staff(shop, "camille", "cashier", shop.till.store_id)
    web_till = db.session.get(Terminal, staff.open_web_till(
        "camille", PASSWORD, None, shop.now, "192.0.2.10").terminal_id)
    shop.sell(shop.customer(points=500), 2000, redeem_points=100, terminal=web_till,
              staff_id=camille)
    report = store_reports.shift_report(shop.program, shop.till.store_id,
                                        local_day(shop.program, shop.now))
    figures = {"sales": 1, "total_minor": 2000, "points_issued": 10, "points_spent": 100}
    assert report.rows == [ShiftRow("camille", **figures)]
    assert report.total == ShiftRow("*", **figures)


class RefusingSender:
    """Twilio answering 21211: this number cannot receive SMS."""

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        raise SendFailed("Twilio 400 21211: not a valid phone number", retry=False, code=21211)

    def close(self) -> None:
        pass


def test_the_shift_report_counts_the_sms_of_the_day_by_status_here_and_everywhere(app, shop):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
    card = shop.customer(points=500)  # "+500 points" SMS, made outside any store...
    process_round(ConsoleSender())  # ...sent
    shop.customer(points=100)  # another customer's SMS...
    process_round(RefusingSender())  # ...dead: the number is invalid
    shop.sell(card, 2000, redeem_points=100)  # this store's sale: its SMS still queued
    other_store = add_store(shop, "Other")
    other_till, _key = run_in_transaction(
        lambda: programs.create_terminal(shop.program, other_store, "Caisse"))
    shop.sell(card, 1000, terminal=other_till)  # another store's sale: queued, not this store's
    program = shop.program
    today = local_day(program, shop.now)
    yesterday = today - dt.timedelta(days=1)
    run_in_transaction(lambda: notify.queue_message(
        program, None, "balance", shop.till.last_phone, "yesterday's SMS",
        local_day_start_utc(program, yesterday) + dt.timedelta(hours=12)))

    report = store_reports.shift_report(program, shop.till.store_id, today)
    assert report.sms == {"queued": 1, "sent": 0, "delivered": 0, "failed": 0, "dead": 0}
    assert report.sms_all_stores == {"queued": 2, "sent": 1, "delivered": 0, "failed": 0,
                                     "dead": 1}
    earlier = store_reports.shift_report(program, shop.till.store_id, yesterday)
    assert earlier.sms == {"queued": 0, "sent": 0, "delivered": 0, "failed": 0, "dead": 0}
    assert earlier.sms_all_stores == {"queued": 1, "sent": 0, "delivered": 0, "failed": 0,
                                      "dead": 0}
