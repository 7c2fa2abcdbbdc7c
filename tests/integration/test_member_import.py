"""Importing members from another system, through the use cases: which lines are bad and why,
what the import writes (accounts, cards, profiles, opening balances, no bonus, no SMS unless
asked), and that a second run writes nothing twice."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from pos_loyalty import accounts, bonuses, programs, verification
from pos_loyalty.cards import make_card_number
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ImportFileChanged, ImportFileUnreadable, InvalidPin
from pos_loyalty.models import (
    Account, AuditEvent, BonusGrant, Card, CustomerProfile, LedgerEntry, OutboxMessage,
    PointLot, Program,
)
from pos_loyalty.security import app_hasher
from pos_loyalty.throttles import TryPolicy
from pos_loyalty.usecases import member_import

NOW = dt.datetime(2026, 3, 9, 10, 0)
HEADER = "phone,first_name,card_number,points,email,birthday,language,opt_in\n"


def program() -> Program:
    return run_in_transaction(programs.default_program)


def csv_file(*lines: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO((header + "".join(line + "\n" for line in lines)).encode())


def import_lines(*lines: str, **options) -> member_import.ImportReport:
    return member_import.import_members(program(), csv_file(*lines), "members.csv", NOW,
                                        "staff:admin", **options)


def account(phone: str) -> Account | None:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.phone_e164 == phone))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def problems(report: member_import.ImportReport) -> list[tuple[int, str]]:
    return [(bad.line, bad.code) for bad in report.bad_lines]


def test_good_lines_are_imported_and_bad_ones_reported_with_their_line_and_reason(app):
    report = import_lines(
        "06 12 34 56 78,Léa,,120,lea@example.com,1990-07-14,fr,yes",
        "not a phone,X,,10,,,,",
        "+32470123456,Belgian,,10,,,,",
        "0612345680,Bad,2912345678900,-5,bad@,31/02/1990,de,maybe",
        "+33612345678,Twice,,1,,,,",
        "0612345681,Huge,,99999999999,,,,",
        "0612345682,Fraction,,12.5,,,,",
        "0612345683,Short",
        "0612345684,Hugo,,,,,en,no")
    assert problems(report) == [
        (3, "bad_phone"), (4, "phone_country"),
        (5, "bad_card"), (5, "negative_balance"), (5, "bad_email"), (5, "bad_birthday"),
        (5, "bad_language"), (5, "bad_opt_in"),
        (6, "duplicate_phone"), (7, "huge_balance"), (8, "bad_balance"), (9, "bad_row")]
    assert report.bad_lines[8].sentence == "The same phone number is on line 2."
    assert report.bad_lines[1].sentence == \
        "The program does not serve phones of this country (BE)."
    assert report.bad_line_numbers == [3, 4, 5, 6, 7, 8, 9]
    assert (report.rows, report.imported, report.skipped, report.points) == (9, 2, 0, 120)
    lea = account("+33612345678")
    assert (lea.first_name, lea.locale, lea.sms_opt_out, lea.available_points) == \
        ("Léa", "fr", False, 120)
    profile = db.session.get(CustomerProfile, lea.id)
    assert (profile.email, profile.birthday, profile.birthday_set_at) == \
        ("lea@example.com", dt.date(1990, 7, 14), NOW)
    hugo = account("+33612345684")
    assert (hugo.first_name, hugo.locale, hugo.sms_opt_out, hugo.available_points) == \
        ("Hugo", "en", True, 0)
    assert db.session.get(CustomerProfile, hugo.id) is None
    assert count(Account) == 2


def test_the_opening_balance_is_one_import_entry_and_a_lot_that_expires_like_points_earned_today(app):
    import_lines("+33612345678,Léa,,120,,,,")
    lea = account("+33612345678")
    [entry] = db.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == lea.id))
    assert (entry.kind, entry.points, entry.pending_delta, entry.available_after,
            entry.actor, entry.reason) == ("import", 120, 0, 120, "staff:admin",
                                           "import members.csv")
    [lot] = db.session.scalars(select(PointLot).where(PointLot.account_id == lea.id))
    assert (lot.entry_id, lot.points, lot.remaining, lot.released, lot.available_at,
            lot.expires_at) == (entry.id, 120, 120, True, NOW, dt.datetime(2027, 3, 9, 10, 0))
    assert (lea.lifetime_earned, lea.pending_points) == (0, 0)
    assert verification.verify_accounts() == []


def test_a_second_run_of_the_same_file_skips_every_member_and_writes_nothing(app):
    lines = ("+33612345678,Léa,,120,,,,", "+33612345679,Hugo,,30,,,,")
    first = import_lines(*lines)
    again = import_lines(*lines)
    assert (first.imported, first.skipped) == (2, 0)
    assert (again.imported, again.skipped, again.points) == (0, 2, 0)
    assert (count(Account), count(LedgerEntry), count(PointLot)) == (2, 2, 2)


def test_the_dry_run_writes_nothing_and_counts_what_exists_already(app):
    import_lines("+33612345678,Léa,,120,,,,")
    report = member_import.check_members(
        program(), csv_file("+33612345678,Léa,,120,,,,", "+33612345679,Hugo,,30,,,,",
                            "nope,X,,,,,,"), "members.csv", NOW)
    assert (report.dry_run, report.imported, report.points, report.skipped) == \
        (True, 1, 30, 1)
    assert problems(report) == [(4, "bad_phone")]
    assert count(Account) == 1
    assert count(AuditEvent) == 1   # the first import's, none for the dry run


def test_imported_members_get_no_signup_bonus_not_even_when_they_register_later(app, till):
    till.set_rules(signup_bonus_points=30)
    import_lines("+33612345678,Léa,,120,,,,")
    lea = account("+33612345678")
    assert run_in_transaction(lambda: bonuses.grant_signup(program(), lea, NOW,
                                                           "mobile app")) == 0
    grant = db.session.scalar(select(BonusGrant))
    assert (grant.kind, grant.account_id, grant.points) == ("signup", lea.id, 0)
    assert account("+33612345678").available_points == 120


def test_an_imported_member_has_no_pin_until_they_set_one(app):
    import_lines("+33612345678,Léa,,120,,,,")
    assert account("+33612345678").pin_hash is None
    with pytest.raises(InvalidPin):
        accounts.check_pin(program(), "+33612345678", "1234", NOW,
                           TryPolicy.from_settings(app.config["LOYALTY"]["security"]),
                           app_hasher())


def test_no_sms_is_written_unless_the_import_asks_and_then_only_to_members_who_may_be_texted(app):
    lines = ("+33612345678,Léa,,120,,,,yes", "+33612345679,Hugo,,30,,,,no",
             "+33612345680,Zoé,,0,,,,", "+33612345681,Inès,,40,,,,")
    import_lines(*lines[:2])
    assert count(OutboxMessage) == 0
    report = import_lines(*lines, notify=True)
    assert report.texts == 1   # Inès: Léa and Hugo exist already, Zoé has no points
    message = db.session.scalar(select(OutboxMessage))
    assert (message.to_phone, message.kind, message.payload) == \
        ("+33612345681", "balance", {"change": 40, "balance": 40, "store": None})


def test_french_headers_semicolons_and_a_byte_order_mark_are_read(app):
    text = ("\ufefftéléphone;Prénom;Numéro de carte;Solde;Courriel;Date de naissance;Langue;"
            "Accepte SMS;Magasin\n06 12 34 56 78;Léa;;1 200;lea@example.com;14/07/1990;fr;"
            "non;Lyon\n")
    report = member_import.import_members(program(), io.BytesIO(text.encode()), "clients.csv",
                                          NOW, "cli")
    assert (report.imported, report.points, report.ignored_columns) == (1, 1200, ["Magasin"])
    lea = account("+33612345678")
    assert (lea.first_name, lea.sms_opt_out) == ("Léa", True)


def test_a_file_that_is_not_utf8_is_refused_whole_naming_the_line(app):
    data = (HEADER + "+33612345678,Léa,,1,,,,\n").encode("latin-1")
    with pytest.raises(ImportFileUnreadable) as refused:
        member_import.check_members(program(), io.BytesIO(data), "latin.csv", NOW)
    assert refused.value.details == {"line": 2}


@pytest.mark.parametrize("text", ["", "name,points\nLéa,12\n"])
def test_a_file_without_a_header_naming_the_phone_is_refused(app, text):
    with pytest.raises(ImportFileUnreadable):
        member_import.check_members(program(), io.BytesIO(text.encode()), "x.csv", NOW)
    assert count(Account) == 0


def test_a_blank_card_is_linked_an_unknown_one_registered_and_a_taken_one_is_a_bad_line(app):
    blank = run_in_transaction(lambda: accounts.issue_cards(program(), 1, NOW))[0]
    other = make_card_number("27", 1)
    import_lines(f"+33612345600,Owner,{other},0,,,,")
    plastic = make_card_number("27", 2)
    report = import_lines(f"+33612345678,Léa,{blank},0,,,,",
                          f"+33612345679,Hugo,{plastic},0,,,,",
                          f"+33612345680,Zoé,{other},0,,,,",
                          f"+33612345681,Inès,{plastic},0,,,,")
    assert problems(report) == [(4, "card_taken"), (5, "duplicate_card")]
    db.session.expire_all()
    cards = {card.number: card for card in db.session.scalars(select(Card))}
    assert (cards[blank].status, cards[blank].account_id) == \
        ("active", account("+33612345678").id)
    assert (cards[plastic].status, cards[plastic].kind, cards[plastic].account_id) == \
        ("active", "plastic", account("+33612345679").id)
    assert account("+33612345680") is None


def test_the_import_refuses_a_file_other_than_the_one_checked(app):
    checked = member_import.check_members(program(), csv_file("+33612345678,Léa,,1,,,,"),
                                          "a.csv", NOW)
    with pytest.raises(ImportFileChanged):
        import_lines("+33612345679,Hugo,,1,,,,", checked_sha256=checked.sha256)
    assert count(Account) == 0
    done = import_lines("+33612345678,Léa,,1,,,,", checked_sha256=checked.sha256)
    assert done.imported == 1


def test_the_whole_import_is_one_audit_event_with_its_counts(app, monkeypatch):
    monkeypatch.setattr(member_import, "CHUNK_ROWS", 2)   # three chunks
    seen = []
    report = member_import.import_members(
        program(), csv_file(*(f"+3361234567{n},N{n},,{n},,,," for n in range(5)), "bad,,,,,,,"),
        "members.csv", NOW, "staff:admin", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    [event] = db.session.scalars(select(AuditEvent))
    assert (event.actor, event.action, event.target) == \
        ("staff:admin", "members_imported", "file:members.csv")
    assert event.details == {"file": "members.csv", "sha256": report.sha256, "rows": 6,
                             "imported": 5, "skipped": 0, "bad_lines": 1, "points": 10,
                             "texts": 0, "notify": False}
    assert verification.verify_accounts() == []


def test_the_command_lists_bad_lines_and_exits_1_then_imports_on_a_clean_file(app, runner,
                                                                             tmp_path):
    app.extensions["pos_loyalty.clock"] = lambda: NOW
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(csv_file("+33612345678,Léa,,120,,,,", "nope,X,,,,,,").getvalue())
    checked = runner.invoke(args=["import", "members", str(mixed), "--dry-run"])
    assert checked.exit_code == 1
    assert checked.output.splitlines() == [
        "line 3: bad_phone: The phone number cannot be read or is not valid.",
        "mixed.csv: 2 rows; would import 1 members with 120 points; skipped 0 (their phone "
        "has an account already); 1 bad lines"]
    assert count(Account) == 0
    clean = tmp_path / "clean.csv"
    clean.write_bytes(csv_file("+33612345678,Léa,,120,,,,").getvalue())
    done = runner.invoke(args=["import", "members", str(clean)])
    assert (done.exit_code, done.output.splitlines()[-1]) == (
        0, "clean.csv: 1 rows; imported 1 members with 120 points, 0 SMS queued; skipped 0 "
           "(their phone has an account already); 0 bad lines")
    event = db.session.scalar(select(AuditEvent))
    assert (event.actor, event.target) == ("cli", "file:clean.csv")


def test_the_command_exits_2_on_a_file_it_cannot_read(app, runner, tmp_path):
    unreadable = tmp_path / "latin.csv"
    unreadable.write_bytes((HEADER + "+33612345678,Léa,,1,,,,\n").encode("latin-1"))
    result = runner.invoke(args=["import", "members", str(unreadable)])
    assert result.exit_code == 2
    assert "error: The file is not UTF-8 text (line 2)" in result.output
