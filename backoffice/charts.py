"""A `Measure` drawn as an SVG chart with pygal, on the server: no script, no XML declaration,
no fonts fetched, a `<title>` and `<desc>` for screen readers.

pygal puts its look in a `<style>` inside the SVG. The dashboard serves each chart as its own
image/svg+xml response shown with `<img>`: a page's Content-Security-Policy (no inline style)
does not reach into an image, and the chart's response carries its own policy, which allows
its inline style and nothing else (no script, no request out)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sys

import pygal
from babel.dates import format_date
from pygal.style import Style

from backoffice.measure_tables import Formats, Words, cell_text, major_units, percent_text
from pos_loyalty.analytics import Measure

# pygal adds a finder for its map plugins (unused here) to sys.meta_path; it has only the old
# find_module API, so every later import warns (ImportWarning), which the tests turn into errors.
sys.meta_path[:] = [finder for finder in sys.meta_path
                    if type(finder).__name__ != "PluginImportFixer"]

WIDTH, HEIGHT = 800, 340
KINDS = {"line": pygal.Line, "bar": pygal.Bar, "stacked": pygal.StackedBar}
# Okabe and Ito's palette: told apart by colour-blind readers too.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442")
FONT = 'system-ui, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif'
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1b2430",
              foreground_strong="#1b2430", foreground_subtle="#d5dbe3", opacity=".9",
              opacity_hover="1", transition="0s", colors=COLOURS, font_family=FONT,
              label_font_size=12, major_label_font_size=12, legend_font_size=13,
              value_font_size=12, tooltip_font_size=12, no_data_font_size=20,
              guide_stroke_color="#d5dbe3", major_guide_stroke_color="#aab4c0",
              guide_stroke_dasharray="0", major_guide_stroke_dasharray="0")
# pygal's own style sheets, then lines thick enough to read (an image is its own document:
# its style needs no prefix, and the chart's ids stay the same from one answer to the next).
CSS = ("file://style.css", "file://graph.css", "inline:.series .line{stroke-width:2.5px}")
# What a chart's own response allows: its inline style sheet; no script, no request out.
CHART_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; "
                         "frame-ancestors 'none'")


@dataclass(frozen=True)
class ChartText:
    """What the chart says in the reader's words: its title and description (for screen
    readers), and the text shown when there is nothing to draw."""
    title: str
    description: str
    no_data: str


def plot_value(unit: str, value: Any, formats: Formats) -> float | None:
    """A value as a point on the chart. Only a position: money is drawn in major units, and
    written (axis labels, table) from its exact minor units."""
    if value is None:
        return None
    if unit == "minor":
        return float(major_units(value, formats))
    return float(value)


def axis_text(unit: str, plotted: float, formats: Formats) -> str:
    """A value of the y axis in the reader's language (money in the program's currency)."""
    if unit == "minor":
        return cell_text("minor", Decimal(str(plotted)).scaleb(formats.exponent), formats)
    if unit == "percent":
        return percent_text(Decimal(str(plotted)), formats.language)
    return cell_text("decimal", plotted, formats)


def chart_svg(measure: Measure, text: ChartText, formats: Formats, words: Words) -> str | None:
    """The measure's chart as SVG text; None for a measure shown as a table only."""
    if measure.chart == "table" or not measure.charted:
        return None
    label_unit = measure.units[0]
    if label_unit == "month":
        x_labels = [format_date(row[0], "MMM y", locale=formats.language)
                    for row in measure.rows]
    else:
        x_labels = [cell_text(label_unit, row[0], formats, words) for row in measure.rows]
    indexes = [measure.columns.index(key) for key in measure.charted]
    value_unit = measure.units[indexes[0]]
    chart = KINDS[measure.chart](
        style=STYLE, width=WIDTH, height=HEIGHT, explicit_size=True, js=[],
        disable_xml_declaration=True, no_prefix=True, css=CSS,
        # pygal leaves room under the chart for the legend rows of its own column count
        # (about the square root of the series): another count clips the last row.
        show_legend=True, legend_at_bottom=True,
        include_x_axis=True, x_label_rotation=30 if len(x_labels) > 8 else 0,
        truncate_label=-1, truncate_legend=-1, dots_size=3, margin=12, margin_right=36,
        no_data_text=text.no_data,
        value_formatter=lambda plotted: axis_text(value_unit, plotted, formats))
    chart.add_xml_filter(_described(text))
    chart.x_labels = x_labels
    for index in indexes:
        chart.add(words.column(measure.columns[index]),
                  [plot_value(measure.units[index], row[index], formats)
                   for row in measure.rows])
    return chart.render(is_unicode=True)


def _described(text: ChartText) -> Any:
    """An XML filter: the chart's title and description, and no comments nor the script
    pygal writes even without JavaScript files (its configuration, unused here)."""
    def describe(root: Any) -> Any:
        for child in list(root):
            if not isinstance(child.tag, str):   # a comment
                root.remove(child)
        for defs in root.iter("defs"):
            for script in defs.findall("script"):
                defs.remove(script)
        title = root.find("title")
        title.text = text.title
        description = root.makeelement("desc", {})
        description.text = text.description
        root.insert(list(root).index(title) + 1, description)
        root.attrib.pop("id", None)   # empty without a prefix
        root.set("role", "img")
        return root
    return describe
