"""The program's SMS texts, one language at a time, each previewed as a customer would read it
with what it costs in segments; and the quiet hours when balance SMS wait."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.settings import TABS, may_change, problem_sentence, require_change
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.notify.texts import language_of
from pos_loyalty.sms_templates import placeholders_of
from pos_loyalty.usecases import program_settings

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
QUIET_LABELS = {"quiet_hours_start": lazy_gettext("Quiet from"),
                "quiet_hours_end": lazy_gettext("Quiet until")}


@bp.get("/settings/sms")
@area("settings")
def settings_sms() -> Any:
    return _page(_language(request.args.get("lang")))


@bp.post("/settings/sms")
@area("settings")
def settings_sms_save() -> Any:
    """Preview the texts as typed, or save them."""
    language = _language(request.form.get("lang"))
    texts = _typed_texts(language)
    if request.form.get("action") == "preview":
        return _page(language, typed=texts)
    require_change("sms")
    try:
        changed = program_settings.save_sms_texts(g.program, language, texts, actor(), now())
    except LoyaltyError as error:
        field = str(error.details.get("field", ""))
        return _page(language, typed=texts, status=error.status,
                     error=problem_sentence(error, _("The text “%(name)s”", name=field)))
    if changed:
        flash(_("SMS texts saved: %(names)s.", names=", ".join(changed)), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("backoffice.settings_sms", lang=language))


@bp.post("/settings/sms/quiet-hours")
@area("settings")
def settings_sms_quiet_hours() -> Any:
    require_change("sms")
    language = _language(request.form.get("lang"))
    start, end = request.form.get("quiet_hours_start", ""), request.form.get("quiet_hours_end", "")
    try:
        program_settings.save_quiet_hours(g.program, start, end, actor(), now())
    except LoyaltyError as error:
        label = str(QUIET_LABELS.get(error.details.get("field"), ""))
        return _page(language, quiet=(start, end), status=error.status,
                     error=problem_sentence(error, label))
    flash(_("Quiet hours saved."), "success")
    return redirect(url_for("backoffice.settings_sms", lang=language))


def _language(asked: str | None) -> str:
    languages = program_settings.sms_languages()
    if asked is None:
        own = language_of(g.program, None)
        return own if own in languages else languages[0]
    if asked not in languages:
        abort(404)
    return asked


def _typed_texts(language: str) -> dict[str, str]:
    """The texts as typed; an emptied one goes back to the standard text."""
    _own, defaults = program_settings.sms_texts(g.program, language)
    return {name: (request.form.get(f"text_{name}") or "").strip() or default
            for name, default in defaults.items()}


def _page(language: str, typed: dict[str, str] | None = None, error: str = "",
          status: int = 200, quiet: tuple[str, str] | None = None) -> Any:
    own, defaults = program_settings.sms_texts(g.program, language)
    texts = typed if typed is not None else own
    previews = program_settings.preview_sms(g.program, language, texts, now())
    rows = [{"name": p.name, "text": texts[p.name], "preview": p,
             "standard": texts[p.name] == defaults[p.name],
             "placeholders": sorted(placeholders_of(p.name)),
             "problem": (problem_sentence(p.error, _("This text")) if p.error else "")}
            for p in previews]
    return render_template(
        "backoffice/settings_sms.html", tabs=TABS, language=language, rows=rows,
        languages=[(code, LANGUAGE_NAMES.get(code, code))
                   for code in program_settings.sms_languages()],
        quiet=quiet or program_settings.quiet_hours(g.program), error=error,
        can_change=may_change("sms")), status
