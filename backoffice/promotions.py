"""Promotions the phone app shows: list, create, change, end; one linked to a campaign shows the
campaign's real terms. Marketing and admin."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.offer_forms import ID, field_errors, moment_text, split_moment, typed
from cashier_ui.i18n import current_language
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import offers_admin
from pos_loyalty.usecases.offers_admin import PromotionForm

STATUS_NAMES = {"running": lazy_gettext("shown now"), "scheduled": lazy_gettext("scheduled"),
                "ended": lazy_gettext("ended")}
SENTENCES = {
    "title": lazy_gettext("Give a title of 1 to 200 characters, not the title of another "
                          "promotion starting at the same moment."),
    "body": lazy_gettext("The text is 2,000 characters at most."),
    "image_url": lazy_gettext("An image address starts with https:// (500 characters at "
                              "most)."),
    "starts": lazy_gettext("Give the start as a date, and a time if it does not start at "
                           "midnight."),
    "ends": lazy_gettext("Give the end as a date (that day included) or a date and time, "
                         "after the start."),
    "campaign_id": lazy_gettext("Choose one of the program's campaigns, or none."),
}
# The core names the end "ends_at" when it is not after the start.
ALIASES = {"ends_at": "ends", "starts_at": "starts"}


@bp.get("/promotions")
@area("offers")
def promotions() -> Any:
    return render_template("backoffice/promotions.html",
                           promotions=offers_admin.promotion_list(g.program, now()),
                           status_names=STATUS_NAMES)


@bp.get("/promotions/new")
@area("offers")
def promotion_new() -> Any:
    campaign = request.args.get("campaign", "")
    return _form_page(None, {"campaign_id": campaign if campaign.isdigit() else ""})


@bp.post("/promotions/new")
@area("offers")
def promotion_create() -> Any:
    fields = _typed_fields(request.form)
    try:
        promotion_id = offers_admin.create_promotion(g.program, _promotion(fields), now(),
                                                     actor())
    except LoyaltyError as error:
        return _form_page(None, fields, error)
    flash(_("Promotion created."), "success")
    return redirect(url_for("backoffice.promotion_view", promotion_id=promotion_id))


@bp.get(f"/promotions/<{ID}:promotion_id>")
@area("offers")
def promotion_view(promotion_id: int) -> Any:
    promotion = offers_admin.promotion_page(g.program, promotion_id, now(), current_language())
    return render_template("backoffice/promotion.html", promotion=promotion,
                           status_names=STATUS_NAMES)


@bp.get(f"/promotions/<{ID}:promotion_id>/edit")
@area("offers")
def promotion_edit(promotion_id: int) -> Any:
    promotion = offers_admin.promotion_page(g.program, promotion_id, now(), current_language())
    starts_date, starts_time = split_moment(promotion["starts"])
    ends_date, ends_time = split_moment(promotion["ends"])
    fields = {"title": promotion["title"], "body": promotion["body"],
              "image_url": promotion["image_url"],
              "campaign_id": str(promotion["campaign_id"] or ""), "starts_date": starts_date,
              "starts_time": starts_time, "ends_date": ends_date, "ends_time": ends_time}
    return _form_page(promotion, fields)


@bp.post(f"/promotions/<{ID}:promotion_id>/edit")
@area("offers")
def promotion_update(promotion_id: int) -> Any:
    fields = _typed_fields(request.form)
    try:
        offers_admin.update_promotion(g.program, promotion_id, _promotion(fields), now(),
                                      actor())
    except LoyaltyError as error:
        promotion = offers_admin.promotion_page(g.program, promotion_id, now(),
                                                current_language())
        return _form_page(promotion, fields, error)
    flash(_("Promotion saved."), "success")
    return redirect(url_for("backoffice.promotion_view", promotion_id=promotion_id))


@bp.post(f"/promotions/<{ID}:promotion_id>/end")
@area("offers")
def promotion_end(promotion_id: int) -> Any:
    offers_admin.end_promotion(g.program, promotion_id, now(), actor())
    flash(_("Promotion ended: the phone app no longer shows it."), "success")
    return redirect(url_for("backoffice.promotion_view", promotion_id=promotion_id))


def _form_page(promotion: dict[str, Any] | None, fields: dict[str, Any],
               error: LoyaltyError | None = None) -> tuple[str, int]:
    """The form; a refusal of the core beside its field (a NotFound promotion is a 404
    page, raised before any form)."""
    errors, sentence = field_errors(error, SENTENCES, ALIASES) if error else ({}, "")
    choices = offers_admin.campaign_choices(g.program, now(), current_language())
    page = render_template("backoffice/promotion_form.html", promotion=promotion,
                           fields=fields, errors=errors, error=sentence,
                           campaigns=choices.campaigns)
    return page, error.status if error else 200


def _typed_fields(form: MultiDict[str, str]) -> dict[str, Any]:
    return {name: typed(form, name) for name in (
        "title", "body", "image_url", "campaign_id", "starts_date", "starts_time",
        "ends_date", "ends_time")}


def _promotion(fields: dict[str, Any]) -> PromotionForm:
    campaign = fields["campaign_id"]
    campaign_id = None
    if campaign:   # anything but a campaign's id is no campaign: the core refuses it
        campaign_id = int(campaign) if campaign.isascii() and campaign.isdigit() \
            and len(campaign) < 10 else 0
    return PromotionForm(
        title=fields["title"], body=fields["body"], image_url=fields["image_url"],
        starts=moment_text(fields["starts_date"], fields["starts_time"]),
        ends=moment_text(fields["ends_date"], fields["ends_time"]), campaign_id=campaign_id)
