"""Customers in the back office: support finds a customer by phone, card, name or e-mail, sees
everything on one page and acts through the core: adjust (within its limit, once per form),
block, cards, phone sessions, a PIN-reset code, erase on request, export."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from backoffice_setup import NOW, field, office, words
from pos_loyalty import accounts, app_sessions, customer_data, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import (
    Account, AdjustmentRequest, AuditEvent, Card, LedgerEntry, MobileSession, OneTimeCode,
    OutboxMessage, Program,
)
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import customer_care

__all__ = ["office"]


def account_of(card_number: str) -> Account:
    return db.session.scalar(select(Account).join(Card, Card.account_id == Account.id)
                             .where(Card.number == card_number)
                             .execution_options(populate_existing=True))


def available(card_number: str) -> int:
    return account_of(card_number).available_points


def ledger_count(account_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.account_id == account_id))


def last_audit(action: str) -> AuditEvent:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id.desc()).limit(1))


def program() -> Program:
    return programs.default_program()


def blank_card() -> str:
    return run_in_transaction(lambda: accounts.issue_cards(program(), 1, NOW))[0]


def page_of(user, card_number: str, **query):
    return user.get(f"/admin/customers/{account_of(card_number).id}", query_string=query)


def adjust(user, card_number: str, points: str, reason: str = "goodwill", key: str | None = None):
    account_id = account_of(card_number).id
    page = user.get(f"/admin/customers/{account_id}")
    return user.post(f"/admin/customers/{account_id}/adjust",
                     {"points": points, "reason": reason,
                      "idempotency_key": key or field(page, "idempotency_key")})


# --- search -------------------------------------------------------------------------------------

def test_support_finds_a_customer_by_phone_typed_the_national_way(shop, office):
    card = shop.customer(120, first_name="Camille")
    national = "0" + shop.till.last_phone[3:]
    page = office("support").get("/admin/customers", query_string={"q": national})
    assert page.status_code == 200
    assert f"Camille {shop.till.last_phone}" in words(page)
    assert card in words(page)


def test_support_finds_a_customer_by_card_number_with_spaces(shop, office):
    card = shop.customer(first_name="Inès")
    spaced = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    page = office("support").get("/admin/customers", query_string={"q": spaced})
    assert "Inès" in words(page)


def test_first_names_match_by_their_beginning_whatever_the_case_page_by_page(shop, office, app):
    app.config["LOYALTY"]["back_office"]["page_size"] = 2
    for name in ("Marie", "marianne", "MARIUS", "Martin", "Zoé"):
        shop.customer(first_name=name)
    user = office("support")
    first = user.get("/admin/customers", query_string={"q": "mari"})
    assert "Marie" in words(first) and "marianne" in words(first)
    assert "MARIUS" not in words(first) and "Martin" not in words(first)
    after = first.text.split("after=")[1].split('"')[0]
    second = user.get("/admin/customers", query_string={"q": "mari", "after": after})
    assert "MARIUS" in words(second) and "Marie" not in words(second)
    assert "Next page" not in words(second)


def test_an_email_matches_whole_whatever_the_case(shop, office):
    card = shop.customer(first_name="Lou")
    run_in_transaction(lambda: customer_data.update_profile(
        program(), account_of(card), {"email": "Lou.Martin@Example.org"}, NOW))
    user = office("support")
    assert "Lou" in words(user.get("/admin/customers", query_string={"q": "lou.martin@example.ORG"}))
    partial = user.get("/admin/customers", query_string={"q": "lou.martin@example"})
    assert "No customer matches" in words(partial)


def test_a_search_never_finds_another_program_s_customers(shop, office):
    shop.till.other_brand()
    user = office("support")
    page = user.get("/admin/customers", query_string={"q": "%"})
    assert "No customer matches" in words(page)
    other = run_in_transaction(lambda: _other_customer())
    assert user.get(f"/admin/customers/{other}").status_code == 404
    assert user.get("/admin/customers", query_string={"q": "0699999999"}).status_code == 200
    assert "No customer matches" in words(user.get("/admin/customers",
                                                   query_string={"q": "0699999999"}))


def _other_customer() -> int:
    other = db.session.scalar(select(Program).where(Program.slug == "other"))
    card = accounts.create_customer(other, "+33699999999", "1234", NOW, app_hasher(),
                                    channel="cli", first_name="Elsewhere")
    return card.account_id


def test_an_erased_customer_is_found_by_card_and_shown_as_erased(shop, office):
    card = shop.customer(50, first_name="Paul")
    account_id = account_of(card).id
    customer_care.erase(program(), account_id, "staff:support", NOW)
    page = office("support").get("/admin/customers", query_string={"q": card})
    assert f"Erased customer #{account_id}" in words(page)
    assert "Paul" not in words(page)


def test_a_blank_card_is_named_as_blank(shop, office):
    blank = blank_card()
    page = office("support").get("/admin/customers", query_string={"q": blank})
    assert f"Card {blank} is blank: no customer has it yet." in words(page)


# --- the customer page --------------------------------------------------------------------------

def test_the_page_shows_balance_lots_ledger_sales_returns_sms_sessions_and_cards(shop, office):
    card = shop.customer(300, first_name="Léa")
    sale = shop.sell(card, 2000, receipt="R-778")
    shop.return_sale(sale["sale_id"], 1000)
    account = account_of(card)
    run_in_transaction(lambda: app_sessions.start_session(program(), account, NOW))
    page = page_of(office("support"), card)
    text = words(page)
    assert page.status_code == 200
    assert f"Phone {shop.till.last_phone}" in text
    assert f"Available points {account.available_points}" in text
    assert "R-778" in text and "Boulangerie Lyon" in text
    assert "€10.00 returned, 10 points taken back" in text
    assert "Correction" in text and "test set-up" in text   # the ledger, with the reason
    assert "balance" in text and "waiting" in text          # the SMS, by kind and status
    assert "open End" in text                               # the phone session
    assert card in text and "plastic" in text


def test_the_ledger_is_paged_newest_first(shop, office, app):
    app.config["LOYALTY"]["back_office"]["page_size"] = 2
    card = shop.customer(first_name="Nina")
    for points in (11, 22, 33):
        shop.adjust(card, points, reason=f"step {points}")
    user = office("support")
    first = words(page_of(user, card))
    assert "step 33" in first and "step 22" in first and "step 11" not in first
    cursor = page_of(user, card).text.split("entries_before=")[1].split('"')[0]
    older = words(page_of(user, card, entries_before=cursor))
    assert "step 11" in older and "step 33" not in older


@pytest.mark.parametrize("role", ["marketing", "finance"])
def test_only_support_and_admin_open_customers(shop, office, role):
    card = shop.customer()
    user = office(role)
    assert user.get("/admin/customers").status_code == 403
    assert page_of(user, card).status_code == 403


def test_an_unknown_customer_is_404_and_a_huge_id_too(office):
    user = office("support")
    assert user.get("/admin/customers/999999").status_code == 404
    assert user.get("/admin/customers/99999999999999999999").status_code == 404
    assert user.get("/admin/customers", query_string={"q": "Ann", "after": "9" * 30}
                    ).status_code == 200


# --- adjusting ----------------------------------------------------------------------------------

def test_support_adjusts_within_the_limit_at_once_audited(shop, office):
    card = shop.customer(100)
    user = office("support")
    page = adjust(user, card, "500", "missing points on receipt 12")
    assert page.status_code == 302
    assert available(card) == 600
    event = last_audit("points_adjusted")
    assert (event.actor, event.before, event.after) == ("staff:support", {"available": 100},
                                                         {"available": 600})
    assert event.details["reason"] == "missing points on receipt 12"
    followed = user.get(page.headers["Location"])
    assert "Points adjusted: the balance is now 600 points." in words(followed)


def test_a_double_click_on_adjust_adjusts_once(shop, office):
    card = shop.customer(100)
    user = office("support")
    first = adjust(user, card, "-40", "double click", key="form-key-1")
    second = adjust(user, card, "-40", "double click", key="form-key-1")
    assert first.status_code == second.status_code == 302
    assert available(card) == 60
    assert ledger_count(account_of(card).id) == 2   # the opening credit and one withdrawal


def test_support_adjustment_above_the_limit_waits_for_an_admin(shop, office):
    card = shop.customer(100)
    entries = ledger_count(account_of(card).id)
    user = office("support")
    page = adjust(user, card, "-501", "fraud suspected")
    assert page.status_code == 302
    assert available(card) == 100 and ledger_count(account_of(card).id) == entries
    request = db.session.scalar(select(AdjustmentRequest))
    assert (request.points, request.reason, request.status, request.requested_by) == (
        -501, "fraud suspected", "pending", "staff:support")
    followed = words(user.get(page.headers["Location"]))
    assert "above your limit of 500: it waits for an admin's approval" in followed
    assert "waiting for an admin" in followed


def test_an_admin_adjusts_above_the_support_limit_at_once(shop, office):
    card = shop.customer(100)
    adjust(office("admin"), card, "2000", "partner gift")
    assert available(card) == 2100
    assert db.session.scalar(select(func.count()).select_from(AdjustmentRequest)) == 0


@pytest.mark.parametrize("points, reason, sentence", [
    ("ten", "x", "Points must be a whole number."),
    ("0", "x", "Adjust by a non-zero number of points."),
    ("99999999999999999999", "x", "Points must be between"),
    ("5", "", "Reason is required."),
])
def test_a_bad_adjustment_is_refused_with_the_form_as_typed(shop, office, points, reason,
                                                             sentence):
    card = shop.customer(100)
    page = adjust(office("support"), card, points, reason)
    assert page.status_code == 422
    assert sentence in words(page)
    assert field(page, "points") == points
    assert available(card) == 100


def test_finance_cannot_adjust(shop, office):
    card = shop.customer(100)
    page = office("finance").post(f"/admin/customers/{account_of(card).id}/adjust",
                                  {"points": "5", "reason": "x", "idempotency_key": "k"})
    assert page.status_code == 403
    assert available(card) == 100


# --- account, cards, sessions, codes ------------------------------------------------------------

def test_support_blocks_and_unblocks_an_account_audited(shop, office):
    card = shop.customer(100)
    account_id = account_of(card).id
    user = office("support")
    page = user.post(f"/admin/customers/{account_id}/status",
                     {"status": "blocked", "reason": "stolen phone"})
    assert page.status_code == 302 and account_of(card).status == "blocked"
    event = last_audit("account_blocked")
    assert (event.before, event.after) == ({"status": "active"}, {"status": "blocked"})
    user.post(f"/admin/customers/{account_id}/status", {"status": "active"})
    assert account_of(card).status == "active"
    assert user.post(f"/admin/customers/{account_id}/status",
                     {"status": "closed"}).status_code == 422


def test_support_links_a_blank_card_and_not_someone_else_s(shop, office):
    card, other = shop.customer(), shop.customer()
    blank = blank_card()
    user = office("support")
    account_id = account_of(card).id
    page = user.post(f"/admin/customers/{account_id}/cards", {"blank_card_number": blank})
    assert page.status_code == 302
    assert account_of(blank).id == account_id
    assert last_audit("card_linked").after == {"status": "active",
                                               "account": f"account:{account_id}"}
    refused = user.post(f"/admin/customers/{account_id}/cards", {"blank_card_number": other})
    assert refused.status_code == 409
    assert "This card already belongs to a customer." in words(refused)
    assert field(refused, "blank_card_number") == other


def test_blocking_one_card_leaves_the_account_and_its_other_cards(shop, office):
    card = shop.customer(100)
    user = office("support")
    account_id = account_of(card).id
    user.post(f"/admin/customers/{account_id}/cards/replace",
              {"card_number": card, "reason": "lost"})
    new = db.session.scalar(select(Card.number).where(Card.account_id == account_id,
                                                      Card.status == "active"))
    assert db.session.scalar(select(Card.status).where(Card.number == card)) == "replaced"
    assert available(new) == 100
    page = user.post(f"/admin/customers/{account_id}/cards/status",
                     {"card_number": new, "status": "blocked"})
    assert page.status_code == 302
    assert db.session.scalar(select(Card.status).where(Card.number == new)) == "blocked"
    assert account_of(new).status == "active"
    replaced = user.post(f"/admin/customers/{account_id}/cards/status",
                         {"card_number": card, "status": "active"})
    assert replaced.status_code == 403   # a replaced card stays replaced
    other = shop.customer()
    assert user.post(f"/admin/customers/{account_id}/cards/status",
                     {"card_number": other, "status": "blocked"}).status_code == 404


def test_support_ends_one_phone_session(shop, office):
    card = shop.customer()
    account = account_of(card)
    run_in_transaction(lambda: app_sessions.start_session(program(), account, NOW))
    session_id = db.session.scalar(select(MobileSession.id))
    user = office("support")
    page = user.post(f"/admin/customers/{account.id}/sessions/{session_id}/end")
    assert page.status_code == 302
    session = db.session.scalar(select(MobileSession).execution_options(populate_existing=True))
    assert (session.revoked_at, session.revoked_reason) == (NOW, "logout")
    other = shop.customer()
    assert user.post(f"/admin/customers/{account_of(other).id}/sessions/{session_id}/end"
                     ).status_code == 404


def test_a_pin_reset_code_is_texted_as_the_app_does_within_its_limits(shop, office, app):
    card = shop.customer()
    account = account_of(card)
    user = office("support")
    for _ in range(app.config["LOYALTY"]["mobile"]["otp_max_per_phone_per_hour"]):
        assert user.post(f"/admin/customers/{account.id}/pin-code").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)
                             .where(OneTimeCode.purpose == "pin_reset")) == 5
    assert db.session.scalar(select(OutboxMessage.kind).where(
        OutboxMessage.account_id == account.id).order_by(OutboxMessage.id.desc()).limit(1)
    ) == "otp"
    refused = user.post(f"/admin/customers/{account.id}/pin-code")
    assert refused.status_code == 429
    page = words(page_of(user, card))
    assert "one-time code" in page
    assert not any(code.isdigit() and len(code) == 6 for code in page.split())


# --- erase and export ---------------------------------------------------------------------------

def test_erasing_needs_the_box_ticked_then_erases_and_freezes_the_account(shop, office):
    card = shop.customer(100, first_name="Jade")
    account_id = account_of(card).id
    user = office("support")
    assert "Erase Jade's personal data" in words(user.get(f"/admin/customers/{account_id}/erase"))
    unticked = user.post(f"/admin/customers/{account_id}/erase")
    assert unticked.status_code == 422 and account_of(card).first_name == "Jade"
    page = user.post(f"/admin/customers/{account_id}/erase", {"confirm": "yes"})
    assert page.status_code == 302
    account = account_of(card)
    assert (account.first_name, account.phone_e164, account.status) == ("", None, "closed")
    assert last_audit("account_erased").actor == "staff:support"
    erased = words(page_of(user, card))
    assert "personal data was erased" in erased and "Adjust points" not in erased


def test_an_erased_customer_cannot_be_adjusted(shop, office):
    card = shop.customer(100)
    account_id = account_of(card).id
    customer_care.erase(program(), account_id, "staff:support", NOW)
    user = office("support")
    page = user.post(f"/admin/customers/{account_id}/adjust",
                     {"points": "5", "reason": "x", "idempotency_key": "k-erased"})
    assert page.status_code == 409
    assert "erased" in words(page)
    assert available(card) == 100


def test_the_export_is_the_phone_s_export_as_a_download_and_is_audited(shop, office):
    card = shop.customer(100, first_name="Rose")
    account = account_of(card)
    page = office("support").post(f"/admin/customers/{account.id}/export")
    assert page.status_code == 200
    assert page.headers["Content-Disposition"] == (
        f'attachment; filename="customer-{account.id}.json"')
    data = json.loads(page.data)
    expected = run_in_transaction(lambda: customer_data.export(program(), account, NOW))
    assert data == json.loads(json.dumps(expected))
    assert data["profile"]["first_name"] == "Rose"
    assert last_audit("account_exported").actor == "staff:support"


def test_the_customer_page_reads_in_french(shop, office):
    card = shop.customer(100, first_name="Chloé")
    user = office("support", username="sophie", language="fr")
    text = words(page_of(user, card))
    assert "Points disponibles 100" in text
    assert "Ajuster les points" in text and "Historique des points" in text


def test_one_form_key_sent_again_with_other_values_is_refused(shop, office):
    card = shop.customer(100)
    user = office("support")
    adjust(user, card, "10", "first", key="form-key-2")
    page = adjust(user, card, "20", "second", key="form-key-2")
    assert page.status_code == 409
    assert "This form was already sent with other values" in words(page)
    assert available(card) == 110
