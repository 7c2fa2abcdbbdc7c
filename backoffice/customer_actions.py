"""What support and admins do from a customer's page: adjust, block, cards, phone sessions,
a PIN-reset code, erase on request, export. Each one parses its form, calls one use case of
`customer_care` and comes back to the page with a sentence."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for

from backoffice.blueprint import actor, area, bp
from backoffice.customer_words import customer_words
from backoffice.customers import customer_page
from backoffice.i18n import gettext as _
from backoffice.messages import error_sentence
from cashier_ui import forms
from cashier_ui.i18n import current_language
from cashier_ui.i18n import points as points_text
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.payloads import MAX_ID, MAX_POINTS
from pos_loyalty.usecases import customer_care

CUSTOMER = f"/customers/<int(max={MAX_ID}):account_id>"
MAX_REASON = 500


def _back(account_id: int) -> Any:
    return redirect(url_for("backoffice.customer", account_id=account_id))


def _refused(account_id: int, error: LoyaltyError) -> Any:
    page, status = customer_page(account_id, error_sentence(error), error.status,
                                 request.form.to_dict())
    return page, status, error.http_headers()


def _reason(required: bool = True) -> str:
    return forms.parse_text(request.form.get("reason"), _("Reason"), required=required,
                            max_length=MAX_REASON)


def _staff() -> customer_care.Staff:
    return customer_care.Staff(actor(), g.staff.id, g.staff.role)


@bp.post(f"{CUSTOMER}/adjust")
@area("customers")
def customer_adjust(account_id: int) -> Any:
    try:
        change = forms.parse_whole(request.form.get("points"), _("Points"),
                                   minimum=-MAX_POINTS)
        done = customer_care.adjust(g.program, account_id, change, _reason(), _staff(), now(),
                                    request.form.get("idempotency_key"))
    except LoyaltyError as error:
        return _refused(account_id, error)
    if done["applied"]:
        flash(_("Points adjusted: the balance is now %(balance)s points.",
                balance=points_text(done["available"])), "success")
    else:
        flash(_("An adjustment of %(points)s points is above your limit of %(limit)s: it "
                "waits for an admin's approval; the balance has not changed.",
                points=points_text(done["points"]),
                limit=points_text(customer_care.support_limit())), "info")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/status")
@area("customers")
def customer_status(account_id: int) -> Any:
    status = request.form.get("status", "")
    try:
        customer_care.set_account_status(g.program, account_id, status, actor(),
                                         _reason(required=False), now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("The account is blocked: its points cannot be spent.") if status == "blocked"
          else _("The account is active again."), "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/cards")
@area("customers")
def customer_card_link(account_id: int) -> Any:
    try:
        number = customer_care.link_card(g.program, account_id,
                                         request.form.get("blank_card_number", ""), actor(),
                                         now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("Card %(number)s is now the customer's.", number=number), "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/cards/status")
@area("customers")
def customer_card_status(account_id: int) -> Any:
    status, number = request.form.get("status", ""), request.form.get("card_number", "")
    try:
        customer_care.set_card_status(g.program, account_id, number, status, actor(),
                                      _reason(required=False), now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("Card %(number)s is blocked.", number=number) if status == "blocked"
          else _("Card %(number)s works again.", number=number), "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/cards/replace")
@area("customers")
def customer_card_replace(account_id: int) -> Any:
    try:
        new_number = request.form.get("new_card_number", "").strip() or None
        number = customer_care.replace_card(g.program, account_id,
                                            request.form.get("card_number", ""), actor(),
                                            _reason(), now(), new_number)
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("The card is replaced: the points are now on card %(number)s.", number=number),
          "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/sessions/<int(max={MAX_ID}):session_id>/end")
@area("customers")
def customer_session_end(account_id: int, session_id: int) -> Any:
    try:
        customer_care.end_app_session(g.program, account_id, session_id, actor(), now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("The phone app session is ended: that phone must log in again."), "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/pin-code")
@area("customers")
def customer_pin_code(account_id: int) -> Any:
    try:
        customer_care.send_pin_reset_code(g.program, account_id, actor(), now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    flash(_("A PIN reset code is on its way to the customer's phone by SMS."), "success")
    return _back(account_id)


@bp.get(f"{CUSTOMER}/erase")
@area("customers")
def customer_erase_confirm(account_id: int) -> Any:
    return _erase_page(account_id)


def _erase_page(account_id: int, error: str = "", status: int = 200) -> tuple[str, int]:
    record = customer_care.customer(g.program, account_id, now(), current_language(),
                                    None, 1)
    return render_template("backoffice/customer_erase.html", record=record, error=error,
                           **customer_words()), status


@bp.post(f"{CUSTOMER}/erase")
@area("customers")
def customer_erase(account_id: int) -> Any:
    if request.form.get("confirm") != "yes":
        return _erase_page(account_id, _("Tick the box to confirm that the customer asked for "
                                         "it: nothing was erased."), 422)
    try:
        customer_care.erase(g.program, account_id, actor(), now())
    except LoyaltyError as error:
        return _erase_page(account_id, error_sentence(error), error.status)
    flash(_("The customer's personal data is erased; their points history is kept, "
            "anonymous."), "success")
    return _back(account_id)


@bp.post(f"{CUSTOMER}/export")
@area("customers")
def customer_export(account_id: int) -> Any:
    try:
        data = customer_care.export(g.program, account_id, actor(), now())
    except LoyaltyError as error:
        return _refused(account_id, error)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="customer-{account_id}.json"'})
