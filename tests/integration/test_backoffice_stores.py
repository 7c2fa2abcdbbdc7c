"""Stores and terminals in the back office (admin): the details the phone's /stores shows,
terminals whose key is shown once, revoked at once on this server, last seen at most once a
minute; every change audited with before and after."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from backoffice_setup import NOW, add_staff, office, words
from pos_loyalty import programs, staff_auth
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import StoreHasHistory
from pos_loyalty.models import AuditEvent, Store, Terminal
from pos_loyalty.usecases import phone_app, store_admin

__all__ = ["office"]
LYON = {"name": "Boulangerie Lyon Part-Dieu", "address": "17 rue du Docteur Bouchut\n69003 Lyon",
        "phone": "04 78 00 00 00", "opening_hours": "Mon-Sat 7:00-20:00\nSun 7:00-13:00",
        "latitude": "45,7606", "longitude": "4.8590"}


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)))


def make_store(name: str = "Villeurbanne") -> int:
    return run_in_transaction(lambda: programs.create_store(programs.default_program(), name).id)


def store_named(name: str) -> Store | None:
    db.session.expire_all()
    return db.session.scalar(select(Store).where(Store.name == name))


def pos_lookup(client, key: str, card_number: str = "0000000000000"):
    return client.post("/api/pos/v1/cards/lookup", json={"card_number": card_number},
                       headers={"Authorization": f"Bearer {key}"})


def new_terminal(admin, store_id: int, name: str = "Caisse 2") -> str:
    """The key the page shows once."""
    page = admin.post(f"/admin/stores/{store_id}/terminals", {"name": name})
    assert page.status_code == 201, words(page)
    return page.text.split('id="api-key"')[1].split('value="')[1].split('"')[0]


# --- stores ----------------------------------------------------------------------------------

def test_a_new_store_is_what_the_phone_app_lists(app, office):
    admin = office("admin")
    created = admin.post("/admin/stores", LYON)
    store = store_named(LYON["name"])
    assert created.headers["Location"] == f"/admin/stores/{store.id}"
    assert phone_app.stores(programs.default_program(), None, None) == [{
        "id": store.id, "name": "Boulangerie Lyon Part-Dieu",
        "address": "17 rue du Docteur Bouchut\n69003 Lyon", "phone": "04 78 00 00 00",
        "opening_hours": "Mon-Sat 7:00-20:00\nSun 7:00-13:00", "latitude": 45.7606,
        "longitude": 4.859, "distance_m": None}]
    [event] = events("store_created")
    assert (event.actor, event.target, event.created_at) == ("staff:admin", f"store:{store.id}",
                                                            NOW)
    assert event.before is None
    assert event.after["latitude"] == 45.7606 and event.after["name"] == LYON["name"]
    page = admin.get(created.headers["Location"])
    assert "Store Boulangerie Lyon Part-Dieu created: now give it a terminal." in words(page)


def test_the_stores_list_shows_each_store_with_its_terminals_and_staff(app, office, till):
    admin = office("admin")
    add_staff("camille", "cashier", till.store_id)
    make_store("Villeurbanne")
    text = words(admin.get("/admin/stores"))
    assert "Boulangerie Lyon none 1 1" in text
    assert "Villeurbanne none 0 0" in text


@pytest.mark.parametrize(("latitude", "longitude", "sentence"), [
    ("45.76", "", "The longitude is a number from -180 to 180, given with the latitude"),
    ("", "4.85", "The latitude is a number from -90 to 90, given with the longitude"),
    ("91", "4.85", "The latitude is a number from -90 to 90"),
    ("45.76", "-180.5", "The longitude is a number from -180 to 180"),
    ("north", "4.85", "The latitude is a number from -90 to 90"),
    ("nan", "4.85", "The latitude is a number from -90 to 90"),
    ("45.76", "1e400", "The longitude is a number from -180 to 180"),
])
def test_a_position_needs_both_coordinates_in_range(app, office, latitude, longitude, sentence):
    admin = office("admin")
    page = admin.post("/admin/stores", {**LYON, "latitude": latitude, "longitude": longitude})
    assert page.status_code == 422
    assert sentence in words(page)
    assert 'value="17 rue' not in page.text and "17 rue du Docteur Bouchut" in words(page)
    assert f'value="{latitude}"' in page.text, "the form shows what was typed"
    assert store_named(LYON["name"]) is None
    assert events("store_created") == []


@pytest.mark.parametrize(("field", "value", "sentence"), [
    ("name", "   ", "A store needs a name, of at most 200 characters."),
    ("name", "x" * 201, "A store needs a name, of at most 200 characters."),
    ("phone", "0" * 33, "The phone number has at most 32 characters."),
    ("address", "a\x00b", "The address has at most 400 characters."),
])
def test_store_texts_must_fit(app, office, field, value, sentence):
    page = office("admin").post("/admin/stores", {**LYON, field: value})
    assert page.status_code == 422
    assert sentence in words(page)
    assert db.session.scalar(select(Store.id)) is None


def test_editing_a_store_is_audited_before_and_after(app, office):
    admin = office("admin")
    store_id = make_store("Villeurbanne")
    saved = admin.post(f"/admin/stores/{store_id}", {**LYON, "name": "Villeurbanne Gratte-Ciel"})
    assert saved.headers["Location"] == f"/admin/stores/{store_id}"
    [event] = events("store_updated")
    assert event.before == {"name": "Villeurbanne", "address": "", "phone": "",
                            "opening_hours": "", "latitude": None, "longitude": None}
    assert event.after == {"name": "Villeurbanne Gratte-Ciel", "address": LYON["address"],
                           "phone": "04 78 00 00 00", "opening_hours": LYON["opening_hours"],
                           "latitude": 45.7606, "longitude": 4.859}
    again = admin.post(f"/admin/stores/{store_id}", {**LYON, "name": "Villeurbanne Gratte-Ciel"})
    assert again.status_code == 302
    assert len(events("store_updated")) == 1, "nothing changed, nothing recorded"


def test_a_refused_edit_shows_the_store_again_with_what_was_typed(app, office):
    admin = office("admin")
    store_id = make_store("Villeurbanne")
    page = admin.post(f"/admin/stores/{store_id}", {**LYON, "latitude": "-95"})
    assert page.status_code == 422
    assert "The latitude is a number from -90 to 90" in words(page)
    assert 'value="-95"' in page.text and 'aria-invalid="true"' in page.text
    assert store_named("Villeurbanne").latitude is None


def test_another_program_s_store_and_unknown_ids_are_404(app, office, till):
    admin = office("admin")
    program, terminal, _key = till.other_brand()
    for path in (f"/admin/stores/{terminal.store_id}", "/admin/stores/999999"):
        page = admin.get(path)
        assert page.status_code == 404
        assert "Nothing was found." in words(page)
    assert admin.get("/admin/stores/99999999999999999999").status_code == 404, "no URL"
    assert admin.post(f"/admin/stores/{terminal.store_id}", LYON).status_code == 404
    assert admin.post(f"/admin/stores/{terminal.store_id}/terminals").status_code == 404
    revoke = f"/admin/stores/{terminal.store_id}/terminals/{terminal.id}/revoke"
    assert admin.post(revoke).status_code == 404
    other_store = f"/admin/stores/{till.store_id}/terminals/{terminal.id}/revoke"
    assert admin.post(other_store).status_code == 404
    assert db.session.get(Terminal, terminal.id).active


def test_a_store_set_up_by_mistake_is_deleted_with_its_terminals(app, office):
    admin = office("admin")
    store_id = make_store("Typo")
    new_terminal(admin, store_id)
    done = admin.post(f"/admin/stores/{store_id}/delete")
    assert done.headers["Location"] == "/admin/stores"
    assert store_named("Typo") is None
    assert db.session.scalar(select(Terminal.id)) is None
    [event] = events("store_deleted")
    assert event.before["name"] == "Typo" and event.after is None


def test_a_store_with_sales_keeps_its_history(app, office, till):
    admin = office("admin")
    card = till.customer()
    assert till.sell(card, 2000).status_code == 201
    page = admin.post(f"/admin/stores/{till.store_id}/delete")
    assert page.status_code == 409
    assert "This store has sales or points history: it cannot be deleted." in words(page)
    assert store_named("Boulangerie Lyon") is not None
    with pytest.raises(StoreHasHistory):
        store_admin.delete_store(programs.default_program(), till.store_id, "tests", NOW)


def test_a_store_whose_staff_were_not_moved_is_not_deleted(app, office):
    admin = office("admin")
    store_id = make_store("Villeurbanne")
    add_staff("camille", "cashier", store_id)
    page = admin.post(f"/admin/stores/{store_id}/delete")
    assert page.status_code == 409
    assert "Logins still belong to this store: move them to another store first." in words(page)
    assert "camille" in words(page)


# --- terminals -------------------------------------------------------------------------------

def test_a_new_terminal_s_key_is_shown_once_and_works_at_the_pos_api(app, office, till):
    admin = office("admin")
    page = admin.post(f"/admin/stores/{till.store_id}/terminals", {"name": "Caisse 2"})
    assert page.status_code == 201
    assert "it is shown only this once and cannot be shown again" in words(page)
    key = page.text.split('id="api-key"')[1].split('value="')[1].split('"')[0]
    assert len(key) >= 40
    assert key not in admin.get(f"/admin/stores/{till.store_id}").text
    assert key not in json.dumps([[e.before, e.after, e.details] for e in
                                  db.session.scalars(select(AuditEvent))])
    card = till.customer(points=40)
    found = pos_lookup(till.client, key, card)
    assert found.status_code == 200
    assert found.get_json()["account"]["available_points"] == 40
    [event] = events("terminal_created")
    terminal = db.session.scalar(select(Terminal).where(Terminal.name == "Caisse 2"))
    assert event.target == f"terminal:{terminal.id}"
    assert event.after == {"name": "Caisse 2", "store_id": till.store_id, "active": True}


def test_a_terminal_without_a_name_is_named_after_its_store(app, office, till):
    new_terminal(office("admin"), till.store_id, name="  ")
    assert db.session.scalar(select(Terminal.name).order_by(Terminal.id.desc()).limit(1)) \
        == "Boulangerie Lyon till"


@pytest.mark.parametrize("name", ["Web till (cashier UI)", "x" * 101])
def test_a_terminal_name_must_fit_and_not_be_the_web_till_s(app, office, till, name):
    page = office("admin").post(f"/admin/stores/{till.store_id}/terminals", {"name": name})
    assert page.status_code == 422
    assert "A terminal name has at most 100 characters, and the cashier UI's name is taken." \
        in words(page)
    assert f'value="{name}"' in page.text
    assert db.session.scalar(select(Terminal.id).where(Terminal.id != till.terminal_id)) is None


def test_a_revoked_terminal_is_refused_at_once_on_this_server(app, office, till):
    admin = office("admin")
    card = till.customer()
    assert pos_lookup(till.client, till.key, card).status_code == 200, "now cached"
    done = admin.post(f"/admin/stores/{till.store_id}/terminals/{till.terminal_id}/revoke")
    assert done.headers["Location"] == f"/admin/stores/{till.store_id}"
    refused = pos_lookup(till.client, till.key, card)
    assert refused.status_code == 401
    [event] = events("terminal_revoked")
    assert (event.before, event.after) == ({"active": True}, {"active": False})
    page = admin.get(f"/admin/stores/{till.store_id}")
    assert "Terminal Caisse 1 is revoked: its key no longer works." in words(page)
    assert "Caisse 1 Revoked" in words(page)
    assert "Revoke Caisse 1" not in page.text
    again = admin.post(f"/admin/stores/{till.store_id}/terminals/{till.terminal_id}/revoke")
    assert again.status_code == 302
    assert len(events("terminal_revoked")) == 1


def test_the_web_till_is_shown_without_a_key_and_is_not_revoked_here(app, office, till):
    admin = office("admin")
    web_till = run_in_transaction(lambda: staff_auth.web_till(programs.default_program(),
                                                              till.store_id).id)
    page = admin.get(f"/admin/stores/{till.store_id}")
    assert "Web till (cashier UI) The browser till at /cashier: it has no key. In use" \
        in words(page)
    assert "Revoke Web till" not in page.text
    refused = admin.post(f"/admin/stores/{till.store_id}/terminals/{web_till}/revoke")
    assert refused.status_code == 422
    assert "The cashier UI's till has no key to revoke: deactivate the cashier's login " \
           "instead." in words(refused)
    assert db.session.get(Terminal, web_till).active


def last_seen(terminal_id: int) -> dt.datetime | None:
    db.session.expire_all()
    return db.session.get(Terminal, terminal_id).last_seen_at


def test_a_terminal_is_seen_at_most_once_a_minute(app, office, till):
    app.config["LOYALTY"]["service"]["auth_cache_seconds"] = 0   # every request reads the key
    card = till.customer()
    assert last_seen(till.terminal_id) is None
    for seconds, expected in ((0, NOW), (59, NOW), (61, NOW + dt.timedelta(seconds=61))):
        app.extensions["pos_loyalty.clock"] = lambda s=seconds: NOW + dt.timedelta(seconds=s)
        assert pos_lookup(till.client, till.key, card).status_code == 200
        assert last_seen(till.terminal_id) == expected
    # Another worker (its own memory) within the minute: the guarded UPDATE changes nothing.
    app.extensions.pop(programs.TERMINAL_SEEN)
    app.extensions["pos_loyalty.clock"] = lambda: NOW + dt.timedelta(seconds=90)
    assert pos_lookup(till.client, till.key, card).status_code == 200
    assert last_seen(till.terminal_id) == NOW + dt.timedelta(seconds=61)
    page = office("admin").get(f"/admin/stores/{till.store_id}")
    assert "Caisse 1 Active 09/03/2026, 11:01" in words(page)


def test_a_request_answered_from_the_key_cache_writes_nothing(app, till):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    card = till.customer()
    assert pos_lookup(till.client, till.key, card).status_code == 200
    app.extensions["pos_loyalty.clock"] = lambda: NOW + dt.timedelta(minutes=5)
    assert pos_lookup(till.client, till.key, card).status_code == 200
    assert last_seen(till.terminal_id) == NOW, "within auth_cache_seconds: no database read"


def test_a_refused_sale_still_counts_as_the_terminal_seen(app, till):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    assert pos_lookup(till.client, till.key, "123").status_code == 422
    assert last_seen(till.terminal_id) == NOW


# --- who may -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["marketing", "support", "finance"])
def test_only_admins_open_the_stores(app, office, till, role):
    user = office(role)
    assert user.get("/admin/stores").status_code == 403
    assert user.get(f"/admin/stores/{till.store_id}").status_code == 403
    refused = user.post("/admin/stores", LYON)
    assert refused.status_code == 403
    assert "Your role does not allow this." in words(refused)
    assert user.post(f"/admin/stores/{till.store_id}/terminals/{till.terminal_id}/revoke") \
        .status_code == 403
    assert db.session.get(Terminal, till.terminal_id).active
    assert "Stores and terminals" not in words(user.get("/admin/"))


def test_the_menu_leads_an_admin_to_the_stores(app, office):
    page = office("admin").get("/admin/stores")
    assert '<a href="/admin/stores" aria-current="page">Stores and terminals</a>' in page.text


def test_store_pages_in_french(app, office, till):
    admin = office("admin", language="fr")
    page = admin.get(f"/admin/stores/{till.store_id}")
    assert "Terminaux" in words(page)
    refused = admin.post("/admin/stores", {**LYON, "latitude": "100"})
    assert "La latitude est un nombre de -90 à 90" in words(refused)
