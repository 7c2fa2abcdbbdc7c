"""Signing in to the back office: roles, two-factor (codes computed at the test's clock),
CSRF, idle sign-out, headers; the till refusing back-office-only logins."""
from __future__ import annotations

import datetime as dt

import pytest

from backoffice.i18n import TRANSLATIONS_DIR
from catalogue_check import compiled_differences, untranslated
from backoffice_setup import (
    NOW, PASSWORD, OfficeUser, add_staff, field, office, turn_on_two_factor, words,
)
from pos_loyalty import totp
from pos_loyalty.db import db
from pos_loyalty.models import AuditEvent, Staff

__all__ = ["office"]
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_every_page_asks_to_sign_in_first(app, client):
    page = client.get("/admin/audit")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/admin/login?next=/admin/audit")


@pytest.mark.parametrize("role", ["admin", "marketing", "support", "finance"])
def test_each_back_office_role_signs_in_and_sees_its_home(app, office, role):
    user = office(role)
    page = user.get("/admin/")
    assert page.status_code == 200
    assert f"Signed in as {role} ({role})." in words(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_till_logins_are_refused_at_the_back_office(app, role):
    add_staff("till-person", role)
    user = OfficeUser(app, "till-person")
    page = user.sign_in()
    assert page.status_code == 403
    assert "This login is for the till" in words(page)
    assert user.get("/admin/").status_code == 302


def test_back_office_only_logins_are_refused_at_the_till(app, till):
    add_staff("marion", "marketing")
    client = app.test_client()
    client.get("/cashier/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    page = client.post("/cashier/login", data={"csrf_token": token, "username": "marion",
                                                "password": PASSWORD})
    assert page.status_code == 403
    assert "Cet identifiant sert au back-office (/admin), pas à la caisse." in words(page)


def test_wrong_password_is_refused_without_saying_which(app):
    add_staff("ada", "admin")
    page = OfficeUser(app, "ada").sign_in(password="not-the-password")
    assert page.status_code == 401
    assert "Wrong username or password." in words(page)
    unknown = OfficeUser(app, "nobody").sign_in()
    assert unknown.status_code == 401


def test_a_form_without_its_csrf_token_is_refused(app, office):
    user = office("admin")
    page = user.client.post("/admin/logout", data={"csrf_token": "forged"})
    assert page.status_code == 400
    assert "This form has expired" in words(page)
    assert user.get("/admin/").status_code == 200


def test_finance_reads_but_any_change_is_403(app, office):
    finance = office("finance")
    assert finance.get("/admin/audit").status_code == 200
    refused = finance.post("/admin/two-factor", {"code": "123456"})
    assert refused.status_code == 403
    assert "Your role does not allow this." in words(refused)


def test_support_cannot_open_the_audit_log(app, office):
    assert office("support").get("/admin/audit").status_code == 403


def test_admin_with_two_factor_signs_in_with_the_code_of_the_moment(app):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    add_staff("ada", "admin")
    turn_on_two_factor("ada", SECRET)
    user = OfficeUser(app, "ada")
    asked = user.sign_in()
    assert asked.headers["Location"] == "/admin/login/code"
    assert user.get("/admin/").status_code == 302, "no session before the code"
    wrong = user.post("/admin/login/code", {"code": totp.code_at(SECRET, NOW - dt.timedelta(
        minutes=5))})
    assert wrong.status_code == 401
    assert "Wrong or already used code" in words(wrong)
    right = user.post("/admin/login/code", {"code": totp.code_at(SECRET, NOW)})
    assert right.status_code == 302
    assert user.get("/admin/").status_code == 200


def test_a_code_is_good_once(app):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    add_staff("ada", "admin")
    turn_on_two_factor("ada", SECRET)
    code = totp.code_at(SECRET, NOW)
    first = OfficeUser(app, "ada")
    first.sign_in(code=code)
    assert first.get("/admin/").status_code == 200
    second = OfficeUser(app, "ada")
    replayed = second.sign_in(code=code)
    assert replayed.status_code == 401
    assert second.get("/admin/").status_code == 302


def test_admin_must_set_up_two_factor_where_it_is_required(app):
    app.config["LOYALTY"]["back_office"]["require_totp_for_admins"] = True
    try:
        app.extensions["pos_loyalty.clock"] = lambda: NOW
        add_staff("ada", "admin")
        user = OfficeUser(app, "ada")
        assert user.sign_in().headers["Location"] == "/admin/two-factor"
        assert user.get("/admin/audit").headers["Location"] == "/admin/two-factor"
        set_up = user.get("/admin/two-factor")
        assert "<svg" in set_up.text
        secret = words(set_up).split("Type this key into the app: ")[1].split()[0]
        wrong = user.post("/admin/two-factor", {"secret": field(set_up, "secret"),
                                                "code": "000000"})
        assert wrong.status_code == 422
        assert secret in words(wrong), "a mistyped first code keeps the same key"
        done = user.post("/admin/two-factor", {"secret": field(set_up, "secret"),
                                               "code": totp.code_at(secret, NOW)})
        assert done.headers["Location"] == "/admin/"
        assert user.get("/admin/audit").status_code == 200
        staff = db.session.scalar(db.select(Staff).where(Staff.username == "ada"))
        assert totp.secret_of(staff) == secret
        assert secret not in staff.totp_secret, "kept encrypted"
        assert db.session.scalar(db.select(AuditEvent.action).where(
            AuditEvent.target == f"staff:{staff.id}")) == "two_factor_on"
        later = OfficeUser(app, "ada")
        assert later.sign_in().headers["Location"] == "/admin/login/code"
    finally:
        app.config["LOYALTY"]["back_office"]["require_totp_for_admins"] = False


def test_signing_out_ends_the_session_and_a_copied_cookie(app, office):
    user = office("support")
    with user.client.session_transaction() as session:
        copied = dict(session["admin"])
    user.post("/admin/logout")
    assert user.get("/admin/").status_code == 302
    thief = app.test_client()
    with thief.session_transaction() as session:
        session["admin"] = copied
    assert thief.get("/admin/").status_code == 302


def test_a_deactivated_login_is_out_at_its_next_request(app, office):
    user = office("marketing")
    from pos_loyalty.usecases import staff as staff_usecases
    staff_usecases.set_active("marketing", False)
    assert user.get("/admin/").status_code == 302


def test_french_pages(app, office):
    user = office("admin", language="fr")
    page = user.get("/admin/audit")
    assert "Journal d'audit" in words(page)


def test_compiled_catalogue_matches_its_source():
    assert compiled_differences(TRANSLATIONS_DIR, "backoffice") == []


def test_every_message_of_the_back_office_has_a_french_translation():
    assert untranslated(TRANSLATIONS_DIR, "backoffice") == []


def test_the_command_line_resets_a_lost_authenticator(app, runner):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    add_staff("ada", "admin")
    turn_on_two_factor("ada", SECRET)
    user = OfficeUser(app, "ada")
    user.sign_in(code=totp.code_at(SECRET, NOW))
    result = runner.invoke(args=["staff", "reset-two-factor", "ada"])
    assert result.exit_code == 0, result.output
    assert "two-factor off for 'ada'" in result.output
    assert user.get("/admin/").status_code == 302, "its sessions ended"
    assert OfficeUser(app, "ada").sign_in().headers["Location"] == "/admin/", "no code asked"
    staff = db.session.scalar(db.select(Staff).where(Staff.username == "ada"))
    assert staff.totp_secret is None
    assert db.session.scalar(db.select(AuditEvent.actor).where(
        AuditEvent.action == "two_factor_off")) == "cli"
