"""Staff logins in the back office (admin): created with a typed password, role and store
changed, deactivated and reactivated, new password, two-factor reset; the program always
keeps an active admin; every change audited before and after, never a password."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backoffice_setup import (
    NOW, PASSWORD, OfficeUser, add_staff, office, turn_on_two_factor, words,
)
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import InvalidLogin, LastAdmin
from pos_loyalty.models import AuditEvent, Staff
from pos_loyalty.usecases import staff as till_staff
from pos_loyalty.usecases import staff_admin

__all__ = ["office"]
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def login(username: str) -> Staff:
    db.session.expire_all()
    return db.session.scalar(select(Staff).where(Staff.username == username))


def make_store(name: str) -> int:
    return run_in_transaction(lambda: programs.create_store(programs.default_program(), name).id)


def audit_text() -> str:
    return json.dumps([[e.before, e.after, e.details] for e in
                       db.session.scalars(select(AuditEvent))])


def test_an_admin_creates_a_cashier_who_then_opens_the_till(app, office):
    admin = office("admin")
    store_id = make_store("Lyon")
    done = admin.post("/admin/staff", {"username": " camille ", "role": "cashier",
                                       "store_id": str(store_id), "password": "croissant-42"})
    camille = login("camille")
    assert done.headers["Location"] == f"/admin/staff/{camille.id}"
    assert (camille.role, camille.store_id, camille.active) == ("cashier", store_id, True)
    [event] = events("staff_created")
    assert (event.actor, event.target) == ("staff:admin", f"staff:{camille.id}")
    assert event.after == {"username": "camille", "role": "cashier", "store_id": store_id,
                           "active": True}
    assert "croissant-42" not in audit_text() and camille.password_hash not in audit_text()
    opened = till_staff.open_web_till("camille", "croissant-42", None, NOW, "127.0.0.1")
    assert opened.terminal_id is not None
    page = admin.get(done.headers["Location"])
    assert "Login camille created: give them their password." in words(page)


def test_back_office_roles_have_no_store(app, office):
    store_id = make_store("Lyon")
    office("admin").post("/admin/staff", {"username": "marion", "role": "marketing",
                                          "store_id": str(store_id), "password": "campagnes!"})
    assert (login("marion").role, login("marion").store_id) == ("marketing", None)


@pytest.mark.parametrize(("form", "sentence"), [
    ({"password": "short"}, "A password needs at least 8 characters."),
    ({"username": "   "}, "A username has 1 to 100 characters."),
    ({"username": "x" * 101}, "A username has 1 to 100 characters."),
    ({"role": "owner"}, "Choose a role of the list."),
    ({"store_id": "lyon"}, "Choose a store of the list, or none."),
    ({"store_id": "99999999999999"}, "Choose a store of the list, or none."),
])
def test_a_refused_login_shows_the_form_again_with_what_was_typed(app, office, form, sentence):
    admin = office("admin")
    typed = {"username": "camille", "role": "manager", "store_id": "", "password": "long-enough",
             **form}
    page = admin.post("/admin/staff", typed)
    assert page.status_code == 422
    assert sentence in words(page)
    assert f'value="{typed["username"].strip()}"' in page.text
    assert typed["password"] not in page.text
    assert login("camille") is None and events("staff_created") == []


def test_a_taken_username_is_refused(app, office):
    admin = office("admin")
    page = admin.post("/admin/staff", {"username": "admin", "role": "cashier",
                                       "password": "long-enough"})
    assert page.status_code == 422
    assert "Another login has this username: choose another." in words(page)


def test_another_program_s_store_or_login_is_404(app, office, till):
    admin = office("admin")
    _program, terminal, _key = till.other_brand()
    page = admin.post("/admin/staff", {"username": "camille", "role": "cashier",
                                       "store_id": str(terminal.store_id),
                                       "password": "long-enough"})
    assert page.status_code == 404
    assert login("camille") is None

    def elsewhere() -> int:
        other = db.session.get(Staff, add_staff("ada", "admin"))
        other.program_id = _program.id
        return other.id
    other_id = run_in_transaction(elsewhere)
    for path in (f"/admin/staff/{other_id}", "/admin/staff/424242"):
        assert admin.get(path).status_code == 404
    assert admin.post(f"/admin/staff/{other_id}/active", {"active": "0"}).status_code == 404
    assert admin.post(f"/admin/staff/{other_id}/password",
                      {"password": "taken-over!"}).status_code == 404
    assert db.session.get(Staff, other_id).active


def test_role_and_store_changes_are_audited_before_and_after(app, office):
    admin = office("admin")
    lyon, villeurbanne = make_store("Lyon"), make_store("Villeurbanne")
    camille = add_staff("camille", "cashier", lyon)
    done = admin.post(f"/admin/staff/{camille}/role", {"role": "manager",
                                                       "store_id": str(villeurbanne)})
    assert done.headers["Location"] == f"/admin/staff/{camille}"
    assert (login("camille").role, login("camille").store_id) == ("manager", villeurbanne)
    [event] = events("staff_updated")
    assert event.before == {"username": "camille", "role": "cashier", "store_id": lyon,
                            "active": True}
    assert event.after == {"username": "camille", "role": "manager", "store_id": villeurbanne,
                           "active": True}
    admin.post(f"/admin/staff/{camille}/role", {"role": "manager",
                                                "store_id": str(villeurbanne)})
    assert len(events("staff_updated")) == 1, "nothing changed, nothing recorded"


def test_a_role_change_reaches_a_signed_in_login_at_its_next_request(app, office):
    admin, support = office("admin"), office("support")
    assert support.get("/admin/").status_code == 200
    admin.post(f"/admin/staff/{login('support').id}/role", {"role": "cashier"})
    assert support.get("/admin/").status_code == 302, "a till login: out of the back office"


def test_the_last_active_admin_is_never_demoted_nor_deactivated(app, office):
    admin = office("admin")
    me = login("admin").id
    for path, form in ((f"/admin/staff/{me}/role", {"role": "support"}),
                       (f"/admin/staff/{me}/active", {"active": "0"})):
        page = admin.post(path, form)
        assert page.status_code == 409
        assert "The program must keep an active admin: make another login admin first." \
            in words(page)
    assert (login("admin").role, login("admin").active) == ("admin", True)
    with pytest.raises(LastAdmin):   # whoever asks: the rule is the core's
        staff_admin.set_active(programs.default_program(), me, False, 0, "cli", NOW)


def test_an_admin_does_not_demote_or_deactivate_their_own_login(app, office):
    admin = office("admin")
    add_staff("ada", "admin")
    me = login("admin").id
    for path, form in ((f"/admin/staff/{me}/role", {"role": "marketing"}),
                       (f"/admin/staff/{me}/active", {"active": "0"})):
        page = admin.post(path, form)
        assert page.status_code == 409
        assert "You cannot demote or deactivate your own login: another admin can." \
            in words(page)
    assert admin.get("/admin/staff").status_code == 200, "still signed in, still admin"
    ada = login("ada").id
    assert admin.post(f"/admin/staff/{ada}/role", {"role": "finance"}).status_code == 302
    assert login("ada").role == "finance"


def test_deactivating_a_login_ends_its_sessions_and_reactivating_lets_it_back(app, office):
    admin, support = office("admin"), office("support")
    member = login("support").id
    done = admin.post(f"/admin/staff/{member}/active", {"active": "0"})
    assert done.headers["Location"] == f"/admin/staff/{member}"
    assert support.get("/admin/").status_code == 302
    assert OfficeUser(app, "support").sign_in().status_code == 401
    [event] = events("staff_deactivated")
    assert (event.before, event.after) == ({"active": True, "open_sessions": 1},
                                           {"active": False, "open_sessions": 0})
    assert "Deactivated" in words(admin.get("/admin/staff"))
    admin.post(f"/admin/staff/{member}/active", {"active": "1"})
    [event] = events("staff_reactivated")
    assert (event.before, event.after) == ({"active": False}, {"active": True})
    assert OfficeUser(app, "support").sign_in().status_code == 302


def test_a_new_password_ends_the_sessions_and_the_old_one_stops_working(app, office):
    admin, support = office("admin"), office("support")
    member = login("support").id
    done = admin.post(f"/admin/staff/{member}/password", {"password": "new-password-1"})
    assert done.headers["Location"] == f"/admin/staff/{member}"
    assert support.get("/admin/").status_code == 302
    assert OfficeUser(app, "support").sign_in(password=PASSWORD).status_code == 401
    assert OfficeUser(app, "support").sign_in(password="new-password-1").status_code == 302
    [event] = events("staff_password_set")
    assert (event.before, event.after) == ({"open_sessions": 1}, {"open_sessions": 0})
    assert "new-password-1" not in audit_text()
    assert login("support").password_hash not in audit_text()
    short = admin.post(f"/admin/staff/{member}/password", {"password": "1234567"})
    assert short.status_code == 422
    assert "A password needs at least 8 characters." in words(short)


def test_resetting_two_factor_turns_it_off_and_ends_the_sessions(app, office):
    admin = office("admin")
    add_staff("ada", "admin")
    turn_on_two_factor("ada", SECRET)
    ada = OfficeUser(app, "ada")
    ada.sign_in(code=ada.code_now(SECRET))
    assert ada.get("/admin/").status_code == 200
    member = login("ada").id
    assert "Two-factor On" in words(admin.get(f"/admin/staff/{member}"))
    done = admin.post(f"/admin/staff/{member}/two-factor")
    assert done.headers["Location"] == f"/admin/staff/{member}"
    assert login("ada").totp_secret is None
    assert ada.get("/admin/").status_code == 302
    [event] = events("two_factor_off")
    assert (event.actor, event.before, event.after) == ("staff:admin", {"two_factor": True},
                                                       {"two_factor": False})
    assert SECRET not in audit_text()
    assert "Two-factor sign-in is off for this login." in words(admin.get(done.headers["Location"]))


def test_the_staff_list_shows_role_store_status_and_two_factor(app, office):
    admin = office("admin")
    lyon = make_store("Lyon")
    add_staff("camille", "cashier", lyon)
    add_staff("ada", "admin")
    turn_on_two_factor("ada", SECRET)
    admin.post("/admin/staff", {"username": "marion", "role": "marketing",
                                "password": "long-enough"})
    text = words(admin.get("/admin/staff"))
    assert "ada admin none Active On" in text
    assert "camille cashier Lyon Active Off" in text
    assert "marion marketing none Active Off 09/03/2026, 11:00" in text


@pytest.mark.parametrize("role", ["marketing", "support", "finance"])
def test_only_admins_manage_staff(app, office, role):
    user = office(role)
    target = login(role).id
    assert user.get("/admin/staff").status_code == 403
    refused = user.post(f"/admin/staff/{target}/role", {"role": "admin"})
    assert refused.status_code == 403
    assert login(role).role == role
    assert user.post("/admin/staff", {"username": "x", "role": "admin",
                                      "password": "long-enough"}).status_code == 403
    assert login("x") is None


def test_a_deactivated_till_login_cannot_open_the_till(app, office):
    admin = office("admin")
    camille = add_staff("camille", "cashier", make_store("Lyon"))
    admin.post(f"/admin/staff/{camille}/active", {"active": "0"})
    with pytest.raises(InvalidLogin):
        till_staff.open_web_till("camille", PASSWORD, None, NOW, "127.0.0.1")


def test_staff_pages_in_french(app, office):
    admin = office("admin", language="fr")
    page = admin.post("/admin/staff", {"username": "camille", "role": "cashier",
                                       "password": "court"})
    assert "Un mot de passe doit compter au moins 8 caractères." in words(page)
