"""The first page after signing in: what this role can open, and what waits for an admin."""
from __future__ import annotations

from typing import Any

from flask import g, render_template

from backoffice.blueprint import bp
from pos_loyalty.usecases import back_office_overview


@bp.get("/")
def home() -> Any:
    return render_template("backoffice/home.html",
                           overview=back_office_overview.overview(g.program, g.staff.role))
