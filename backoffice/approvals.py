"""Approvals: support's adjustments above the limit, waiting for an admin to approve (the
points move then, once) or reject them."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, url_for

from backoffice.blueprint import actor, area, bp, setting
from backoffice.customer_words import customer_words
from backoffice.i18n import gettext as _
from backoffice.messages import error_sentence
from cashier_ui.i18n import points as points_text
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.payloads import MAX_ID
from pos_loyalty.usecases import adjustment_approvals

REQUEST = f"/approvals/<int(max={MAX_ID}):request_id>"


@bp.get("/approvals")
@area("approvals")
def approvals() -> Any:
    return _approvals_page()


def _approvals_page(error: str = "", status: int = 200) -> tuple[str, int]:
    waiting = adjustment_approvals.waiting(g.program, int(setting("page_size")))
    return render_template("backoffice/approvals.html", waiting=waiting, error=error,
                           **customer_words()), status


@bp.post(f"{REQUEST}/approve")
@area("approvals")
def approval_approve(request_id: int) -> Any:
    try:
        done = adjustment_approvals.approve(g.program, request_id, actor(), now(),
                                            staff_id=g.staff.id)
    except LoyaltyError as error:
        page, status = _approvals_page(error_sentence(error), error.status)
        return page, status, error.http_headers()
    flash(_("Approved: %(points)s points adjusted, the balance is now %(balance)s points.",
            points=points_text(done["points"]), balance=points_text(done["available"])),
          "success")
    return redirect(url_for("backoffice.approvals"))


@bp.post(f"{REQUEST}/reject")
@area("approvals")
def approval_reject(request_id: int) -> Any:
    try:
        adjustment_approvals.reject(g.program, request_id, actor(), now())
    except LoyaltyError as error:
        page, status = _approvals_page(error_sentence(error), error.status)
        return page, status, error.http_headers()
    flash(_("Rejected: no point was moved."), "success")
    return redirect(url_for("backoffice.approvals"))
