"""The till, the POS API and the phone show the same figures, and a read writes nothing."""
import datetime as dt

from sqlalchemy import func, select

from mobile_app import mobile  # noqa: F401
from pos_loyalty.db import db
from pos_loyalty.models import LedgerEntry
from test_cashier_ui import Cashier, add_staff, words

SALE_DAY = dt.datetime(2026, 3, 10, 10, 0)


def freeze(app, moment):
    app.extensions["pos_loyalty.clock"] = lambda: moment


def entries_of_kind(kind):
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.kind == kind))


def pos_and_phone_two_days_after_a_sale(till, mobile, app, pending_days):
    """An app customer who earned 20 points, seen two days later by the POS API and the app."""
    till.set_rules(pending_days=pending_days)
    freeze(app, SALE_DAY)
    customer = mobile.register()
    till.sell(customer.card_number, total_minor=2000)
    freeze(app, SALE_DAY + dt.timedelta(days=2))
    pos = till.get(f"/cards/{customer.card_number}").get_json()["account"]
    token = mobile.login(customer)["access_token"]
    phone = mobile.get("/me/balance", token=token).get_json()
    return customer, pos, phone


def test_due_pending_points_show_alike_on_every_face_without_a_write(till, mobile, app):
    customer, pos, phone = pos_and_phone_two_days_after_a_sale(till, mobile, app, 1)
    add_staff(till, "camille", "cashier")
    cashier = Cashier(till, "camille")
    cashier.log_in()
    cashier.open_card(customer.card_number)
    screen = words(cashier.get("/cashier/"))

    assert (pos["available_points"], pos["pending_points"]) == (20, 0)
    assert (phone["available_points"], phone["pending_points"]) == (20, 0)
    assert "Available points 20" in screen
    assert "Pending points 0" in screen
    assert phone["next_expiry"] is not None
    assert entries_of_kind("release") == 0


def test_pending_points_not_yet_due_stay_pending_everywhere(till, mobile, app):
    _, pos, phone = pos_and_phone_two_days_after_a_sale(till, mobile, app, 3)
    assert (pos["available_points"], pos["pending_points"]) == (0, 20)
    assert (phone["available_points"], phone["pending_points"]) == (0, 20)


def test_due_points_can_be_quoted_and_spent_and_the_spend_writes_the_release(till, app):
    till.set_rules(pending_days=1)
    freeze(app, SALE_DAY)
    card = till.customer()
    till.sell(card, total_minor=20_000)
    freeze(app, SALE_DAY + dt.timedelta(days=2))
    quote = till.post("/quote", {"card_number": card, "total_minor": 5000}).get_json()
    assert quote["max_redeem_points"] == 200
    sale = till.sell(card, total_minor=5000, redeem_points=200).get_json()
    assert sale["balance"] == {"available": 0, "pending": 30}
    assert entries_of_kind("release") == 1


def test_an_expired_hold_shows_its_points_back_before_anything_is_written(till, app):
    freeze(app, SALE_DAY)
    card = till.customer(points=300)
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H1", "points": 100,
                                "ttl_seconds": 60}).get_json()
    assert hold["balance"]["available"] == 200
    freeze(app, SALE_DAY + dt.timedelta(minutes=5))
    assert till.balance(card) == {"available": 300, "pending": 0}
    assert entries_of_kind("hold_release") == 0


def test_due_pending_points_can_be_held_at_once(till, app):
    till.set_rules(pending_days=1)
    freeze(app, SALE_DAY)
    card = till.customer()
    till.sell(card, total_minor=5000)
    freeze(app, SALE_DAY + dt.timedelta(days=2))
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H1", "points": 50})
    assert hold.status_code == 201, hold.get_json()
    assert hold.get_json()["balance"] == {"available": 0, "pending": 0}
