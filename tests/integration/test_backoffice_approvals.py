"""Approvals: support's adjustments above the limit wait for an admin, who approves them (the
points move then, exactly once, however many clicks or admins) or rejects them."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from backoffice_setup import NOW, add_staff, office, words
from pos_loyalty import adjustment_requests, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import AdjustmentAlreadyDecided
from pos_loyalty.models import Account, AdjustmentRequest, AuditEvent, Card, LedgerEntry, Program
from pos_loyalty.usecases import adjustment_approvals, customer_care

__all__ = ["office"]
# Asking writes no ledger entry: the staff id is only the scope of the form's key.
SUPPORT = customer_care.Staff("staff:support", 1, "support")


def account_of(card_number: str) -> Account:
    return db.session.scalar(select(Account).join(Card, Card.account_id == Account.id)
                             .where(Card.number == card_number)
                             .execution_options(populate_existing=True))


def program() -> Program:
    return programs.default_program()


def ask(card_number: str, points: int, reason: str = "lost receipt") -> int:
    """Support's adjustment above the limit, as the customer page makes it: its request id."""
    done = customer_care.adjust(program(), account_of(card_number).id, points, reason, SUPPORT,
                                NOW, f"key-{card_number}-{points}")
    assert done["applied"] is False
    return done["request_id"]


def request_row(request_id: int) -> AdjustmentRequest:
    return db.session.scalar(select(AdjustmentRequest).where(AdjustmentRequest.id == request_id)
                             .execution_options(populate_existing=True))


def adjustments_of(card_number: str) -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.account_id == account_of(card_number).id, LedgerEntry.kind == "adjust"))


def test_the_admin_sees_what_waits_and_approving_moves_the_points(shop, office):
    card = shop.customer(100, first_name="Léon")
    request_id = ask(card, 800, "store closed, promised bonus")
    admin = office("admin")
    listed = words(admin.get("/admin/approvals"))
    assert "Léon" in listed and "800" in listed and "store closed, promised bonus" in listed
    assert "staff:support" in listed
    assert "1 adjustments wait for your approval." in words(admin.get("/admin/"))
    page = admin.post(f"/admin/approvals/{request_id}/approve")
    assert page.status_code == 302
    assert account_of(card).available_points == 900
    row = request_row(request_id)
    entry = db.session.get(LedgerEntry, row.ledger_entry_id)
    assert (row.status, row.decided_by, row.decided_at) == ("approved", "staff:admin", NOW)
    assert (entry.points, entry.actor, entry.reason) == (800, "staff:admin",
                                                        "store closed, promised bonus")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "adjustment_approved"))
    assert event.before == {"status": "pending"}
    assert event.after["status"] == "approved" and event.after["requested_by"] == "staff:support"
    followed = words(admin.get(page.headers["Location"]))
    assert "Approved: 800 points adjusted, the balance is now 900 points." in followed
    assert "Nothing waits for approval." in followed


def test_a_request_approved_twice_applies_once(shop, office):
    card = shop.customer(100)
    request_id = ask(card, -600)
    admin = office("admin")
    assert admin.post(f"/admin/approvals/{request_id}/approve").status_code == 302
    again = admin.post(f"/admin/approvals/{request_id}/approve")
    assert again.status_code == 409
    assert "already approved or rejected" in words(again)
    assert account_of(card).available_points == -500
    assert adjustments_of(card) == 2   # the opening credit and the approved withdrawal


def test_two_admins_approving_at_the_same_moment_apply_it_once(shop, app):
    card = shop.customer(100)
    request_id = ask(card, 700)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def approve() -> None:
        with app.app_context():
            start.wait()
            try:
                adjustment_approvals.approve(program(), request_id, "staff:admin", NOW)
                outcomes.append("approved")
            except AdjustmentAlreadyDecided:
                outcomes.append("refused")
            finally:
                db.session.remove()
    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "refused"]
    assert account_of(card).available_points == 800
    assert adjustments_of(card) == 2


def test_a_rejected_request_moves_nothing_and_cannot_be_approved_after(shop, office):
    card = shop.customer(100)
    request_id = ask(card, 900)
    admin = office("admin")
    page = admin.post(f"/admin/approvals/{request_id}/reject")
    assert page.status_code == 302
    assert "Rejected: no point was moved." in words(admin.get(page.headers["Location"]))
    assert request_row(request_id).status == "rejected"
    assert admin.post(f"/admin/approvals/{request_id}/approve").status_code == 409
    assert account_of(card).available_points == 100 and adjustments_of(card) == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "adjustment_rejected"))
    assert (event.actor, event.before, event.after["status"]) == (
        "staff:admin", {"status": "pending"}, "rejected")


@pytest.mark.parametrize("role", ["support", "marketing", "finance"])
def test_only_an_admin_opens_or_decides_approvals(shop, office, role):
    card = shop.customer(100)
    request_id = ask(card, 600)
    user = office(role)
    assert user.get("/admin/approvals").status_code == 403
    assert user.post(f"/admin/approvals/{request_id}/approve").status_code == 403
    assert request_row(request_id).status == "pending"
    assert account_of(card).available_points == 100


def test_approvals_are_not_in_support_s_menu_but_customers_are(office):
    page = office("support").get("/admin/")
    assert 'href="/admin/customers"' in page.text
    assert 'href="/admin/approvals"' not in page.text
    assert 'href="/admin/approvals"' in office("admin").get("/admin/").text


def test_unknown_or_another_program_s_request_is_404(shop, office):
    other_program, _terminal, _key = shop.till.other_brand()

    def other_request() -> int:
        other = db.session.get(Program, other_program.id)
        account = Account(program_id=other.id, phone_e164="+33688888888", first_name="X")
        db.session.add(account)
        db.session.flush()
        return adjustment_requests.ask(other, account, 900, "elsewhere", "staff:x", NOW).id
    request_id = run_in_transaction(other_request)
    admin = office("admin")
    assert admin.post(f"/admin/approvals/{request_id}/approve").status_code == 404
    assert admin.post("/admin/approvals/99999/reject").status_code == 404
    assert admin.post("/admin/approvals/99999999999999999999/approve").status_code == 404
    assert request_row(request_id).status == "pending"


def test_a_request_for_a_customer_erased_meanwhile_is_refused_and_stays_pending(shop, office):
    card = shop.customer(100)
    request_id = ask(card, 650)
    customer_care.erase(program(), account_of(card).id, "staff:support", NOW)
    page = office("admin").post(f"/admin/approvals/{request_id}/approve")
    assert page.status_code == 409
    assert "erased" in words(page)
    assert request_row(request_id).status == "pending"
    assert account_of(card).available_points == 100


def test_the_limit_is_a_setting(shop, app):
    app.config["LOYALTY"]["back_office"]["support_adjust_limit_points"] = 50
    card = shop.customer(100)
    support = customer_care.Staff("staff:sam", add_staff("sam", "support"), "support")
    done = customer_care.adjust(program(), account_of(card).id, 51, "x", support, NOW, "k1")
    assert done["applied"] is False
    done = customer_care.adjust(program(), account_of(card).id, -50, "x", support, NOW, "k2")
    assert (done["applied"], done["available"]) == (True, 50)
