"""The audit page: every manual change, newest first, filtered by who, what or which thing."""
from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from backoffice.blueprint import area, bp, setting
from pos_loyalty.usecases import back_office_overview


@bp.get("/audit")
@area("audit")
def audit_events() -> Any:
    filters = {name: request.args.get(name, "").strip()[:120]
               for name in ("actor", "action", "target")}
    before_id = request.args.get("before", type=int)
    page_size = int(setting("page_size"))
    events = back_office_overview.audit_page(g.program, before_id, page_size, **filters)
    older = events[-1].id if len(events) == page_size else None
    return render_template("backoffice/audit.html", events=events, filters=filters,
                           older=older)
