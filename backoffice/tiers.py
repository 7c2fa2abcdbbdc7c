"""The tier ladder and its settings, set through the use case of `pos-loyalty tiers set`, with a
preview of how many accounts each tier would hold. Marketing and admin."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.offer_forms import typed, whole_number
from pos_loyalty.clock import now
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.usecases import offers, offers_admin

RUNG_FIELDS = ("key", "threshold", "multiplier", "name_fr", "name_en", "perk_fr", "perk_en")
# Empty rows under the ladder, to add tiers.
SPARE_ROWS = 2
MAX_ROWS = 50
MEASURES = {"points": lazy_gettext("points earned"),
            "money": lazy_gettext("money paid (thresholds in minor units: 15000 = 150.00)")}


@bp.get("/tiers")
@area("offers")
def tiers() -> Any:
    page = offers_admin.tiers_page(g.program)
    rows = [{"key": r["key"], "threshold": str(r["threshold"]), "multiplier": r["multiplier"],
             **{f"{kind}_{language}": r[f"{kind}s"].get(language, "")
                for kind in ("name", "perk") for language in ("fr", "en")}}
            for r in page.rungs]
    return _page(page, rows, {name: page.settings[name] for name in page.settings})


@bp.post("/tiers/preview")
@area("offers")
def tier_preview() -> Any:
    rows, settings = _typed(request.form)
    try:
        preview = offers_admin.preview_tiers(g.program, _given(rows, settings), now())
    except ValidationFailed as error:
        return _page(offers_admin.tiers_page(g.program), rows, settings, error)
    return _page(offers_admin.tiers_page(g.program), rows, settings, preview=preview)


@bp.post("/tiers")
@area("offers")
def tier_save() -> Any:
    rows, settings = _typed(request.form)
    try:
        result = offers.set_tiers(g.program, _given(rows, settings), now(), actor())
    except ValidationFailed as error:
        return _page(offers_admin.tiers_page(g.program), rows, settings, error)
    flash(_("Ladder saved; accounts moved to a new tier: %(moved)s.", moved=result.placed),
          "success")
    return redirect(url_for("backoffice.tiers"))


def _page(page: offers_admin.TiersPage, rows: list[dict[str, str]], settings: dict[str, Any],
          error: ValidationFailed | None = None,
          preview: dict[str | None, int] | None = None) -> tuple[str, int]:
    field = error.details.get("field") if error else None
    errors = {field: _sentence(field)} if isinstance(field, str) else {}
    detail = error.message if error else ""
    rows = rows + [dict.fromkeys(RUNG_FIELDS, "") for _spare in range(SPARE_ROWS)]
    html = render_template("backoffice/tiers.html", page=page, rows=rows, settings=settings,
                           errors=errors, detail=detail, preview=preview, measures=MEASURES,
                           error=_("Nothing was saved: see below.") if error else "")
    return html, error.status if error else 200


def _sentence(field: str) -> str:
    if field.startswith("threshold-"):
        return _("The threshold of tier %(row)s is a whole number above 0.",
                 row=int(field.split("-")[1]) + 1)
    if field == "tier_period_months":
        return _("The period is a whole number of months from 0 (the calendar year) to 120.")
    return _("Check the ladder: keys are lowercase words (letters, digits, - or _), "
             "thresholds whole numbers above 0 and all different, multipliers from 1 to 10.")


def _typed(form: MultiDict[str, str]) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The rows and settings as typed (empty rows left out), to parse and to show again."""
    columns = [[value.strip()[:200] for value in form.getlist(name)[:MAX_ROWS]]
               for name in RUNG_FIELDS]
    rows = [dict(zip(RUNG_FIELDS, values)) for values in zip(*columns)]
    settings = {"tier_measure": typed(form, "tier_measure"),
                "tier_period_months": typed(form, "tier_period_months"),
                "tier_lowered_by_returns": form.get("tier_lowered_by_returns") == "on",
                "bonuses_count_towards_tiers": form.get("bonuses_count_towards_tiers") == "on"}
    return [row for row in rows if any(row.values())], settings


def _given(rows: list[dict[str, str]], settings: dict[str, Any]) -> dict[str, Any]:
    """What `tiers set` reads from its TOML file."""
    rungs = []
    for position, row in enumerate(rows):
        rungs.append({
            "key": row["key"], "threshold": _whole(row["threshold"], f"threshold-{position}"),
            "multiplier": row["multiplier"].replace(",", ".") or "1",
            "names": {language: row[f"name_{language}"] for language in ("fr", "en")
                      if row[f"name_{language}"]},
            "perks": {language: row[f"perk_{language}"] for language in ("fr", "en")
                      if row[f"perk_{language}"]}})
    return {"tiers": rungs, "tier_measure": settings["tier_measure"],
            "tier_period_months": _whole(settings["tier_period_months"], "tier_period_months"),
            "tier_lowered_by_returns": settings["tier_lowered_by_returns"],
            "bonuses_count_towards_tiers": settings["bonuses_count_towards_tiers"]}


def _whole(text: str, field: str) -> int:
    number = whole_number(text, field)
    if number is None:
        raise ValidationFailed("missing", field=field)
    return number
