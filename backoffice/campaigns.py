"""Campaigns: the lists (running, scheduled, ended), a campaign's page, its form (every term of
the CLI's spec), changes and the end. Marketing and admin."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.offer_forms import (
    ID, field_errors, moment_text, split_moment, typed, whole_number,
)
from cashier_ui.forms import parse_amount
from cashier_ui.i18n import amount_field, current_language
from cashier_ui.messages import FormError
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError, ValidationFailed
from pos_loyalty.usecases import offers, offers_admin

WEEKDAYS = ((1, lazy_gettext("Monday")), (2, lazy_gettext("Tuesday")),
            (3, lazy_gettext("Wednesday")), (4, lazy_gettext("Thursday")),
            (5, lazy_gettext("Friday")), (6, lazy_gettext("Saturday")),
            (7, lazy_gettext("Sunday")))
STATUS_NAMES = {"running": lazy_gettext("running"), "scheduled": lazy_gettext("scheduled"),
                "spent": lazy_gettext("budget spent"), "ended": lazy_gettext("ended")}
# Beside each field, what the core refused in it (its own message is in English).
SENTENCES = {
    "name": lazy_gettext("Give a name of 1 to 120 characters."),
    "labels": lazy_gettext("Each label is 120 characters at most."),
    "starts": lazy_gettext("Give the start as a date, and a time if it does not start at "
                           "midnight."),
    "ends": lazy_gettext("Give the end as a date (that day included) or a date and time, "
                         "after the start; a running campaign must end later than now (or "
                         "end it)."),
    "weekdays": lazy_gettext("Tick days of the week, or none for every day."),
    "hours": lazy_gettext("Give both hours, different from each other (22:00 to 02:00 runs "
                          "over midnight), or neither."),
    "store_ids": lazy_gettext("Tick stores of this program, or none for every store."),
    "categories": lazy_gettext("Categories are words of 1 to 64 characters, separated by "
                               "commas."),
    "skus": lazy_gettext("SKUs are codes of 1 to 64 characters, separated by commas."),
    "tiers": lazy_gettext("Tick tiers of the program's ladder, or none for every customer."),
    "min_basket_minor": lazy_gettext("The minimum basket is an amount, e.g. 20.00, or "
                                     "empty."),
    "multiplier": lazy_gettext("The multiplier is a number above 1 and at most 10, e.g. 2 or "
                               "1.5."),
    "bonus_points": lazy_gettext("The bonus is a whole number of points from 1 to "
                                 "1,000,000."),
    "per_customer_limit": lazy_gettext("The limit is a whole number of times from 0 (no "
                                       "limit) to 1,000,000."),
    "budget_points": lazy_gettext("The budget is a whole number of points, 0 for none."),
    "campaign_term_locked": lazy_gettext(
        "This cannot change once the campaign has started: end it and create another."),
    "campaign_term_locked.budget_points": lazy_gettext(
        "A started campaign's budget may only rise; one started without a budget keeps "
        "none."),
}
COUNTS = ("per_customer_limit", "budget_points", "bonus_points")


@bp.get("/campaigns")
@area("offers")
def campaigns() -> Any:
    groups = offers_admin.campaign_groups(g.program, now(), current_language())
    return render_template("backoffice/campaigns.html", groups=groups,
                           status_names=STATUS_NAMES)


@bp.get("/campaigns/new")
@area("offers")
def campaign_new() -> Any:
    return _form_page(None, _blank_fields())


@bp.post("/campaigns/new")
@area("offers")
def campaign_create() -> Any:
    fields = _typed_fields(request.form)
    try:
        view = offers.create_campaign(g.program, _spec(fields), now(), actor())
    except ValidationFailed as error:
        return _form_page(None, fields, error)
    flash(_("Campaign %(name)s created.", name=view["name"]), "success")
    return redirect(url_for("backoffice.campaign_view", campaign_id=view["id"]))


@bp.get(f"/campaigns/<{ID}:campaign_id>")
@area("offers")
def campaign_view(campaign_id: int) -> Any:
    page = offers_admin.campaign_page(g.program, campaign_id, now(), current_language())
    choices = offers_admin.campaign_choices(g.program, now(), current_language())
    return render_template("backoffice/campaign.html", page=page, campaign=page.view,
                           choices=choices, status_names=STATUS_NAMES,
                           weekday_names=dict(WEEKDAYS))


@bp.get(f"/campaigns/<{ID}:campaign_id>/edit")
@area("offers")
def campaign_edit(campaign_id: int) -> Any:
    page = offers_admin.campaign_page(g.program, campaign_id, now(), current_language())
    return _form_page(page.view, _spec_fields(page.spec))


@bp.post(f"/campaigns/<{ID}:campaign_id>/edit")
@area("offers")
def campaign_update(campaign_id: int) -> Any:
    fields = _typed_fields(request.form)
    try:
        view = offers_admin.update_campaign(g.program, campaign_id, _spec(fields), now(),
                                            actor(), current_language())
    except ValidationFailed as error:
        page = offers_admin.campaign_page(g.program, campaign_id, now(), current_language())
        return _form_page(page.view, fields, error)
    flash(_("Campaign %(name)s saved.", name=view["name"]), "success")
    return redirect(url_for("backoffice.campaign_view", campaign_id=campaign_id))


@bp.post(f"/campaigns/<{ID}:campaign_id>/end")
@area("offers")
def campaign_end(campaign_id: int) -> Any:
    view = offers.end_campaign(g.program, campaign_id, now(), actor())
    flash(_("Campaign %(name)s ended: it gave %(points)s points.", name=view["name"],
            points=view["points_given"]), "success")
    return redirect(url_for("backoffice.campaign_view", campaign_id=campaign_id))


def _form_page(campaign: dict[str, Any] | None, fields: dict[str, Any],
               error: LoyaltyError | None = None) -> tuple[str, int]:
    errors, sentence = field_errors(error, SENTENCES) if error else ({}, "")
    choices = offers_admin.campaign_choices(g.program, now(), current_language())
    page = render_template("backoffice/campaign_form.html", campaign=campaign, fields=fields,
                           errors=errors, error=sentence, choices=choices, weekdays=WEEKDAYS)
    return page, error.status if error else 200


# --- the form's fields, as typed, from a spec, and to a spec --------------------------------------

def _blank_fields() -> dict[str, Any]:
    return {"effect": "multiplier", "weekdays": [], "store_ids": [], "tiers": []}


def _typed_fields(form: MultiDict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: typed(form, name) for name in (
        "name", "label_fr", "label_en", "starts_date", "starts_time", "ends_date",
        "ends_time", "hours_from", "hours_until", "categories", "skus", "min_basket",
        "effect", "multiplier", "bonus_points", "per_customer_limit", "budget_points")}
    for name in ("weekdays", "store_ids", "tiers"):
        fields[name] = [value[:64] for value in form.getlist(name)[:1000]]
    fields["first_purchase_only"] = form.get("first_purchase_only") == "on"
    return fields


def _spec_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """A campaign's spec as its form shows it."""
    starts_date, starts_time = split_moment(spec["starts"])
    ends_date, ends_time = split_moment(spec["ends"])
    hours_from, _sep, hours_until = spec["hours"].partition("-")
    labels = spec["labels"]
    return {
        "name": spec["name"], "label_fr": labels.get("fr", ""), "label_en": labels.get("en", ""),
        "starts_date": starts_date, "starts_time": starts_time, "ends_date": ends_date,
        "ends_time": ends_time, "hours_from": hours_from, "hours_until": hours_until,
        "weekdays": [str(day) for day in spec["weekdays"]],
        "store_ids": [str(store) for store in spec["store_ids"]], "tiers": spec["tiers"],
        "categories": ", ".join(spec["categories"]), "skus": ", ".join(spec["skus"]),
        "min_basket": (amount_field(spec["min_basket_minor"], g.program.currency)
                       if spec["min_basket_minor"] else ""),
        "first_purchase_only": spec["first_purchase_only"],
        "effect": "multiplier" if "multiplier" in spec else "fixed",
        "multiplier": spec.get("multiplier", ""), "bonus_points": spec.get("bonus_points", ""),
        "per_customer_limit": spec["per_customer_limit"] or "",
        "budget_points": spec["budget_points"] or ""}


def _spec(fields: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as the spec the CLI's TOML gives (`campaign_specs`)."""
    hours = (f"{fields['hours_from']}-{fields['hours_until']}"
             if fields["hours_from"] or fields["hours_until"] else "")
    spec: dict[str, Any] = {
        "name": fields["name"],
        "labels": {language: fields[f"label_{language}"] for language in ("fr", "en")},
        "starts": moment_text(fields["starts_date"], fields["starts_time"]),
        "ends": moment_text(fields["ends_date"], fields["ends_time"]),
        "weekdays": [int(day) if day.isascii() and day.isdigit() and len(day) <= 2 else day
                     for day in fields["weekdays"]],
        "hours": hours, "store_ids": fields["store_ids"],
        "categories": fields["categories"], "skus": fields["skus"], "tiers": fields["tiers"],
        "min_basket_minor": _amount(fields["min_basket"]),
        "first_purchase_only": fields["first_purchase_only"],
        "per_customer_limit": fields["per_customer_limit"],
        "budget_points": fields["budget_points"]}
    if fields["effect"] == "fixed":
        spec["bonus_points"] = fields["bonus_points"]
    else:
        spec["multiplier"] = fields["multiplier"].replace(",", ".")
    for name in COUNTS:
        if name in spec:
            count = whole_number(spec[name], name)
            spec[name] = "" if count is None else count
    return spec


def _amount(text: str) -> int:
    try:
        return parse_amount(text, g.program.currency, "min_basket") or 0
    except FormError:
        raise ValidationFailed("not an amount", field="min_basket_minor") from None
