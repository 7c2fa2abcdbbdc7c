"""Manager pages: adjust points, block or unblock, replace a lost card, void, shift report,
today's campaigns."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for

from cashier_ui import forms
from cashier_ui.blueprint import actor, bp, manager_required
from cashier_ui.i18n import gettext as _
from cashier_ui.i18n import current_language, points
from cashier_ui.messages import FormError, error_sentence
from cashier_ui.offer_texts import campaign_status, campaign_terms
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.usecases import checkout, customers, offers, store_reports
from pos_loyalty.payloads import MAX_POINTS
from pos_loyalty.programs import local_day


@bp.get("/manage")
@manager_required
def manage() -> Any:
    return _manage_page()


def _manage_page(error: str = "", status: int = 200) -> tuple[str, int]:
    customer = None
    if session.get("card"):
        try:
            customer = customers.look_up_card(g.program, session["card"], now())
        except LoyaltyError:
            customer = None
    today = local_day(g.program, now())
    today_sales = store_reports.sales_of_day(g.program, g.store.id, today, terminal_id=g.terminal.id)
    return render_template("cashier/manage.html", customer=customer, today_sales=today_sales,
                           campaigns=_campaigns_today(), error=error,
                           currency=g.program.currency), status


def _campaigns_today() -> list[dict[str, Any]]:
    """The campaigns that run at some moment of today in this store, with their terms."""
    language = current_language()
    shown = offers.campaigns_today(g.program, g.store.id, now(), language)
    tier_names = {rung["key"]: rung["name"] for rung in offers.ladder(g.program, language)["tiers"]}
    return [{"label": campaign["label"], "status": campaign_status(campaign),
             "terms": campaign_terms(campaign, tier_names, g.program.currency)}
            for campaign in shown]


def _customer_card() -> str:
    number = session.get("card")
    if not number:
        raise FormError(_("Identify the customer first."))
    return number


@bp.post("/manage/adjust")
@manager_required
def adjust() -> Any:
    try:
        number = _customer_card()
        change = forms.parse_whole(request.form.get("points"), _("Points"), minimum=-MAX_POINTS)
        reason = forms.parse_text(request.form.get("reason"), _("Reason"), max_length=500)
        done = customers.adjust_points(g.program, number, change, reason, actor(), now(),
                                       staff_id=g.staff.id, store_id=g.store.id)
    except LoyaltyError as error:
        return _manage_page(error_sentence(error), error.status)
    flash(_("Points adjusted: the balance is now %(balance)s points.",
            balance=points(done["available"])), "success")
    return redirect(url_for("cashier.manage"))


@bp.post("/manage/status")
@manager_required
def set_status() -> Any:
    status = request.form.get("status", "")
    try:
        reason = forms.parse_text(request.form.get("reason"), _("Reason"), required=False,
                                  max_length=500)
        customers.set_account_status(g.program, _customer_card(), status, actor(), reason,
                                     now())
    except LoyaltyError as error:
        return _manage_page(error_sentence(error), error.status)
    flash(_("The account is blocked: its points cannot be spent.") if status == "blocked"
          else _("The account is active again."), "success")
    return redirect(url_for("cashier.manage"))


@bp.post("/manage/replace")
@manager_required
def replace_card() -> Any:
    try:
        reason = forms.parse_text(request.form.get("reason"), _("Reason"), max_length=500)
        new_number = request.form.get("new_card_number", "").strip() or None
        number = customers.replace_card(g.program, _customer_card(), actor(), reason, now(),
                                        new_number)
    except LoyaltyError as error:
        return _manage_page(error_sentence(error), error.status)
    session["card"] = number
    flash(_("The card is replaced: the points are now on card %(number)s.", number=number),
          "success")
    return redirect(url_for("cashier.manage"))


@bp.post("/sales/<int:sale_id>/void")
@manager_required
def void(sale_id: int) -> Any:
    try:
        done = checkout.void_sale(g.program, g.terminal, sale_id, now(), staff_id=g.staff.id)
    except LoyaltyError as error:
        return _manage_page(error_sentence(error), error.status)
    flash(_("Sale voided: %(taken)s points taken back, %(given)s points given back.",
            taken=points(done["points_reversed"]), given=points(done["points_restored"])),
          "success")
    return redirect(url_for("cashier.manage"))


@bp.get("/manage/report")
@manager_required
def shift_report() -> Any:
    today = local_day(g.program, now())
    try:
        day = dt.date.fromisoformat(request.args.get("day", "")) if request.args.get("day") \
            else today
    except ValueError:
        day = today
    report = store_reports.shift_report(g.program, g.store.id, day)
    return render_template("cashier/report.html", report=report, day=day, today=today,
                           currency=g.program.currency)
