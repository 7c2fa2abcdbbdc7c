"""Analytics (admin, marketing, finance): every registered measure of the program for the
chosen months and store, as a chart, its numbers in a table and a CSV file
(`usecases.analytics`; the measures read only the rollups of `pos-loyalty rollup`).

Each chart is its own image/svg+xml response shown with `<img>` (backoffice/charts.py says
why); the page, the chart and the CSV file of a measure take the same filters."""
from __future__ import annotations

from typing import Any

from flask import Response, g, render_template, request, url_for

from backoffice import charts, measure_words
from backoffice.blueprint import area, bp, error_page
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.measure_tables import Formats, Words, cell_text, csv_rows, figure_texts
from backoffice.measure_tables import header_texts, row_texts
from cashier_ui.i18n import current_language
from pos_loyalty.analytics import Filters, Measure
from pos_loyalty.clock import now
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.exports import csv_text
from pos_loyalty.usecases import analytics

FIELD_LABELS = {"from": lazy_gettext("From (month)"), "to": lazy_gettext("To (month, included)"),
                "store": lazy_gettext("Store")}
PROBLEMS = {
    "format": lazy_gettext("write the month as YYYY-MM, for example 2026-03."),
    "order": lazy_gettext("the period ends before it starts."),
    "too_long": lazy_gettext("a period is at most %(most)s months."),
    "future": lazy_gettext("the period starts after this month."),
    "unknown_store": lazy_gettext("choose one of the program's stores, or every store."),
}
CHART_KINDS = {"line": lazy_gettext("Line chart"), "bar": lazy_gettext("Bar chart"),
               "stacked": lazy_gettext("Stacked bar chart")}
TEXT_UNITS = ("label", "month", "day")


def words() -> Words:
    return Words(column=measure_words.column_name, figure=measure_words.figure_name,
                 label=measure_words.label_text, unit=measure_words.unit_suffix)


def formats() -> Formats:
    return Formats(current_language(), g.program.currency)


def chosen() -> dict[str, str]:
    """The filters as the form sent them; the default months when none were sent."""
    first, last = analytics.default_months(g.program, now())
    return {"from": request.args.get("from", "")[:20] or first,
            "to": request.args.get("to", "")[:20] or last,
            "store": request.args.get("store", "")[:20]}


def filter_sentence(error: ValidationFailed) -> str:
    """A refused filter in plain words, naming the field."""
    field = error.details.get("field", "")
    problem = str(PROBLEMS.get(error.details.get("reason", ""), error.message)) % error.details
    return _("%(field)s: %(problem)s", field=str(FIELD_LABELS.get(field, field)),
             problem=problem)


@bp.get("/analytics", endpoint="analytics")
@area("analytics")
def analytics_page() -> Any:
    filters = chosen()
    try:
        board = analytics.dashboard(g.program, filters["from"], filters["to"],
                                    filters["store"], now())
    except ValidationFailed as error:
        return render_template(
            "backoffice/analytics.html", chosen=filters, stores=analytics.stores_of(g.program),
            sections=[], error=filter_sentence(error), wrong=error.details.get("field", ""),
            last_run_at=None, store_chosen=False), 400
    page = render_template(
        "backoffice/analytics.html", chosen=filters, stores=board.stores,
        sections=sections(board), wrong="", last_run_at=board.last_run_at,
        never_run=board.last_run_at is None, store_chosen=board.filters.store_id is not None)
    timing = ", ".join(f"{measure.key};dur={seconds * 1000:.1f}"
                       for measure, seconds in board.measures)
    return Response(page, headers={"Server-Timing": timing} if timing else {})


def sections(board: analytics.Dashboard) -> list[tuple[str, list[dict[str, Any]]]]:
    """The measures grouped by section, in the dashboard's order, as the template shows them."""
    grouped: list[tuple[str, list[dict[str, Any]]]] = []
    for measure, _seconds in board.measures:
        if not grouped or grouped[-1][0] != measure.section:
            grouped.append((measure.section, []))
        grouped[-1][1].append(shown(measure, board.filters, board.store_name))
    return [(measure_words.section_name(section), items) for section, items in grouped]


def filter_query(filters: Filters) -> dict[str, Any]:
    """The filters as the chart's and the CSV file's links carry them."""
    return {"from": filters.first_month.strftime("%Y-%m"),
            "to": filters.last_month.strftime("%Y-%m"), "store": filters.store_id or ""}


def shown(measure: Measure, filters: Filters, store_name: str | None) -> dict[str, Any]:
    named, formatted = words(), formats()
    drawn = measure.chart != "table" and bool(measure.charted)
    return {
        "key": measure.key, "title": measure_words.measure_title(measure.key),
        "figures": figure_texts(measure, formatted, named),
        "headers": header_texts(measure, named), "rows": row_texts(measure, formatted, named),
        "numeric": [unit not in TEXT_UNITS for unit in measure.units],
        "note": measure_words.note_text(measure.note) if measure.note else "",
        "program_wide": measure.program_wide,
        "chart_url": url_for("backoffice.analytics_svg", key=measure.key,
                             **filter_query(filters)) if drawn else "",
        "description": chart_text(measure, filters, store_name).description if drawn else "",
        "csv_url": url_for("backoffice.analytics_csv", key=measure.key,
                           **filter_query(filters))}


def chart_text(measure: Measure, filters: Filters, store_name: str | None) -> charts.ChartText:
    """The chart's title and description: what it draws, for which months and stores."""
    formatted = formats()
    where = _("every store") if store_name is None or measure.program_wide else store_name
    description = _("%(chart)s of %(series)s, from %(first)s to %(last)s, %(where)s. The "
                    "numbers are in the table under the chart.",
                    chart=str(CHART_KINDS.get(measure.chart, "")),
                    series=", ".join(measure_words.column_name(key) for key in measure.charted),
                    first=cell_text("month", filters.first_month, formatted),
                    last=cell_text("month", filters.last_month, formatted), where=where)
    return charts.ChartText(measure_words.measure_title(measure.key), description,
                            _("No figures for these months."))


def read_one(key: str) -> analytics.MeasureRead:
    filters = chosen()
    return analytics.one_measure(g.program, key, filters["from"], filters["to"],
                                 filters["store"], now())


@bp.get("/analytics/<key>.svg")
@area("analytics")
def analytics_svg(key: str) -> Any:
    try:
        read = read_one(key)
    except ValidationFailed as error:
        return error_page(filter_sentence(error), 400)
    svg = charts.chart_svg(read.measure, chart_text(read.measure, read.filters, read.store_name),
                           formats(), words())
    if svg is None:
        return error_page(_("This measure is shown as a table only."), 404)
    return Response(svg, content_type="image/svg+xml; charset=utf-8",
                    headers={"Content-Security-Policy": charts.CHART_SECURITY_POLICY})


@bp.get("/analytics/<key>.csv")
@area("analytics")
def analytics_csv(key: str) -> Any:
    try:
        read = read_one(key)
    except ValidationFailed as error:
        return error_page(filter_sentence(error), 400)
    query = filter_query(read.filters)
    where = f"-store-{query['store']}" if query["store"] else ""
    name = f"{g.program.slug}-{key}-{query['from']}-{query['to']}{where}.csv"
    return Response(csv_text(csv_rows(read.measure, formats(), words())),
                    content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
