"""A program's ceilings on one sale: its total and the points it earns, the same at every face.

The incident: a till sent total_minor = 10^12; the sale earned the program's whole daily cap,
and every later sale that day earned nothing.
"""
from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import DailyIssuance, Hold, Sale
from pos_loyalty.security import app_hasher

# config/default.toml: 10,000.00 and 10,000 points.
MAX_TOTAL = 1_000_000
MAX_POINTS = 10_000


def refused(reply: Any, code: str) -> dict[str, Any]:
    assert reply.status_code == 422, reply.get_json()
    error = reply.get_json()["error"]
    assert error["code"] == code
    return error["details"]


def written() -> tuple[int, int]:
    """Sales recorded, and points counted against the program's daily cap."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Sale)),
            db.session.scalar(select(func.coalesce(func.sum(DailyIssuance.points), 0))))


def test_a_huge_bill_is_refused_and_leaves_the_daily_cap_to_the_next_sales(till):
    card, other = till.customer(), till.customer()
    details = refused(till.sell(card, 10**12), "receipt_too_large")
    assert details == {"max_total_minor": MAX_TOTAL}
    assert written() == (0, 0)
    assert till.balance(card) == {"available": 0, "pending": 0}
    reply = till.sell(other, 2000)
    assert reply.status_code == 201
    assert (reply.get_json()["points_earned"], reply.get_json()["points_capped"]) == (20, 0)


def test_the_quote_refuses_what_the_sale_would(till):
    card = till.customer()
    quote = till.post("/quote", {"card_number": card, "total_minor": MAX_TOTAL + 1})
    assert refused(quote, "receipt_too_large") == {"max_total_minor": MAX_TOTAL}
    lines = [{"sku": "CAKE", "category": "", "quantity": 1001, "unit_price_minor": 1000}]
    refused(till.post("/quote", {"card_number": card, "lines": lines}), "receipt_too_large")


def test_a_bill_at_the_ceiling_earns_the_most_points_a_sale_may(till):
    card = till.customer()
    reply = till.sell(card, MAX_TOTAL)
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["points_earned"] == MAX_POINTS
    assert written() == (1, MAX_POINTS)


def test_a_sale_earning_more_than_the_ceiling_is_refused_whole(till):
    till.set_rules(category_multipliers={"organic": "2"})
    card = till.customer(points=500)
    lines = [{"sku": "HONEY", "category": "organic", "quantity": 6, "unit_price_minor": 100_000}]
    quote = till.post("/quote", {"card_number": card, "lines": lines})
    assert refused(quote, "too_many_points") == {"max_points": MAX_POINTS, "points": 12_000}
    refused(till.sell(card, lines=lines, redeem_points=100), "too_many_points")
    assert written() == (0, 0)
    assert till.balance(card) == {"available": 500, "pending": 0}


def test_a_sale_on_a_hold_is_refused_and_the_hold_stays_open(till):
    card = till.customer(points=300)
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H1", "points": 200})
    assert hold.status_code == 201
    hold_id = hold.get_json()["hold_id"]
    reply = till.post("/sales", {"card_number": card, "receipt_number": "H1",
                                 "total_minor": MAX_TOTAL + 1, "redeem_points": 200,
                                 "hold_id": hold_id}, key="sale-H1")
    refused(reply, "receipt_too_large")
    db.session.expire_all()
    assert db.session.get(Hold, hold_id).status == "active"
    assert written() == (0, 0)
    assert till.post(f"/holds/{hold_id}/void").status_code == 200
    assert till.balance(card) == {"available": 300, "pending": 0}


def test_each_program_sets_its_own_ceilings(till):
    till.set_rules(max_receipt_total_minor=5000, max_points_per_sale=30)
    card = till.customer()
    refused(till.sell(card, 5001), "receipt_too_large")
    refused(till.sell(card, 5000), "too_many_points")
    assert till.sell(card, 3000).get_json()["points_earned"] == 30


def test_a_program_may_have_no_ceiling(till):
    till.set_rules(max_receipt_total_minor=0, max_points_per_sale=0)   # 0 = no ceiling
    reply = till.sell(till.customer(), 2 * MAX_TOTAL)
    assert reply.status_code == 201
    assert reply.get_json()["points_earned"] == 2 * MAX_POINTS


def form_token(page: Any) -> str:
    return html.unescape(re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1))


@pytest.mark.parametrize("language, sentence", [
    ("en", "This bill is larger than one sale may be: at most €10,000.00."),
    ("fr", "Ce ticket dépasse le montant permis pour une vente : 10\u202f000,00\u00a0€ au plus."),
])
def test_the_cashier_reads_the_ceiling_in_plain_words(till, language: str, sentence: str):
    run_in_transaction(lambda: programs.create_staff(
        till.program(), "camille", "cashier", "till-password", till.store_id, app_hasher()))
    client = till.app.test_client()
    token = form_token(client.get("/cashier/login"))
    client.post("/cashier/language", data={"csrf_token": token, "lang": language,
                                           "next": "/cashier/login"})
    client.post("/cashier/login", data={"csrf_token": token, "username": "camille",
                                        "password": "till-password"})
    token = form_token(client.get("/cashier/"))
    client.post("/cashier/identify/card", data={"csrf_token": token,
                                                "card_number": till.customer()})
    page = client.post("/cashier/quote", data={"csrf_token": token, "total": "20000,00"})
    assert page.status_code == 422
    assert sentence in html.unescape(page.text)
    assert written() == (0, 0)
