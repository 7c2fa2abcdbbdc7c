"""Every key a registered measure answers (its key, section, columns, headline figures and
note) has its words in the back office (`backoffice.measure_words`), so the dashboard never
shows a bare key; the French ones come from the catalogue, which the login tests check.

When a measure is added without its words, the failure lists each key that lacks them."""
from __future__ import annotations

import datetime as dt

from flask import session

from backoffice import measure_words
from pos_loyalty import analytics, programs
from pos_loyalty.analytics import Filters, Measure
from pos_loyalty.db import run_in_transaction

NOW = dt.datetime(2026, 3, 9, 10, 0)


def missing_words(measure: Measure) -> list[str]:
    """`measure: kind 'key'` for each key of the measure without words."""
    wanted = [("measure", measure.key, measure.key in measure_words.MEASURES),
              ("section", measure.section, measure.section in measure_words.SECTIONS),
              *(("column", key, measure_words.has_column_words(key)) for key in measure.columns),
              *(("figure", key, key in measure_words.FIGURES)
                for key, _unit, _value in measure.figures)]
    if measure.note:
        wanted.append(("note", measure.note, measure.note in measure_words.NOTES))
    return [f"{measure.key}: {kind} {key!r}" for kind, key, found in wanted if not found]


def test_every_registered_measure_has_words_for_each_of_its_keys(app):
    program = run_in_transaction(programs.default_program)
    filters = Filters(program, dt.date(2025, 4, 1), dt.date(2026, 3, 1), None, NOW)
    missing = [line for _key, _section, function in analytics.measures_in_order()
               for line in missing_words(function(filters))]
    assert not missing, "keys without words in backoffice/measure_words.py:\n" + \
        "\n".join(missing)


def test_the_check_names_each_key_that_lacks_words(app):
    measure = Measure("mystery", "points", ("month", "issued", "oddity"),
                      ("month", "points", "count"), (), charted=("issued",),
                      figures=(("issued", "points", 3), ("strangeness", "count", None)),
                      note="unexplained")
    assert missing_words(measure) == ["mystery: measure 'mystery'", "mystery: column 'oddity'",
                                      "mystery: figure 'strangeness'",
                                      "mystery: note 'unexplained'"]


def test_seeded_words_are_french_for_a_french_reader(app):
    with app.test_request_context("/admin/analytics"):
        session["lang"] = "fr"
        assert [measure_words.measure_title("retention"), measure_words.column_name("till"),
                measure_words.figure_name("liability_minor"),
                measure_words.label_text("import"), measure_words.label_text("Gold"),
                measure_words.unit_suffix("minor", "EUR"),
                measure_words.unit_suffix("minor", "JPY"),
                measure_words.unit_suffix("percent", "EUR")] == [
            "Fidélisation et attrition", "En caisse", "Engagement",
            "Importés", "Gold", "centimes de EUR", "JPY", "%"]
