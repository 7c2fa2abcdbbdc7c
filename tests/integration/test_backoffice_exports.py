"""Exports and reports of the back office: the CSV files finance takes to accounting (members,
ledger entries with their money value, sales), streamed and escaped, and the program's figures;
who may open them, and that finance changes nothing."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from backoffice_setup import office, words
from pos_loyalty import exports
from pos_loyalty.db import db
from pos_loyalty.models import AuditEvent

__all__ = ["office"]
MARCH = {"from": "2026-03-01", "to": "2026-03-09"}


@pytest.fixture
def sold(shop):
    """Léa: 500 points by adjustment, then a 20.00 sale paying 100 points (10.00) and
    earning 10; a customer whose name a spreadsheet would take for a formula."""
    lea = shop.customer(first_name="Léa")
    shop.adjust(lea, 500)
    sale = shop.sell(lea, 2000, redeem_points=100)
    shop.customer(first_name="=HYPERLINK(\"http://x\")")
    return {"card": lea, "sale": sale, "receipt": shop.till.receipts}


def rows(page) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page.get_data(as_text=True))))


def test_finance_downloads_the_ledger_of_a_period_with_the_money_value_of_each_entry(
        app, office, shop, sold):
    page = office("finance").get("/admin/exports/ledger.csv", query_string=MARCH)
    assert page.status_code == 200
    assert page.is_streamed
    assert page.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert page.headers["Content-Disposition"] == \
        'attachment; filename="demo-ledger-2026-03-01-2026-03-09-2026-03-09.csv"'
    found = rows(page)
    assert [(row["date"], row["time"], row["kind"], row["points"], row["value"],
             row["currency"], row["card_number"], row["store"]) for row in found] == [
        ("2026-03-09", "11:00:00", "adjust", "500", "50.00", "EUR", sold["card"], ""),
        ("2026-03-09", "11:00:00", "redeem", "-100", "-10.00", "EUR", sold["card"],
         "Boulangerie Lyon"),
        ("2026-03-09", "11:00:00", "earn", "10", "1.00", "EUR", sold["card"],
         "Boulangerie Lyon")]
    assert found[1]["receipt"] == found[2]["receipt"] != ""
    assert found[0]["reason"] == "test set-up"


def test_a_period_before_the_entries_holds_only_the_header(app, office, shop, sold):
    page = office("admin").get("/admin/exports/ledger.csv",
                               query_string={"from": "2026-02-01", "to": "2026-03-08"})
    assert page.get_data(as_text=True) == "\r\n".join([",".join(exports.LEDGER_HEADER), ""])


def test_the_members_file_escapes_what_a_spreadsheet_would_run_and_can_be_imported_again(
        app, office, shop, sold):
    page = office("finance").get("/admin/exports/members.csv")
    found = {row["first_name"]: row for row in rows(page)}
    assert set(found) == {"Léa", "'=HYPERLINK(\"http://x\")"}
    lea = found["Léa"]
    assert (lea["card_number"], lea["points"], lea["value"], lea["opt_in"], lea["status"],
            lea["member_since"]) == (sold["card"], "410", "41.00", "yes", "active",
                                     "2026-03-09")
    assert lea["phone"].startswith("'+336")   # text starting with + is escaped too
    assert exports.MEMBER_HEADER[1:5] == ["phone", "first_name", "card_number", "points"]


def test_the_sales_file_has_each_sale_with_its_money_and_points(app, office, shop, sold):
    [sale] = rows(office("finance").get("/admin/exports/sales.csv", query_string=MARCH))
    assert (sale["date"], sale["store"], sale["terminal"], sale["card_number"], sale["status"],
            sale["total"], sale["cash"], sale["paid_with_points"], sale["points_redeemed"],
            sale["points_earned"], sale["returned"]) == (
        "2026-03-09", "Boulangerie Lyon", "Caisse 1", sold["card"], "completed", "20.00",
        "10.00", "10.00", "100", "10", "0.00")


def test_every_export_is_audited_with_who_and_the_period(app, office, shop, sold):
    user = office("finance")
    user.get("/admin/exports/members.csv").get_data()
    user.get("/admin/exports/sales.csv", query_string=MARCH).get_data()
    db.session.expire_all()
    events = [(event.actor, event.action, event.target, event.details)
              for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
              if event.action == "data_exported"]
    assert events == [("staff:finance", "data_exported", "export:members", {}),
                      ("staff:finance", "data_exported", "export:sales", MARCH)]


def test_a_long_export_is_read_a_page_at_a_time_and_loses_no_row(app, office, shop,
                                                                 monkeypatch):
    monkeypatch.setattr(exports, "PAGE_ROWS", 2)
    cards = [shop.customer(first_name=f"N{n}") for n in range(5)]
    found = rows(office("admin").get("/admin/exports/members.csv"))
    assert [row["card_number"] for row in found] == cards


@pytest.mark.parametrize("period, sentence, status", [
    ({"from": "2026-03-09", "to": "2026-03-01"}, "The period ends before it starts.", 422),
    ({"from": "yesterday", "to": "2026-03-01"}, "Write the dates as YYYY-MM-DD.", 422),
    ({"from": "2025-01-01", "to": "2026-03-01"}, "A period is at most 366 days.", 422),
    ({"from": "2026-04-01", "to": "2026-04-02"}, "The period starts after today.", 422),
])
def test_a_bad_period_is_said_on_the_exports_page(app, office, period, sentence, status):
    page = office("finance").get("/admin/exports/ledger.csv", query_string=period)
    assert page.status_code == status
    assert page.headers["Content-Type"].startswith("text/html")
    assert sentence in words(page)
    assert f'value="{period["from"]}"' in page.text


@pytest.mark.parametrize("role", ["marketing", "support"])
def test_exports_are_for_admin_and_finance_only(app, office, role):
    user = office(role)
    assert user.get("/admin/exports").status_code == 403
    assert user.get("/admin/exports/members.csv").status_code == 403


def test_finance_reads_reports_and_exports_but_cannot_change_anything(app, office):
    finance = office("finance")
    assert finance.get("/admin/exports").status_code == 200
    assert finance.get("/admin/reports").status_code == 200
    page = finance.post("/admin/imports/check",
                        {"file": (io.BytesIO(b"phone\n+33612345678\n"), "m.csv")},
                        content_type="multipart/form-data")
    assert page.status_code == 403
    assert "Your role does not allow this." in words(page)


def test_the_report_shows_members_liability_and_the_points_of_the_period(app, office, shop,
                                                                       sold):
    page = office("marketing").get("/admin/reports", query_string=MARCH)
    assert page.status_code == 200
    text = words(page)
    assert "Members 2 Points outstanding 410 Liability €41.00" in text
    assert "New members 2 Points issued 10 · €1.00" in text
    assert "Points redeemed 100 · €10.00" in text
    assert "Corrections 500 · €50.00" in text
    assert "Redemption rate 1000.0 %" in text


def test_the_report_of_an_empty_period_says_so(app, office, shop, sold):
    page = office("admin").get("/admin/reports",
                               query_string={"from": "2026-01-01", "to": "2026-01-31"})
    text = words(page)
    assert "New members 0 Points issued 0 · €0.00" in text
    assert "Redemption rate –" in text
    assert "No points moved in this period." in text


def test_the_report_refuses_a_bad_period_with_a_sentence(app, office):
    page = office("marketing").get("/admin/reports",
                                   query_string={"from": "2026-03-09", "to": "2026-03-01"})
    assert page.status_code == 422
    assert "The period ends before it starts." in words(page)
