"""How the dashboard writes a measure (backoffice.measure_tables) and draws it
(backoffice.charts), on measures built by hand: cells in the reader's language, the CSV
file's raw values, and SVG charts with named series, a title and a description, and no
script."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from analytics_test_measures import legend_names
from backoffice.charts import ChartText, axis_text, chart_svg, plot_value
from backoffice.measure_tables import (
    Formats, Words, cell_text, csv_rows, figure_texts, header_texts, row_texts,
)
from pos_loyalty.analytics import Measure

ENGLISH, FRENCH = Formats("en", "EUR"), Formats("fr", "EUR")
NAMES = {"month": "Month", "issued": "Points issued", "redeemed": "Points redeemed",
         "value_minor": "Value", "channel": "Channel", "enrolled": "Members enrolled",
         "redemption_rate": "Redemption rate"}
WORDS = Words(column=NAMES.__getitem__, figure=NAMES.__getitem__,
              label={"till": "At the till", "app": "In the app"}.get,
              unit=lambda unit, currency: f"cents of {currency}" if unit == "minor" else "")
TEXT = ChartText("Points issued and redeemed", "Line chart of two series.", "Nothing yet.")
POINTS = Measure(
    "points_flow", "points", ("month", "issued", "redeemed", "value_minor"),
    ("month", "points", "points", "minor"),
    ((dt.date(2026, 1, 1), 1200, 300, 3000), (dt.date(2026, 2, 1), 800, None, None)),
    chart="line", charted=("issued", "redeemed"),
    figures=(("issued", "points", 2000), ("redemption_rate", "percent", Decimal("15.04"))))


def plain(text: str) -> str:
    """Babel's narrow and non-breaking spaces as plain ones, to compare."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize("unit, value, formats, expected", [
    ("minor", 123456, ENGLISH, "€1,234.56"),
    ("minor", 123456, FRENCH, "1 234,56 €"),
    ("minor", -5, ENGLISH, "-€0.05"),
    ("minor", 1234, Formats("en", "JPY"), "¥1,234"),
    ("percent", Decimal("12.345"), ENGLISH, "12.3%"),
    ("percent", Decimal("12.355"), FRENCH, "12,4 %"),
    ("percent", 0, ENGLISH, "0.0%"),
    ("count", 1234567, ENGLISH, "1,234,567"),
    ("points", 1234567, FRENCH, "1 234 567"),
    ("decimal", Decimal("2.456"), ENGLISH, "2.46"),
    ("month", dt.date(2026, 3, 1), ENGLISH, "March 2026"),
    ("month", dt.date(2026, 3, 1), FRENCH, "mars 2026"),
    ("day", dt.date(2026, 3, 9), ENGLISH, "Mar 9, 2026"),
    ("day", dt.date(2026, 3, 9), FRENCH, "9 mars 2026"),
    ("label", "till", ENGLISH, "At the till"),
    ("minor", None, ENGLISH, "—"),
    ("percent", None, FRENCH, "—"),
])
def test_each_unit_is_written_in_the_reader_s_language(unit, value, formats, expected):
    assert plain(cell_text(unit, value, formats, WORDS)) == expected


def test_a_label_without_words_is_shown_as_it_is():
    assert cell_text("label", "Gold", ENGLISH, Words()) == "Gold"


def test_the_table_has_named_columns_and_written_cells():
    assert header_texts(POINTS, WORDS) == ["Month", "Points issued", "Points redeemed", "Value"]
    assert row_texts(POINTS, ENGLISH, WORDS) == [
        ["January 2026", "1,200", "300", "€30.00"], ["February 2026", "800", "—", "—"]]
    assert figure_texts(POINTS, ENGLISH, WORDS) == [("Points issued", "2,000"),
                                                    ("Redemption rate", "15.0%")]


def test_the_csv_file_names_units_and_keeps_raw_values():
    measure = Measure("m", "points", ("month", "redemption_rate", "value_minor"),
                      ("month", "percent", "minor"),
                      ((dt.date(2026, 1, 1), Decimal("12.5"), 3000),
                       (dt.date(2026, 2, 1), None, -250)))
    assert csv_rows(measure, ENGLISH, WORDS) == [
        ["Month", "Redemption rate", "Value (cents of EUR)"],
        ["2026-01", Decimal("12.5"), 3000], ["2026-02", "", -250]]


def test_a_line_chart_names_its_series_months_title_and_description_and_has_no_script():
    svg = chart_svg(POINTS, TEXT, ENGLISH, WORDS)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="pygal-chart" '
                          'viewBox="0 0 800 340" width="800" height="340" role="img">')
    assert "<?xml" not in svg and "<script" not in svg and "<!--" not in svg
    assert "<title>Points issued and redeemed</title><desc>Line chart of two series.</desc>" \
        in svg
    assert legend_names(svg) == ["Points issued", "Points redeemed"]
    assert "Jan 2026" in svg and "Feb 2026" in svg
    assert 'class="graph line-graph' in svg
    assert "googleapis" not in svg and "http://" not in svg.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_the_same_measure_draws_the_same_chart():
    assert chart_svg(POINTS, TEXT, ENGLISH, WORDS) == chart_svg(POINTS, TEXT, ENGLISH, WORDS)


def test_bar_and_stacked_charts_and_french_axis_labels():
    enrolled = Measure("enrolments", "members", ("channel", "enrolled"), ("label", "count"),
                       (("till", 40), ("app", 25)), chart="bar", charted=("enrolled",))
    svg = chart_svg(enrolled, TEXT, FRENCH, WORDS)
    assert 'class="graph bar-graph' in svg
    assert "At the till" in svg and "In the app" in svg
    stacked = Measure("money", "points", ("month", "value_minor"), ("month", "minor"),
                      ((dt.date(2026, 1, 1), 150000),), chart="stacked",
                      charted=("value_minor",))
    svg = chart_svg(stacked, TEXT, FRENCH, WORDS)
    assert 'class="graph stackedbar-graph' in svg
    assert "janv. 2026" in svg
    assert "1 500,00 €" in plain(svg)


def test_a_table_measure_has_no_chart():
    table = Measure("liability", "liability", ("month", "value_minor"), ("month", "minor"),
                    ((dt.date(2026, 1, 1), 1),), chart="table")
    assert chart_svg(table, TEXT, ENGLISH, WORDS) is None


def test_a_chart_without_rows_says_there_is_nothing_yet():
    empty = Measure("points_flow", "points", ("month", "issued"), ("month", "points"), (),
                    charted=("issued",))
    assert re.search(r'<text [^>]*class="no_data"[^>]*>Nothing yet\.</text>',
                     chart_svg(empty, TEXT, ENGLISH, WORDS))


@pytest.mark.parametrize("unit, value, plotted", [
    ("minor", 123456, 1234.56), ("minor", None, None), ("percent", Decimal("12.5"), 12.5),
    ("points", 40, 40.0)])
def test_money_is_drawn_in_major_units(unit, value, plotted):
    assert plot_value(unit, value, ENGLISH) == plotted


@pytest.mark.parametrize("unit, plotted, expected", [
    ("minor", 1200.0, "€1,200.00"), ("percent", 12.5, "12.5%"), ("points", 1500.0, "1,500")])
def test_the_axis_writes_values_in_their_unit(unit, plotted, expected):
    assert axis_text(unit, plotted, ENGLISH) == expected
