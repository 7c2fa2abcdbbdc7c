"""Card batches in the back office, both engines: admin and support issue blank cards (within
[back_office] card_batch_max, audited), download their numbers as CSV for the card printer,
and follow each batch's use (linked, used in a sale, out of use)."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select, update

from backoffice_setup import NOW, field, office, words
from pos_loyalty import accounts, programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import AuditEvent, Card, CardBatch, Program
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import card_batches

__all__ = ["office"]


def program() -> Program:
    return programs.default_program()


def batch_numbers(batch_id: int) -> list[str]:
    return list(db.session.scalars(select(Card.number).where(Card.batch_id == batch_id)
                                   .order_by(Card.id)))


def test_support_issues_a_labelled_batch_and_it_is_audited(app, office):
    user = office("support")
    page = user.post("/admin/card-batches", {"count": "3", "label": "Lyon opening, plastic"})
    assert page.status_code == 302, words(page)
    batch = db.session.scalar(select(CardBatch))
    assert page.headers["Location"] == f"/admin/card-batches/{batch.id}"
    assert (batch.count, batch.label, batch.created_at) == (3, "Lyon opening, plastic", NOW)
    cards = db.session.scalars(select(Card).where(Card.batch_id == batch.id)).all()
    assert [(c.status, c.account_id, c.kind) for c in cards] == [("blank", None, "plastic")] * 3
    [event] = db.session.scalars(select(AuditEvent)
                                 .where(AuditEvent.action == "card_batch_issued")).all()
    assert (event.actor, event.target, event.after) == (
        "staff:support", f"card_batch:{batch.id}", {"count": 3, "label": "Lyon opening, plastic"})
    shown = words(user.get(page.headers["Location"]))
    assert "3 cards issued: download their numbers for the printer." in shown
    assert "Cards 3 Linked to a customer 0 Still blank 3 Used in a sale 0" in shown


@pytest.mark.parametrize(("count", "label", "sentence"), [
    ("0", "", "A batch is 1 to 20000 cards."),
    ("20001", "", "A batch is 1 to 20000 cards."),
    ("99999999999999999999", "", "A batch is 1 to 20000 cards."),
    ("-3", "", "A batch is 1 to 20000 cards."),
    ("ten", "", "A batch is 1 to 20000 cards."),
    ("", "", "A batch is 1 to 20000 cards."),
    ("5", "x" * 101, "A label is 100 characters at most"),
    ("5", "Lyon\x00", "A label is 100 characters at most"),
])
def test_a_wrong_batch_is_refused_beside_its_field_and_nothing_is_issued(app, office, count,
                                                                         label, sentence):
    page = office("admin").post("/admin/card-batches", {"count": count, "label": label})
    assert page.status_code == 422
    assert sentence in words(page)
    assert field(page, "count") == count[:2000]
    assert db.session.scalar(select(CardBatch)) is None
    assert db.session.scalar(select(Card)) is None


def test_the_batch_limit_is_a_setting(app, office):
    app.config["LOYALTY"]["back_office"]["card_batch_max"] = 2
    user = office("admin")
    assert "How many cards (1 to 2)" in words(user.get("/admin/card-batches"))
    assert user.post("/admin/card-batches", {"count": "3"}).status_code == 422
    assert user.post("/admin/card-batches", {"count": "2"}).status_code == 302


def test_a_batch_downloads_as_csv_one_number_a_row_with_its_label(app, office):
    user = office("support")
    batch_id = card_batches.issue_batch(program(), 4, "Lyon, plastic", NOW, "tests", 10)
    reply = user.get(f"/admin/card-batches/{batch_id}/cards.csv")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers["Content-Disposition"] == \
        f'attachment; filename="card-batch-{batch_id}.csv"'
    assert reply.is_streamed
    rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True))))
    assert rows == [["card_number", "batch"]] + [[n, "Lyon, plastic"]
                                                 for n in batch_numbers(batch_id)]
    assert len(rows) == 5


def test_a_label_a_spreadsheet_would_run_is_written_as_text(app, office):
    batch_id = card_batches.issue_batch(program(), 1, "=HYPERLINK(\"x\")", NOW, "tests", 10)
    text = office("admin").get(f"/admin/card-batches/{batch_id}/cards.csv").get_data(
        as_text=True)
    assert text.splitlines()[1].endswith(",\"'=HYPERLINK(\"\"x\"\")\"")


def test_a_large_batch_is_read_a_chunk_at_a_time(app, office, monkeypatch):
    monkeypatch.setattr(card_batches, "NUMBERS_PER_READ", 3)
    batch_id = card_batches.issue_batch(program(), 7, "", NOW, "tests", 10)
    chunks = list(card_batches.batch_numbers(program(), batch_id))
    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    assert sum(chunks, []) == batch_numbers(batch_id)


def test_a_batch_s_use_counts_linked_used_and_blocked_cards(app, office, shop):
    shop.now = NOW
    batch_id = card_batches.issue_batch(program(), 5, "Spring", NOW, "tests", 10)
    first, second, third = batch_numbers(batch_id)[:3]
    for number, phone, moment in ((first, "+33612345001", NOW),
                                  (second, "+33612345002", NOW + dt.timedelta(days=2)),
                                  (third, "+33612345003", NOW + dt.timedelta(days=5))):
        run_in_transaction(lambda n=number, p=phone, m=moment: accounts.create_customer(
            program(), p, "1234", m, app_hasher(), channel="till", card_number=n))
    shop.sell(first, 1500)
    run_in_transaction(lambda: db.session.execute(
        update(Card).where(Card.number == third).values(status="blocked")))
    use = card_batches.batch_use(program(), batch_id)
    assert (use.count, use.linked, use.used, use.out_of_use) == (5, 3, 1, 1)
    assert (use.first_linked_at, use.last_linked_at) == (NOW, NOW + dt.timedelta(days=5))
    user = office("support")
    listed = words(user.get("/admin/card-batches"))
    assert f"Batch {batch_id} Spring" in listed and "5 3 1 1 CSV" in listed
    shown = words(user.get(f"/admin/card-batches/{batch_id}"))
    assert "Cards 5 Linked to a customer 3 Still blank 2 Used in a sale 1 Blocked or " \
        "replaced 1" in shown


@pytest.mark.parametrize("role", ["marketing", "finance"])
def test_card_batches_are_for_admin_and_support(app, office, role):
    batch_id = card_batches.issue_batch(program(), 1, "", NOW, "tests", 10)
    user = office(role)
    for path in ("/admin/card-batches", f"/admin/card-batches/{batch_id}",
                 f"/admin/card-batches/{batch_id}/cards.csv"):
        assert user.get(path).status_code == 403, path
    assert user.post("/admin/card-batches", {"count": "1"}).status_code == 403
    assert db.session.scalar(select(CardBatch.id).where(CardBatch.id != batch_id)) is None


def test_another_program_s_batch_is_not_found(app, office):
    user = office("admin")

    def other() -> int:
        brand = Program(slug="other", name="Other", currency="EUR", timezone="Europe/Paris",
                        locale="fr_FR", rules={}, branding={})
        db.session.add(brand)
        db.session.flush()
        accounts.issue_cards(brand, 2, NOW, "theirs")
        return db.session.scalar(select(CardBatch.id).where(CardBatch.program_id == brand.id))
    foreign = run_in_transaction(other)
    for path in (f"/admin/card-batches/{foreign}", f"/admin/card-batches/{foreign}/cards.csv",
                 "/admin/card-batches/4242"):
        page = user.get(path)
        assert page.status_code == 404, path
        assert "Nothing was found." in words(page)
    assert user.get("/admin/card-batches/99999999999999999/cards.csv").status_code == 404
    assert "theirs" not in words(user.get("/admin/card-batches"))
