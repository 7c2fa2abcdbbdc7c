"""Import members (admin): upload a CSV, read the dry run's report, then import the same file.

The file is not kept between the two steps: the report's form asks for it again, with the
SHA-256 of the file that was checked, and the import refuses another file
(ImportFileChanged). Nothing is stored on one app server that the next request might not
reach, and no customer data waits in a table for a step that may never come.
"""
from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from flask import g, render_template, request

from backoffice.blueprint import actor, area, bp, setting
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.messages import error_sentence
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.member_file import COLUMN_NAMES, BadLine
from pos_loyalty.usecases import member_import

UPLOAD_ENDPOINTS = ("backoffice.import_check", "backoffice.import_run")
SHA256_FORMAT = re.compile(r"[0-9a-f]{64}")
REASON_SENTENCES = {
    "bad_row": lazy_gettext("The line has %(found)s fields where the header has "
                            "%(expected)s."),
    "missing_phone": lazy_gettext("The phone number is missing."),
    "bad_phone": lazy_gettext("The phone number cannot be read or is not valid."),
    "phone_country": lazy_gettext("The program does not serve phones of this country "
                                  "(%(country)s)."),
    "bad_first_name": lazy_gettext("The first name is longer than 100 characters or holds "
                                   "control characters."),
    "bad_card": lazy_gettext("The card number is not valid (format or check digit)."),
    "card_taken": lazy_gettext("The card belongs to another customer already."),
    "duplicate_phone": lazy_gettext("The same phone number is on line %(line)s."),
    "duplicate_card": lazy_gettext("The same card number is on line %(line)s."),
    "negative_balance": lazy_gettext("The points balance is negative."),
    "bad_balance": lazy_gettext("The points balance is not a whole number."),
    "huge_balance": lazy_gettext("The points balance is more than %(most)s."),
    "bad_email": lazy_gettext("The e-mail address is not valid."),
    "bad_birthday": lazy_gettext("The birthday is not a past date written YYYY-MM-DD or "
                                 "DD/MM/YYYY."),
    "bad_language": lazy_gettext("The language is not one the program writes in "
                                 "(%(languages)s)."),
    "bad_opt_in": lazy_gettext("The SMS opt-in is not yes or no."),
}


@bp.before_app_request
def allow_member_files() -> None:
    """A members file may be larger than the app's 1 MB limit, on these two forms only (the
    CSRF check reads the form before the view, so the limit is raised before it)."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = int(setting("import_max_bytes"))


def reason_sentence(bad: BadLine) -> str:
    return str(REASON_SENTENCES[bad.code]) % bad.params


@bp.get("/imports")
@area("imports")
def imports() -> Any:
    return _upload_page()


def _upload_page(error: str = "", status: int = 200) -> tuple[str, int]:
    return render_template("backoffice/imports.html", error=error, columns=COLUMN_NAMES,
                           max_megabytes=int(setting("import_max_bytes")) // 1_000_000), status


@bp.post("/imports/check")
@area("imports")
def import_check() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page(_("Choose a CSV file of members."), 422)
    try:
        report = member_import.check_members(g.program, upload.stream, _file_name(upload),
                                             now())
    except LoyaltyError as error:
        return _upload_page(error_sentence(error), error.status)
    return _report_page(report)


@bp.post("/imports/run")
@area("imports")
def import_run() -> Any:
    upload = request.files.get("file")
    checked = request.form.get("checked_sha256", "")
    if upload is None or not upload.filename or not SHA256_FORMAT.fullmatch(checked):
        return _upload_page(_("Check the file first, then import it."), 422)
    try:
        report = member_import.import_members(
            g.program, upload.stream, _file_name(upload), now(), actor(),
            notify=request.form.get("notify") == "yes", checked_sha256=checked)
    except LoyaltyError as error:
        return _upload_page(error_sentence(error), error.status)
    return _report_page(report)


def _file_name(upload: Any) -> str:
    """The file's own name, for the page and the audit trail; never a path."""
    name = PurePath(upload.filename.replace("\\", "/")).name
    return "".join(char for char in name if char.isprintable())[:100] or "members.csv"


def _report_page(report: member_import.ImportReport) -> str:
    shown = int(setting("import_shown_bad_lines"))
    return render_template("backoffice/import_report.html", report=report,
                           bad_lines=report.bad_lines[:shown],
                           more_bad_lines=max(len(report.bad_lines) - shown, 0),
                           reason_sentence=reason_sentence)
