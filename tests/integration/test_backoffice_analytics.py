"""The analytics dashboard (/admin/analytics): every registered measure with its headline
figures, chart, table and CSV file, for the chosen months and store; who may open it; and
filters refused in plain words. The measures are the tests' own (analytics_test_measures):
points earned and redeemed per month read from the ledger, and a hand-made money table."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest

from analytics_test_measures import TEST_MEASURES, legend_names, only_these
from backoffice_setup import NOW, office, words
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Terminal

__all__ = ["office"]
DEFAULT_QUERY = "from=2025-04&to=2026-03&store="
CHART_DESCRIPTION = ("Line chart of Points issued, Points redeemed, from April 2025 to March "
                     "2026, every store. The numbers are in the table under the chart.")


@pytest.fixture(autouse=True)
def test_measures():
    with only_these(*TEST_MEASURES):
        yield


@pytest.fixture
def sold(shop):
    """February 10th: Léa (500 points) pays a 20.00 bill with 100 points and earns 10.
    March 9th (the tests' today): a 30.00 bill earns 30."""
    shop.now = dt.datetime(2026, 2, 10, 10, 0)
    lea = shop.customer(500)
    shop.sell(lea, 2000, redeem_points=100)
    shop.now = NOW
    shop.sell(lea, 3000)
    return lea


def table_rows(page, caption: str) -> list[list[str]]:
    """The cells of the table with this caption, as a person reads them."""
    found = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>",
                      html.unescape(page.text), re.S)
    assert found, f"no table {caption!r}"
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
             .replace("\u00a0", " ").replace("\u202f", " ")
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)]


def csv_lines(page) -> list[list[str]]:
    return list(csv.reader(io.StringIO(page.get_data(as_text=True))))


def test_marketing_sees_the_last_twelve_months_of_each_measure_by_section(app, office, sold):
    page = office("marketing").get("/admin/analytics")
    assert page.status_code == 200
    text = words(page)
    assert re.findall(r"<h2 [^>]*>([^<]+)</h2>", page.text) == ["Points", "Liability"]
    assert 'value="2025-04"' in page.text and 'value="2026-03"' in page.text
    assert "Points issued, redeemed, expired and taken back" in text
    assert "Points issued 40 Redemption rate 250.0%" in text
    rows = table_rows(page, "Points issued, redeemed, expired and taken back")
    assert rows[0] == ["Month", "Points issued", "Points redeemed"]
    assert rows[1] == ["April 2025", "0", "0"]
    assert rows[-2:] == [["February 2026", "10", "100"], ["March 2026", "30", "0"]]
    assert len(rows) == 13
    assert ("Redemption rate = points redeemed ÷ points issued. Breakage = points expired ÷ "
            "points issued.") in text
    assert (f'<img class="chart" src="/admin/analytics/points_flow.svg?{DEFAULT_QUERY}" '
            f'alt="{CHART_DESCRIPTION}"') in page.text.replace("&amp;", "&")
    assert f'href="/admin/analytics/points_flow.csv?{DEFAULT_QUERY}"' in \
        page.text.replace("&amp;", "&")


def test_a_table_measure_has_no_chart_and_writes_money_and_missing_values(app, office):
    page = office("finance").get("/admin/analytics")
    assert page.status_code == 200
    assert "/admin/analytics/liability.svg" not in page.text
    assert "Liability €1,500.00" in words(page)
    assert table_rows(page, "Outstanding points liability, by expiry month") == [
        ["Expiry month", "Points", "Value"], ["April 2026", "1,500", "€150.00"],
        ["May 2026", "250", "—"]]
    assert "this measure does not depend on the store chosen" not in words(page)


def test_the_page_speaks_french_with_french_numbers(app, office, sold):
    page = office("marketing", language="fr").get("/admin/analytics")
    text = words(page)
    assert "Points émis 40 Taux d'utilisation 250,0 %" in text
    assert table_rows(page, "Points émis, utilisés, expirés et repris")[-2] == [
        "février 2026", "10", "100"]
    assert table_rows(page, "Engagement des points en circulation, par mois d'expiration")[1] \
        == ["avril 2026", "1 500", "150,00 €"]
    assert "Engagement 1 500,00 €" in text


def test_the_page_says_when_the_figures_were_computed(app, office, runner):
    user = office("admin")
    assert ("The figures have never been computed: run `pos-loyalty rollup` (from cron), then "
            "reload this page.") in words(user.get("/admin/analytics"))
    assert runner.invoke(args=["rollup"]).exit_code == 0
    text = words(user.get("/admin/analytics"))
    assert "Figures as of 09/03/2026, 11:00 (the last run of `pos-loyalty rollup`)." in text
    assert "never been computed" not in text


def test_one_store_shows_only_its_points_and_program_wide_measures_say_so(
        app, office, shop, sold):
    def second_store() -> tuple[int, int]:
        store = programs.create_store(shop.program, "Annecy")
        terminal, _key = programs.create_terminal(shop.program, store.id, "Caisse A")
        return store.id, terminal.id
    store_id, terminal_id = run_in_transaction(second_store)
    shop.sell(sold, 5000, terminal=db.session.get(Terminal, terminal_id))
    user = office("marketing")
    everywhere = table_rows(user.get("/admin/analytics"),
                            "Points issued, redeemed, expired and taken back")
    assert everywhere[-1] == ["March 2026", "80", "0"]
    page = user.get("/admin/analytics", query_string={"from": "2026-02", "to": "2026-03",
                                                      "store": str(store_id)})
    assert page.status_code == 200
    assert table_rows(page, "Points issued, redeemed, expired and taken back")[1:] == [
        ["February 2026", "0", "0"], ["March 2026", "50", "0"]]
    assert f'<option value="{store_id}" selected>Annecy</option>' in page.text
    assert ("For the whole program: this measure does not depend on the store chosen."
            in words(page))
    assert (f'src="/admin/analytics/points_flow.svg?from=2026-02&to=2026-03&store={store_id}"'
            in page.text.replace("&amp;", "&"))
    svg = user.get(f"/admin/analytics/points_flow.svg?from=2026-02&to=2026-03&store={store_id}")
    assert ("<desc>Line chart of Points issued, Points redeemed, from February 2026 to March "
            "2026, Annecy. The numbers are in the table under the chart.</desc>") in svg.text


@pytest.mark.parametrize("query, sentence, field", [
    ({"from": "2026-13"},
     "From (month): write the month as YYYY-MM, for example 2026-03.", "from"),
    ({"from": "2026-01", "to": "March"},
     "To (month, included): write the month as YYYY-MM, for example 2026-03.", "to"),
    ({"from": "2026-03", "to": "2026-01"},
     "To (month, included): the period ends before it starts.", "to"),
    ({"from": "2024-01", "to": "2026-01"},
     "To (month, included): a period is at most 24 months.", "to"),
    ({"from": "2026-04", "to": "2026-05"},
     "From (month): the period starts after this month.", "from"),
    ({"store": "Lyon"}, "Store: choose one of the program's stores, or every store.", "store"),
])
def test_a_bad_filter_is_said_in_plain_words_and_the_form_is_shown_again(
        app, office, query, sentence, field):
    page = office("marketing").get("/admin/analytics", query_string=query)
    assert page.status_code == 400
    assert sentence in words(page)
    assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', page.text)
    if "from" in query:
        assert f'value="{query["from"]}"' in page.text
    assert "<article" not in page.text


def test_a_store_of_another_program_is_refused(app, office, till):
    _program, terminal, _key = till.other_brand()
    page = office("marketing").get("/admin/analytics",
                                   query_string={"store": str(terminal.store_id)})
    assert page.status_code == 400
    assert "Store: choose one of the program's stores, or every store." in words(page)
    assert "Elsewhere" not in page.text


def test_twenty_four_months_are_allowed(app, office):
    page = office("marketing").get("/admin/analytics",
                                   query_string={"from": "2024-04", "to": "2026-03"})
    assert page.status_code == 200
    assert len(table_rows(page, "Points issued, redeemed, expired and taken back")) == 25


def test_the_csv_file_has_named_columns_and_raw_values(app, office, sold):
    user = office("finance")
    page = user.get(f"/admin/analytics/points_flow.csv?{DEFAULT_QUERY}")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert page.headers["Content-Disposition"] == \
        'attachment; filename="demo-points_flow-2025-04-2026-03.csv"'
    lines = csv_lines(page)
    assert lines[0] == ["Month", "Points issued", "Points redeemed"]
    assert lines[1] == ["2025-04", "0", "0"]
    assert lines[-2:] == [["2026-02", "10", "100"], ["2026-03", "30", "0"]]
    assert csv_lines(user.get("/admin/analytics/liability.csv")) == [
        ["Expiry month", "Points", "Value (cents of EUR)"], ["2026-04", "1500", "15000"],
        ["2026-05", "250", ""]]


def test_the_csv_header_is_in_the_reader_s_language(app, office):
    page = office("finance", language="fr").get("/admin/analytics/liability.csv")
    assert csv_lines(page)[0] == ["Mois d'expiration", "Points", "Valeur (centimes de EUR)"]


def test_each_chart_is_an_svg_image_with_its_own_policy_and_named_series(app, office, sold):
    page = office("marketing").get(f"/admin/analytics/points_flow.svg?{DEFAULT_QUERY}")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == \
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    assert page.headers["Cache-Control"] == "no-store"
    svg = page.text
    assert svg.startswith("<svg ")
    assert "<script" not in svg and "<?xml" not in svg
    assert ("<title>Points issued, redeemed, expired and taken back</title>"
            f"<desc>{CHART_DESCRIPTION}</desc>") in svg
    assert legend_names(svg) == ["Points issued", "Points redeemed"]
    assert "Feb 2026" in svg and "Mar 2026" in svg


def test_a_table_measure_or_an_unknown_one_has_no_chart(app, office):
    user = office("marketing")
    assert user.get("/admin/analytics/liability.svg").status_code == 404
    assert user.get("/admin/analytics/nothing.svg").status_code == 404
    assert user.get("/admin/analytics/nothing.csv").status_code == 404


def test_a_bad_filter_on_a_chart_or_a_file_is_refused_in_words(app, office):
    page = office("marketing").get("/admin/analytics/points_flow.csv?from=2026-3")
    assert page.status_code == 400
    assert "From (month): write the month as YYYY-MM, for example 2026-03." in words(page)


def test_support_may_not_open_the_analytics(app, office):
    user = office("support")
    for path in ("/admin/analytics", "/admin/analytics/points_flow.svg",
                 "/admin/analytics/points_flow.csv"):
        assert user.get(path).status_code == 403
    assert ">Analytics</a>" not in user.get("/admin/").text


@pytest.mark.parametrize("role", ["admin", "marketing", "finance"])
def test_admin_marketing_and_finance_find_analytics_in_the_menu(app, office, role):
    menu = office(role).get("/admin/").text
    assert '<a href="/admin/analytics">Analytics</a>' in menu


def test_the_page_reports_the_time_of_each_measure(app, office):
    timing = office("marketing").get("/admin/analytics").headers["Server-Timing"]
    assert re.fullmatch(r"points_flow;dur=\d+\.\d, liability;dur=\d+\.\d", timing)


def test_without_any_measure_the_page_says_so(app, office):
    with only_these():
        page = office("marketing").get("/admin/analytics")
    assert page.status_code == 200
    assert "No measure is installed yet." in words(page)
    assert "Server-Timing" not in page.headers
