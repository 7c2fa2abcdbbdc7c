"""Exports (admin, finance): members, ledger entries and sales of a period, as CSV files
streamed while they are read (`usecases.exports`)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, g, render_template, request, stream_with_context

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import lazy_gettext
from backoffice.messages import error_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.programs import local_day
from pos_loyalty.usecases import exports

PERIOD_SENTENCES = {
    "format": lazy_gettext("Write the dates as YYYY-MM-DD."),
    "order": lazy_gettext("The period ends before it starts."),
    "too_long": lazy_gettext("A period is at most %(most)s days."),
    "future": lazy_gettext("The period starts after today."),
}


def period_sentence(error: LoyaltyError) -> str:
    """A bad period in the page's words (the reports page says it the same way)."""
    sentence = PERIOD_SENTENCES.get(error.details.get("reason", ""))
    return str(sentence) % error.details if sentence else error_sentence(error)


def chosen_period() -> dict[str, str]:
    """The period the form sent, as typed; this month until today when none was sent."""
    today = local_day(g.program, now())
    return {"from": request.args.get("from", today.replace(day=1).isoformat())[:20],
            "to": request.args.get("to", today.isoformat())[:20]}


@bp.get("/exports", endpoint="exports")
@area("exports")
def exports_page() -> Any:
    return _page(chosen_period())


def _page(period: dict[str, str], error: str = "", status: int = 200,
          wrong: str = "") -> tuple[str, int]:
    return render_template("backoffice/exports.html", period=period, error=error,
                           wrong=wrong), status


@bp.get("/exports/members.csv")
@area("exports")
def export_members() -> Any:
    return _csv("members", lambda: exports.members_csv(g.program, actor(), now()))


@bp.get("/exports/ledger.csv")
@area("exports")
def export_ledger() -> Any:
    period = chosen_period()
    return _csv(f"ledger-{period['from']}-{period['to']}", lambda: exports.ledger_csv(
        g.program, period["from"], period["to"], actor(), now()), period)


@bp.get("/exports/sales.csv")
@area("exports")
def export_sales() -> Any:
    period = chosen_period()
    return _csv(f"sales-{period['from']}-{period['to']}", lambda: exports.sales_csv(
        g.program, period["from"], period["to"], actor(), now()), period)


def _csv(name: str, start: Callable[[], Iterator[str]],
         period: dict[str, str] | None = None) -> Any:
    """The file, streamed; a bad period is answered on the page (422), before any byte."""
    try:
        pieces = start()
    except LoyaltyError as error:
        return _page(period or chosen_period(), period_sentence(error), error.status,
                     wrong=str(error.details.get("field", "")))
    file_name = f"{g.program.slug}-{name}-{local_day(g.program, now()).isoformat()}.csv"
    return Response(stream_with_context(pieces), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{file_name}"'})

