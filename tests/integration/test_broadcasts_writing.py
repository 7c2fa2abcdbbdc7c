"""Writing a broadcast to the outbox, both engines: one row per channel each customer hears
on (push when a phone of theirs can take it, else SMS; "none" and an opted-out customer with
no phone get nothing), in their language, after the quiet hours; a write stopped half-way
resumes without writing anyone twice; cancelling drops what was not sent."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from broadcast_setup import NOW, member, promotion_rows, reached
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify import broadcasts

TEXTS = {"fr": "Croissants offerts samedi !", "en": "Free croissants on Saturday!"}


def start(till, segment: str = "all", push_only: bool = False, texts=None,
          now: dt.datetime = NOW, title: str = "Samedi"):
    return run_in_transaction(lambda: broadcasts.start_broadcast(
        till.program(), title=title, texts=TEXTS if texts is None else texts, segment=segment,
        push_only=push_only, actor="tests", now=now))


def send(till, **given):
    broadcast = start(till, **given)
    return broadcasts.write_broadcast(till.program(), broadcast.id, given.get("now", NOW))


def counts(broadcast) -> tuple[int, int, int, int, str]:
    return (broadcast.accounts, broadcast.push_rows, broadcast.sms_rows, broadcast.skipped,
            broadcast.status)


def test_each_customer_hears_on_the_channel_they_can_and_chose(app, till):
    phone = member(till, push_devices=1)
    no_phone = member(till)
    both = member(till, push_devices=2, notify_channel="both")
    member(till, push_devices=1, notify_channel="none")
    member(till, sms_opt_out=True)
    wants_push_has_none = member(till, notify_channel="push")
    broadcast = send(till)
    assert reached() == [(phone, "push"), (no_phone, "sms"), (both, "push"), (both, "sms")]
    assert wants_push_has_none not in {account for account, _ in reached()}
    assert counts(broadcast) == (6, 2, 2, 3, "written")
    assert broadcast.finished_at == NOW


def test_push_only_texts_nobody(app, till):
    phone = member(till, push_devices=1)
    member(till)
    both = member(till, push_devices=1, notify_channel="both")
    broadcast = send(till, push_only=True)
    assert reached() == [(phone, "push"), (both, "push")]
    assert counts(broadcast) == (3, 2, 0, 1, "written")


def test_rows_hold_the_title_the_text_and_the_broadcast(app, till):
    member(till, push_devices=1)
    texted = member(till)
    broadcast = send(till)
    push, sms = promotion_rows()
    assert (push.channel, push.to_phone, push.body, push.payload, push.status,
            push.send_after, push.segments) == (
        "push", None, TEXTS["fr"], {"title": "Samedi", "broadcast_id": broadcast.id},
        "queued", NOW, None)
    assert (sms.channel, sms.account_id, sms.to_phone is not None, sms.body, sms.segments,
            sms.encoding) == ("sms", texted, True, TEXTS["fr"], 1, "GSM-7")


def test_a_broadcast_at_ten_at_night_waits_for_the_end_of_the_quiet_hours(app, till):
    member(till, push_devices=1)
    member(till)
    ten_pm_in_paris = dt.datetime(2026, 3, 9, 21, 0)
    send(till, now=ten_pm_in_paris)
    eight_am_in_paris = dt.datetime(2026, 3, 10, 7, 0)
    assert [row.send_after for row in promotion_rows()] == [eight_am_in_paris] * 2


def test_each_customer_reads_their_language_else_the_programs_else_the_first(app, till):
    english = member(till, locale="en_GB")
    unknown = member(till)
    german = member(till, locale="de_DE")
    send(till)
    assert [(row.account_id, row.body) for row in promotion_rows()] == [
        (english, TEXTS["en"]), (unknown, TEXTS["fr"]), (german, TEXTS["fr"])]
    db.session.execute(update(OutboxMessage).values(status="cancelled"))
    db.session.commit()
    second = send(till, texts={"es": "¡Cruasanes gratis!", "en": "Free croissants!"})
    assert [(row.account_id, row.body) for row in promotion_rows(second.id)] == [
        (english, "Free croissants!"), (unknown, "¡Cruasanes gratis!"),
        (german, "¡Cruasanes gratis!")]


def test_a_write_stopped_after_one_chunk_resumes_without_writing_anyone_twice(app, till):
    members = [member(till, push_devices=1) for _ in range(5)]
    broadcast = start(till)
    half_way = broadcasts.write_chunk(till.program(), broadcast.id, NOW, chunk=2)
    assert (counts(half_way), half_way.next_account_id) == ((2, 2, 0, 0, "writing"),
                                                            members[1] + 1)
    assert reached() == [(account, "push") for account in members[:2]]
    done = broadcasts.write_broadcast(till.program(), broadcast.id, NOW, chunk=2)
    assert reached() == [(account, "push") for account in members]
    assert counts(done) == (5, 5, 0, 0, "written")
    again = broadcasts.write_broadcast(till.program(), broadcast.id, NOW, chunk=2)
    assert (counts(again), len(reached())) == ((5, 5, 0, 0, "written"), 5)


def test_the_write_stops_after_the_accounts_asked_for(app, till):
    members = [member(till) for _ in range(5)]
    broadcast = start(till)
    first = broadcasts.write_broadcast(till.program(), broadcast.id, NOW, chunk=2,
                                       max_accounts=4)
    assert (counts(first), reached()) == ((4, 0, 4, 0, "writing"),
                                          [(account, "sms") for account in members[:4]])


def test_cancelling_drops_the_rows_not_sent_yet(app, till):
    sent_already, waiting = member(till, push_devices=1), member(till, push_devices=1)
    broadcast = send(till)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.account_id == sent_already)
                       .values(status="sent", sent_at=NOW))
    db.session.commit()
    cancelled = run_in_transaction(lambda: broadcasts.cancel_broadcast(
        till.program(), broadcast.id, NOW))
    assert cancelled == 1
    assert [(row.account_id, row.status) for row in promotion_rows()] == [
        (sent_already, "sent"), (waiting, "cancelled")]
    assert broadcasts.message_statuses(broadcast) == {"push": {"sent": 1, "cancelled": 1}}


def test_a_cancelled_broadcast_writes_no_more(app, till):
    member(till), member(till)
    broadcast = start(till)
    run_in_transaction(lambda: broadcasts.cancel_broadcast(till.program(), broadcast.id, NOW))
    after = broadcasts.write_broadcast(till.program(), broadcast.id, NOW)
    assert (counts(after), reached()) == ((0, 0, 0, 0, "cancelled"), [])


def test_the_statuses_are_counted_per_broadcast(app, till):
    member(till, push_devices=1)
    member(till)
    first, second = send(till), send(till, push_only=True)
    assert broadcasts.message_statuses(first) == {"push": {"queued": 1}, "sms": {"queued": 1}}
    assert broadcasts.message_statuses(second) == {"push": {"queued": 1}}


def test_the_preview_counts_who_it_reaches_and_writes_nothing(app, till):
    member(till, push_devices=1)
    member(till)
    member(till, push_devices=1, notify_channel="both")
    member(till, notify_channel="none")
    size = broadcasts.segment_size(till.program(), "all", False, NOW)
    assert size == {"accounts": 4, "push": 2, "sms": 2, "none": 1}
    assert broadcasts.segment_size(till.program(), "all", True, NOW) == {
        "accounts": 4, "push": 2, "sms": 0, "none": 2}
    assert reached() == []


@pytest.mark.parametrize("title, texts, field", [
    ("", TEXTS, "title"),
    ("x" * 66, TEXTS, "title"),
    ("Samedi\u202e", TEXTS, "title"),
    ("Samedi", {}, "texts"),
    ("Samedi", {"fr": "  ", "en": ""}, "texts"),
    ("Samedi", {"fr": "x" * 481}, "texts.fr"),
    ("Samedi", {"en": "Free\x00croissants"}, "texts.en"),
    ("Samedi", {"French": "Bonjour"}, "texts.French"),
])
def test_a_message_out_of_bounds_is_refused_naming_the_field(app, till, title, texts, field):
    with pytest.raises(ValidationFailed) as refused:
        start(till, title=title, texts=texts)
    assert refused.value.details["field"] == field


def test_a_message_at_its_limits_is_taken_lines_kept(app, till):
    broadcast = start(till, title="T" * 65, texts={"fr": " Bonjour\r\n\r\nà  samedi ",
                                                   "en": "x" * 480})
    assert (len(broadcast.title), broadcast.texts) == (65, {"fr": "Bonjour\nà samedi",
                                                           "en": "x" * 480})


def test_a_customer_enrolled_after_the_start_does_not_join_a_resumed_write(app, till):
    first = member(till)
    broadcast = start(till)
    broadcasts.write_chunk(till.program(), broadcast.id, NOW, chunk=1)
    member(till, at=NOW + dt.timedelta(hours=1))
    done = broadcasts.write_broadcast(till.program(), broadcast.id, NOW + dt.timedelta(hours=2))
    assert (reached(), counts(done)) == ([(first, "sms")], (1, 0, 1, 0, "written"))
