"""The back office's member import: the upload, the dry run's report of every bad line, the
import of the same file, the size limit, and who may do it (admins only)."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from backoffice_setup import field, office, words
from pos_loyalty.db import db
from pos_loyalty.models import Account, AuditEvent, OutboxMessage

__all__ = ["office"]
HEADER = "phone,first_name,card_number,points,email,birthday,language,opt_in\n"
GOOD_AND_BAD = (HEADER + "+33612345678,Léa,,120,,,fr,yes\n"
                "not a phone,X,,10,,,,\n"
                "+33612345679,Hugo,,-3,,,,\n"
                "+33612345680,Zoé,,40,,,,\n").encode()


def upload(data: bytes, name: str = "members.csv") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def accounts_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Account))


def post_in_memory(user, path: str, data: bytes):
    """A large upload encoded in memory: the test client would spool it to a temporary file
    it never closes (a ResourceWarning, an error here)."""
    user.get("/admin/imports")
    body, _, boundary = stream_encode_multipart(
        {"csrf_token": user.token, "file": FileStorage(io.BytesIO(data), "members.csv")},
        use_tempfile=False)
    return user.client.post(path, data=body.getvalue(),
                            content_type=f'multipart/form-data; boundary="{boundary}"')


def bad_rows(page) -> list[list[str]]:
    """The table of bad lines as (line, problem, code) cells."""
    rows = re.findall(r"<tr><td class=\"number\">(\d+)</td><td>(.*?)</td><td><code>(\w+)"
                      r"</code></td></tr>", page.text)
    return [[line, problem.replace("&#39;", "'"), code] for line, problem, code in rows]


def test_the_dry_run_lists_every_bad_line_and_writes_nothing(app, office):
    admin = office("admin")
    page = admin.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                      content_type="multipart/form-data")
    assert page.status_code == 200
    text = words(page)
    assert "Check of members.csv" in text
    assert "Lines read 4 Members to import 2 Opening points 160" in text
    assert "Bad lines, left out 2" in text
    assert bad_rows(page) == [
        ["3", "The phone number cannot be read or is not valid.", "bad_phone"],
        ["4", "The points balance is negative.", "negative_balance"]]
    assert re.fullmatch(r"[0-9a-f]{64}", field(page, "checked_sha256"))
    assert "Import 2 members" in text
    assert accounts_count() == 0


def test_importing_the_checked_file_writes_the_good_lines_and_reports_the_bad(app, office):
    admin = office("admin")
    checked = admin.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                         content_type="multipart/form-data")
    page = admin.post("/admin/imports/run",
                      {"file": upload(GOOD_AND_BAD),
                       "checked_sha256": field(checked, "checked_sha256")},
                      content_type="multipart/form-data")
    assert page.status_code == 200
    assert "2 members imported." in words(page)
    assert "SMS queued 0" in words(page)
    assert [row[0] for row in bad_rows(page)] == ["3", "4"]
    assert accounts_count() == 2
    event = db.session.scalar(select(AuditEvent))
    assert (event.actor, event.action, event.details["imported"]) == \
        ("staff:admin", "members_imported", 2)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_sms_box_queues_the_new_members_balance_texts(app, office):
    admin = office("admin")
    checked = admin.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                         content_type="multipart/form-data")
    page = admin.post("/admin/imports/run",
                      {"file": upload(GOOD_AND_BAD), "notify": "yes",
                       "checked_sha256": field(checked, "checked_sha256")},
                      content_type="multipart/form-data")
    assert "SMS queued 2" in words(page)


def test_another_file_than_the_one_checked_is_refused(app, office):
    admin = office("admin")
    checked = admin.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                         content_type="multipart/form-data")
    page = admin.post("/admin/imports/run",
                      {"file": upload(GOOD_AND_BAD + b"+33612345681,Ines,,1,,,,\n"),
                       "checked_sha256": field(checked, "checked_sha256")},
                      content_type="multipart/form-data")
    assert page.status_code == 422
    assert "This is not the file that was checked" in words(page)
    assert accounts_count() == 0


def test_an_import_without_a_check_is_refused(app, office):
    page = office("admin").post("/admin/imports/run", {"file": upload(GOOD_AND_BAD)},
                                content_type="multipart/form-data")
    assert page.status_code == 422
    assert "Check the file first, then import it." in words(page)


@pytest.mark.parametrize("data, sentence", [
    (None, "Choose a CSV file of members."),
    ("name;points\nLéa;1\n".encode(), "This file cannot be read as members"),
    ((HEADER + "+33612345678,Léa,,1,,,,\n").encode("utf-16"), "This file cannot be read"),
])
def test_a_missing_or_unreadable_file_is_said_on_the_page(app, office, data, sentence):
    form = {} if data is None else {"file": upload(data)}
    page = office("admin").post("/admin/imports/check", form,
                                content_type="multipart/form-data")
    assert page.status_code == 422
    assert sentence in words(page)
    assert 'name="file"' in page.text


def test_a_file_above_the_import_limit_is_413_and_one_below_passes_the_app_limit(app, office):
    app.config["LOYALTY"]["back_office"]["import_max_bytes"] = 3_000_000
    admin = office("admin")
    lines = "".join(f"+336{10_000_000 + n:08d},Client {n},,1,,,,\n" for n in range(40_000))
    big = (HEADER + lines).encode()
    assert 1_000_000 < len(big) < 3_000_000
    page = post_in_memory(admin, "/admin/imports/check", big)
    assert page.status_code == 200
    assert "Members to import 40000" in words(page)
    app.config["LOYALTY"]["back_office"]["import_max_bytes"] = 1_000_000
    page = post_in_memory(admin, "/admin/imports/check", big)
    assert page.status_code == 413
    assert "The file is too large." in words(page)


@pytest.mark.parametrize("role", ["marketing", "support", "finance"])
def test_only_admins_import_members(app, office, role):
    user = office(role)
    assert user.get("/admin/imports").status_code == 403
    page = user.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                     content_type="multipart/form-data")
    assert page.status_code == 403
    assert "Import members" not in words(user.get("/admin/"))
    assert accounts_count() == 0


def test_the_upload_page_lists_the_columns_and_is_in_the_menu(app, office):
    page = office("admin").get("/admin/imports")
    assert page.status_code == 200
    text = words(page)
    assert '<a href="/admin/imports" aria-current="page">Import members</a>' in page.text
    assert "phone phone_number, mobile, telephone, tel, portable" in text
    assert "Check the file" in text


def test_the_pages_speak_french(app, office):
    admin = office("admin", language="fr")
    page = admin.post("/admin/imports/check", {"file": upload(GOOD_AND_BAD)},
                      content_type="multipart/form-data")
    assert "Le solde de points est négatif." in words(page)
    assert "Importer 2 membres" in words(page)
