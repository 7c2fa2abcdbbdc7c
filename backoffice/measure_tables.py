"""A `Measure` as the dashboard writes it: cells in the reader's language (money in the
program's currency, percents with one decimal, "—" for a figure that is undefined), and the
raw rows of its CSV file. Plain functions of the measure, the language and the words, so the
unit tests check them without an app."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from pos_loyalty.analytics import Measure
from pos_loyalty.rules import currency_exponent

MISSING = "—"


@dataclass(frozen=True)
class Formats:
    """How the reader writes numbers and dates: their language, the program's currency."""
    language: str
    currency: str

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)


def _same(key: str) -> str:
    return key


@dataclass(frozen=True)
class Words:
    """Names of a measure's keys (the back office's `measure_words`; tests pass their own).
    `unit` says a column's unit in a CSV header ("cents of EUR"), "" when its name says it."""
    column: Callable[[str], str] = _same
    figure: Callable[[str], str] = _same
    label: Callable[[str], str] = _same
    unit: Callable[[str, str], str] = lambda unit, currency: ""


def major_units(amount_minor: Any, formats: Formats) -> Decimal:
    return Decimal(amount_minor).scaleb(-formats.exponent)


def cell_text(unit: str, value: Any, formats: Formats, words: Words = Words()) -> str:
    """One value as the page writes it."""
    if value is None:
        return MISSING
    language = formats.language
    if unit == "minor":
        return format_currency(major_units(value, formats), formats.currency, locale=language)
    if unit == "percent":
        return percent_text(Decimal(str(value)), language)
    if unit in ("count", "points"):
        return format_decimal(value, locale=language)
    if unit == "decimal":
        return format_decimal(Decimal(str(value)), "#,##0.##", locale=language)
    if unit == "month":
        return format_date(value, "MMMM y", locale=language)
    if unit == "day":
        return format_date(value, "medium", locale=language)
    return words.label(str(value))


def percent_text(percent: Decimal, language: str) -> str:
    """12.345 (a percentage) -> "12.3%" in English, "12,3 %" in French: the language's
    pattern, with one decimal."""
    pattern = Locale.parse(language).percent_formats[None].pattern.replace("0", "0.0", 1)
    return format_percent(percent / 100, pattern, locale=language)


def header_texts(measure: Measure, words: Words) -> list[str]:
    return [words.column(key) for key in measure.columns]


def row_texts(measure: Measure, formats: Formats, words: Words) -> list[list[str]]:
    return [[cell_text(unit, value, formats, words) for unit, value in zip(measure.units, row)]
            for row in measure.rows]


def figure_texts(measure: Measure, formats: Formats, words: Words) -> list[tuple[str, str]]:
    """The headline figures: (name, value as written)."""
    return [(words.figure(key), cell_text(unit, value, formats, words))
            for key, unit, value in measure.figures]


def csv_value(unit: str, value: Any) -> Any:
    """A raw value of the CSV file: money in minor units and percents as numbers, months as
    YYYY-MM, days as YYYY-MM-DD, nothing for an undefined figure."""
    if value is None:
        return ""
    if unit == "month" and isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_rows(measure: Measure, formats: Formats, words: Words) -> list[list[Any]]:
    """The header (each column's name in the reader's language, with its unit when the name
    does not say it), then the rows with raw values."""
    header = []
    for key, unit in zip(measure.columns, measure.units):
        suffix = words.unit(unit, formats.currency)
        header.append(f"{words.column(key)} ({suffix})" if suffix else words.column(key))
    return [header, *([csv_value(unit, value) for unit, value in zip(measure.units, row)]
                      for row in measure.rows)]
