"""The app's look: the program's name, the app's name and colours, the logo (uploaded into the
database, served to anyone at a URL that never changes its content, so the phone caches it)."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from backoffice.blueprint import PUBLIC_ENDPOINTS, actor, area, bp, setting
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.settings import TABS, may_change, problem_sentence, require_change
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import program_settings

LOOK_LABELS = {"name": lazy_gettext("Program name"), "app_name": lazy_gettext("App name"),
               "primary_color": lazy_gettext("Main colour"),
               "secondary_color": lazy_gettext("Second colour"), "logo": lazy_gettext("Logo")}
# A logo's URL names one upload: its content never changes, so anyone may keep it.
LOGO_CACHE_CONTROL = "public, max-age=31536000, immutable"
PUBLIC_ENDPOINTS.add("backoffice.settings_logo_file")


@bp.get("/settings/branding")
@area("settings")
def settings_branding() -> Any:
    return _page()


@bp.post("/settings/branding")
@area("settings")
def settings_branding_save() -> Any:
    require_change("branding")
    form = request.form
    try:
        program_settings.save_look(g.program, form.get("name", ""), form.get("app_name", ""),
                                   form.get("primary_color", ""),
                                   form.get("secondary_color", ""), actor(), now())
    except LoyaltyError as error:
        return _page(typed=form, error=_look_error(error), status=error.status)
    flash(_("The app's look is saved."), "success")
    return redirect(url_for("backoffice.settings_branding"))


@bp.post("/settings/branding/logo")
@area("settings")
def settings_branding_save_logo() -> Any:
    require_change("branding")
    upload = request.files.get("logo")
    limit = int(setting("logo_max_bytes"))
    content = upload.stream.read(limit + 1) if upload is not None else b""
    try:
        program_settings.upload_logo(g.program, content, limit, _logo_url, actor(), now())
    except LoyaltyError as error:
        return _page(error=_look_error(error), status=error.status)
    flash(_("The new logo is saved: the app shows it from now on."), "success")
    return redirect(url_for("backoffice.settings_branding"))


@bp.post("/settings/branding/logo/remove")
@area("settings")
def settings_branding_save_no_logo() -> Any:
    require_change("branding")
    program_settings.remove_logo(g.program, actor(), now())
    flash(_("The logo is removed: the app shows the standard one."), "success")
    return redirect(url_for("backoffice.settings_branding"))


@bp.get("/logo/<slug>/<int:logo_id>.<extension>")
def settings_logo_file(slug: str, logo_id: int, extension: str) -> Any:
    """A program's logo for its phone app: public, no login."""
    logo = program_settings.logo_file(slug, logo_id)
    if logo is None or logo.extension != extension:
        abort(404)
    response = Response(logo.content, mimetype=logo.content_type)
    response.headers["Cache-Control"] = LOGO_CACHE_CONTROL
    response.headers["Content-Disposition"] = "inline"
    response.set_etag(logo.sha256)
    return response.make_conditional(request)


def _logo_url(logo_id: int, extension: str) -> str:
    """Where the phone loads the logo: under the service's public address when the config
    names one ([sms] public_base_url), else the address this page was opened at."""
    public = str(current_app.config["LOYALTY"]["sms"]["public_base_url"]).rstrip("/")
    path = url_for("backoffice.settings_logo_file", slug=g.program.slug, logo_id=logo_id,
                   extension=extension, _external=not public)
    return public + path if public else path


def _look_error(error: LoyaltyError) -> str:
    problem = error.details.get("problem")
    if problem == "logo_too_large":
        return _("The logo is too large: at most %(size)s kB.",
                 size=int(setting("logo_max_bytes")) // 1024)
    if problem == "logo_type":
        return _("The logo must be a PNG, JPEG or WebP image.")
    if problem == "logo_missing":
        return _("Choose an image file for the logo.")
    label = LOOK_LABELS.get(error.details.get("field"), "")
    if problem == "app_name":
        return _("%(field)s is too long: at most %(count)s characters.", field=label,
                 count=error.details["high"])
    if error.details.get("field") == "name":
        return _("A program needs a name of at most 200 characters.")
    return problem_sentence(error, str(label))


def _page(typed: Any = None, error: str = "", status: int = 200) -> Any:
    look = program_settings.look_of(g.program)
    shown = {key: (typed.get(key, "") if typed is not None else value)
             for key, value in look.items()}
    return render_template("backoffice/settings_branding.html", tabs=TABS, look=shown,
                           labels=LOOK_LABELS, logo_url=program_settings.logo_url(g.program),
                           max_kb=int(setting("logo_max_bytes")) // 1024, error=error,
                           can_change=may_change("branding")), status
