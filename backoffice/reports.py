"""Reports (admin, marketing, finance): the program's figures for a chosen period."""
from __future__ import annotations

from typing import Any

from flask import g, render_template

from backoffice.blueprint import area, bp
from backoffice.exports import chosen_period, period_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import program_report


@bp.get("/reports")
@area("reports")
def reports() -> Any:
    period = chosen_period()
    try:
        figures = program_report.figures(g.program, period["from"], period["to"], now())
    except LoyaltyError as error:
        return render_template("backoffice/reports.html", period=period, figures=None,
                               error=period_sentence(error),
                               wrong=error.details.get("field", "")), error.status
    return render_template("backoffice/reports.html", period=period, figures=figures, wrong="")
