"""Card batches: issue blank cards for the printer, download their numbers as CSV, follow how
they are used. Admin and support."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, stream_with_context, \
    url_for

from backoffice.blueprint import actor, area, bp, setting
from backoffice.i18n import gettext as _
from backoffice.offer_forms import ID, typed, whole_number
from pos_loyalty.clock import now
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.usecases.card_batches import (
    batch_numbers, batch_use, issue_batch, list_batches,
)

# A spreadsheet would run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/card-batches")
@area("cards")
def card_batches() -> Any:
    return _list_page({"count": "", "label": ""})


def _list_page(fields: dict[str, str], errors: dict[str, str] | None = None,
               status: int = 200) -> tuple[str, int]:
    page_size = int(setting("page_size"))
    before_id = request.args.get("before", type=int)
    batches = list_batches(g.program, before_id, page_size)
    older = batches[-1].id if len(batches) == page_size else None
    html = render_template("backoffice/card_batches.html", batches=batches, older=older,
                           fields=fields, errors=errors or {},
                           maximum=int(setting("card_batch_max")),
                           error=_("Nothing was issued: see below.") if errors else "")
    return html, status


@bp.post("/card-batches")
@area("cards")
def card_batch_issue() -> Any:
    fields = {"count": typed(request.form, "count"), "label": typed(request.form, "label")}
    maximum = int(setting("card_batch_max"))
    try:
        count = whole_number(fields["count"], "count") or 0
        batch_id = issue_batch(g.program, count, fields["label"], now(), actor(), maximum)
    except ValidationFailed as error:
        field = error.details.get("field")
        sentence = (_("A batch is 1 to %(maximum)s cards.", maximum=maximum) if field == "count"
                    else _("A label is 100 characters at most, without control characters."))
        return _list_page(fields, {str(field): sentence}, error.status)
    flash(_("%(count)s cards issued: download their numbers for the printer.", count=count),
          "success")
    return redirect(url_for("backoffice.card_batch_view", batch_id=batch_id))


@bp.get(f"/card-batches/<{ID}:batch_id>")
@area("cards")
def card_batch_view(batch_id: int) -> Any:
    return render_template("backoffice/card_batch.html", batch=batch_use(g.program, batch_id))


@bp.get(f"/card-batches/<{ID}:batch_id>/cards.csv")
@area("cards")
def card_batch_csv(batch_id: int) -> Any:
    """One number a row with the batch's label, written out as it is read."""
    batch = batch_use(g.program, batch_id)   # 404 before anything is sent
    label = _cell(batch.label)

    def rows() -> Iterator[str]:
        yield _csv_rows([["card_number", "batch"]])
        for numbers in batch_numbers(g.program, batch_id):
            yield _csv_rows([number, label] for number in numbers)
    return Response(stream_with_context(rows()), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="card-batch-{batch_id}.csv"'})


def _csv_rows(rows: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
