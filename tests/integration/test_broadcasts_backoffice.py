"""The back office's messages to customers, both engines: marketing writes a message, sees
who it reaches, sends it (once, however many clicks), and follows what became of it; a large
segment is written a slice per request; support may not open any of it."""
from __future__ import annotations

import re

from sqlalchemy import select

from backoffice_setup import NOW, field, office, words
from broadcast_setup import member, promotion_rows, reached
from offers_setup import LADDER
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import AuditEvent, Broadcast
from pos_loyalty.usecases import offers

__all__ = ["office"]

MESSAGE = {"title": "Samedi gourmand", "text_fr": "Croissants offerts samedi !",
           "text_en": "Free croissants on Saturday!", "segment_kind": "all"}


def carried(page) -> dict[str, str]:
    """The hidden fields the preview carries to "Send"."""
    return {name: field(page, name) for name in (
        "title", "text_fr", "text_en", "segment_kind", "tier", "store_id", "inactive_days",
        "send_key")}


def broadcasts() -> list[Broadcast]:
    db.session.expire_all()
    return list(db.session.scalars(select(Broadcast).order_by(Broadcast.id)))


def test_marketing_previews_then_sends_a_message_to_everyone(app, till, office):
    phone, texted = member(till, push_devices=1), member(till)
    member(till, notify_channel="none")
    user = office("marketing")
    assert user.get("/admin/broadcasts/new").status_code == 200
    preview = user.post("/admin/broadcasts/preview", MESSAGE)
    assert preview.status_code == 200, words(preview)
    assert re.search(r"Customers 3 By push 1 By SMS 1 Reached by neither 1", words(preview))
    assert reached() == []
    sent = user.post("/admin/broadcasts/send", carried(preview))
    [broadcast] = broadcasts()
    assert sent.headers["Location"] == f"/admin/broadcasts/{broadcast.id}"
    assert reached() == [(phone, "push"), (texted, "sms")]
    assert (broadcast.created_by, broadcast.segment, broadcast.status, broadcast.texts) == (
        "staff:marketing", "all", "written",
        {"fr": MESSAGE["text_fr"], "en": MESSAGE["text_en"]})
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "broadcast_sent"))
    assert (event.actor, event.target, event.after["segment"]) == (
        "staff:marketing", f"broadcast:{broadcast.id}", "all")
    page = user.get(sent.headers["Location"])
    assert "Written for 3 customers" in words(page)
    assert "Customers 3 By push 1 By SMS 1 Reached by neither 1 Gone 0 Waiting 2" in words(page)


def test_a_second_click_on_send_sends_nothing_more(app, till, office):
    member(till), member(till)
    user = office("marketing")
    fields = carried(user.post("/admin/broadcasts/preview", MESSAGE))
    first = user.post("/admin/broadcasts/send", fields)
    second = user.post("/admin/broadcasts/send", fields)
    assert first.headers["Location"] == second.headers["Location"]
    assert (len(broadcasts()), len(reached())) == (1, 2)


def test_a_tier_is_picked_in_the_form(app, till, office):
    run_in_transaction(lambda: offers.set_tiers(till.program(), LADDER, NOW, "tests"))
    gold = member(till, tier="gold", push_devices=1)
    member(till, tier="silver", push_devices=1)
    user = office("marketing")
    preview = user.post("/admin/broadcasts/preview", {**MESSAGE, "segment_kind": "tier",
                                                      "tier": "gold", "push_only": "yes"})
    assert "To Tier Gold · push only" in words(preview)
    user.post("/admin/broadcasts/send", {**carried(preview), "push_only": "yes"})
    assert reached() == [(gold, "push")]
    assert broadcasts()[0].push_only is True


def test_a_refused_field_is_said_beside_it_and_nothing_is_sent(app, till, office):
    member(till)
    user = office("marketing")
    page = user.post("/admin/broadcasts/preview", {**MESSAGE, "title": "x" * 66})
    assert page.status_code == 422
    assert "Give a title of 1 to 65 characters, on one line." in words(page)
    page = user.post("/admin/broadcasts/preview", {**MESSAGE, "text_fr": "", "text_en": ""})
    assert "Write the text in French or in English at least" in words(page)
    page = user.post("/admin/broadcasts/send", {**MESSAGE, "segment_kind": "inactive",
                                                "inactive_days": "0"})
    assert page.status_code == 422
    assert "customers inactive for 1 to 3650 days" in words(page)
    assert (broadcasts(), reached()) == ([], [])


def test_a_large_segment_is_written_a_slice_per_request(app, till, office):
    app.config["LOYALTY"]["broadcasts"].update(chunk_accounts=2,
                                               back_office_accounts_per_request=2)
    members = [member(till) for _ in range(3)]
    user = office("marketing")
    preview = user.post("/admin/broadcasts/preview", MESSAGE)
    assert "Sending writes the first 2 customers" in words(preview)
    sent = user.post("/admin/broadcasts/send", carried(preview))
    page = user.get(sent.headers["Location"])
    assert "2 customers are written so far" in words(page)
    assert "pos-loyalty notify resume --program demo" in words(page)
    assert [account for account, _ in reached()] == members[:2]
    user.post(f"{sent.headers['Location']}/continue")
    assert [account for account, _ in reached()] == members
    assert broadcasts()[0].status == "written"


def test_cancelling_from_the_page_stops_what_waits(app, till, office):
    member(till), member(till)
    user = office("admin")
    sent = user.post("/admin/broadcasts/send", {**MESSAGE, "send_key": "k1"})
    page = user.post(f"{sent.headers['Location']}/cancel")
    assert page.status_code == 302
    assert "2 messages not sent yet will not be" in words(user.get(page.headers["Location"]))
    assert (broadcasts()[0].status, {row.status for row in promotion_rows()}) == (
        "cancelled", {"cancelled"})


def test_the_list_shows_each_message_and_its_counts(app, till, office):
    member(till, push_devices=1), member(till)
    user = office("marketing")
    user.post("/admin/broadcasts/send", {**MESSAGE, "send_key": "k1"})
    page = user.get("/admin/broadcasts")
    assert page.status_code == 200
    assert ("Samedi gourmand Every customer written 2 1 1 0 0 2 0") in words(page)
    assert 'href="/admin/broadcasts"' in user.get("/admin/").text


def test_support_may_not_open_or_send_messages(app, till, office):
    member(till)
    user = office("support")
    assert user.get("/admin/broadcasts").status_code == 403
    assert user.get("/admin/broadcasts/new").status_code == 403
    assert user.post("/admin/broadcasts/send", {**MESSAGE, "send_key": "k1"}).status_code == 403
    assert 'href="/admin/broadcasts"' not in user.get("/admin/").text
    assert (broadcasts(), reached()) == ([], [])


def test_the_pages_speak_french(app, till, office):
    member(till, push_devices=1)
    user = office("marketing", language="fr")
    assert "Nouveau message" in words(user.get("/admin/broadcasts/new"))
    preview = user.post("/admin/broadcasts/preview", MESSAGE)
    assert "Clients 1 Par notification 1 Par SMS 0 Atteints par aucun des deux 0" in \
        words(preview)
