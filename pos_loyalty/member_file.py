"""A members file from another system, read and judged line by line (nothing is written).

The file is UTF-8 (with or without a BOM), its separator `,` or `;` (read off the header
line), its header names in English or French (`COLUMN_NAMES`; other columns are ignored and
listed). Every line is judged on its own: a bad one is reported with its line number, a
machine code and a sentence (`REASONS`), and never stops the others. `member_import` then
asks the database what exists already and writes the rest.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import phonenumbers

from pos_loyalty import accounts, sms_countries
from pos_loyalty.customer_data import EMAIL_FORMAT, LANGUAGE_FORMAT, OLDEST_BIRTH_YEAR
from pos_loyalty.errors import ImportFileUnreadable, LoyaltyError
from pos_loyalty.models import Program
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.payloads import MAX_POINTS, is_plain_text
from pos_loyalty.programs import rules_for

# Header names read as each column, once lower-cased, accents and punctuation dropped.
COLUMN_NAMES = {
    "phone": ("phone", "phone_number", "mobile", "telephone", "tel", "portable",
              "numero_de_telephone"),
    "first_name": ("first_name", "firstname", "given_name", "prenom"),
    "card_number": ("card_number", "card", "carte", "numero_de_carte", "numero_carte"),
    "points": ("points", "balance", "points_balance", "solde", "solde_points",
               "solde_de_points"),
    "email": ("email", "e_mail", "mail", "courriel", "adresse_email"),
    "birthday": ("birthday", "birth_date", "date_of_birth", "anniversaire",
                 "date_de_naissance", "date_naissance"),
    "language": ("language", "lang", "locale", "langue"),
    "opt_in": ("opt_in", "optin", "sms_opt_in", "sms", "accepte_sms", "consentement_sms"),
}
HEADER_TO_COLUMN = {name: column for column, names in COLUMN_NAMES.items() for name in names}
# Why a line is left out: its code and the sentence the CLI prints (the back office words
# each code in the page's language).
REASONS = {
    "bad_row": "The line has {found} fields where the header has {expected}.",
    "missing_phone": "The phone number is missing.",
    "bad_phone": "The phone number cannot be read or is not valid.",
    "phone_country": "The program does not serve phones of this country ({country}).",
    "bad_first_name": "The first name is longer than 100 characters or holds control "
                      "characters.",
    "bad_card": "The card number is not valid (format or check digit).",
    "card_taken": "The card belongs to another customer already.",
    "duplicate_phone": "The same phone number is on line {line}.",
    "duplicate_card": "The same card number is on line {line}.",
    "negative_balance": "The points balance is negative.",
    "bad_balance": "The points balance is not a whole number.",
    "huge_balance": "The points balance is more than {most}.",
    "bad_email": "The e-mail address is not valid.",
    "bad_birthday": "The birthday is not a past date written YYYY-MM-DD or DD/MM/YYYY.",
    "bad_language": "The language is not one the program writes in ({languages}).",
    "bad_opt_in": "The SMS opt-in is not yes or no.",
}
YES = frozenset({"1", "yes", "y", "true", "x", "oui", "o", "vrai"})
NO = frozenset({"0", "no", "n", "false", "non", "faux"})
FIRST_NAME_LENGTH = 100
EMAIL_LENGTH = 254
# What an export escapes against formulas in spreadsheets ("'" before = + - @): read back.
ESCAPED_CELL = re.compile(r"'(?=[=+\-@])")


@dataclass(frozen=True)
class Member:
    """One good line, its values as they will be stored."""
    line: int
    phone: str
    first_name: str = ""
    card_number: str | None = None
    points: int = 0
    email: str | None = None
    birthday: dt.date | None = None
    language: str | None = None
    opt_in: bool | None = None   # None: the file does not say (texted, as at the till)


@dataclass(frozen=True)
class BadLine:
    line: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return REASONS[self.code].format(**self.params)


@dataclass
class CheckedFile:
    """A file read and its lines judged on their own (before the database is asked)."""
    sha256: str
    rows: int
    members: list[Member]
    bad_lines: list[BadLine]
    ignored_columns: list[str]


class _Bad(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code, self.params = code, params


@dataclass(frozen=True)
class _Judge:
    """What judging a line needs to know about the program, read once per file."""
    region: str
    countries: frozenset[str]
    rules: Any
    languages: frozenset[str]
    today: dt.date


def read_members(program: Program, source: BinaryIO, today: dt.date) -> CheckedFile:
    """Read and judge the whole file; ImportFileUnreadable when it cannot be read at all."""
    data = source.read()
    text = _decoded(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ImportFileUnreadable("The file is empty: its first line must name the columns.")
    separator = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = next(reader)
    columns = [HEADER_TO_COLUMN.get(_header_key(name)) for name in header]
    if "phone" not in columns:
        raise ImportFileUnreadable("The file has no phone column: name it phone (or "
                                   "telephone).")
    judge = _judge_for(program, today)
    checked = CheckedFile(hashlib.sha256(data).hexdigest(), 0, [], [],
                          [name for name, column in zip(header, columns) if column is None])
    seen_phones: dict[str, int] = {}
    seen_cards: dict[str, int] = {}
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        checked.rows += 1
        if len(cells) != len(header):
            checked.bad_lines.append(BadLine(line, "bad_row", {"found": len(cells),
                                                               "expected": len(header)}))
            continue
        values = {column: ESCAPED_CELL.sub("", cell.strip(), count=1)
                  for column, cell in zip(columns, cells) if column is not None}
        member, problems = _judged(line, values, judge)
        if member is not None:
            problems += _repeats(member, seen_phones, seen_cards)
        if problems:
            checked.bad_lines += problems
        else:
            checked.members.append(member)
    return checked


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ImportFileUnreadable(f"The file is not UTF-8 text (line {line}): save it as "
                                   "\"CSV UTF-8\".", line=line) from error


def _header_key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def _judge_for(program: Program, today: dt.date) -> _Judge:
    rules = rules_for(program)
    return _Judge(region=accounts.program_region(program),
                  countries=sms_countries.allowed_countries(program),
                  rules=rules,
                  languages=frozenset(sms_config(program)["templates"]), today=today)


def _judged(line: int, values: dict[str, str],
            judge: _Judge) -> tuple[Member | None, list[BadLine]]:
    """The member of a line, or every problem the line has (one per bad value)."""
    read: dict[str, Any] = {}
    problems = []
    for column, reader in FIELD_READERS.items():
        try:
            read[column] = reader(values.get(column, ""), judge)
        except _Bad as bad:
            problems.append(BadLine(line, bad.code, bad.params))
    if problems:
        return None, problems
    return Member(line=line, **read), []


def _repeats(member: Member, phones: dict[str, int], cards: dict[str, int]) -> list[BadLine]:
    """The second line with a phone or card number already in the file is left out."""
    problems = []
    if member.phone in phones:
        problems.append(BadLine(member.line, "duplicate_phone", {"line": phones[member.phone]}))
    if member.card_number is not None and member.card_number in cards:
        problems.append(BadLine(member.line, "duplicate_card",
                                {"line": cards[member.card_number]}))
    if not problems:
        phones[member.phone] = member.line
        if member.card_number is not None:
            cards[member.card_number] = member.line
    return problems


# --- one value each -------------------------------------------------------------------------

def _phone(raw: str, judge: _Judge) -> str:
    if not raw:
        raise _Bad("missing_phone")
    try:
        phone = accounts.parse_phone(raw, judge.region)
    except LoyaltyError as error:
        raise _Bad("bad_phone") from error
    country = _country_of(phone)
    if country not in judge.countries:
        raise _Bad("phone_country", country=country)
    return phone


def _country_of(phone: str) -> str:
    """`sms_countries.country_of`, read off the calling code when one country alone has it
    (+33: FR) instead of parsing the number again, a third of the time of a line; a code
    that several countries share (+1, +44) is parsed. Calling codes are prefix-free."""
    for length in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(phone[1:1 + length]))
        if regions is not None:
            return regions[0] if len(regions) == 1 else sms_countries.country_of(phone)
    return sms_countries.country_of(phone)


def _first_name(raw: str, judge: _Judge) -> str:
    if len(raw) > FIRST_NAME_LENGTH or not is_plain_text(raw):
        raise _Bad("bad_first_name")
    return raw


def _card_number(raw: str, judge: _Judge) -> str | None:
    if not raw:
        return None
    try:
        return accounts.normalize_number(raw, judge.rules)
    except LoyaltyError as error:
        raise _Bad("bad_card") from error


def _points(raw: str, judge: _Judge) -> int:
    digits = re.sub(r"[\s\u00a0\u202f]", "", raw)
    if not digits:
        return 0
    if re.fullmatch(r"-[0-9]+", digits):
        raise _Bad("negative_balance")
    if not re.fullmatch(r"\+?[0-9]+", digits):
        raise _Bad("bad_balance")
    if len(digits) > 12 or int(digits) > MAX_POINTS:
        raise _Bad("huge_balance", most=MAX_POINTS)
    return int(digits)


def _email(raw: str, judge: _Judge) -> str | None:
    if not raw:
        return None
    if len(raw) > EMAIL_LENGTH or not EMAIL_FORMAT.fullmatch(raw):
        raise _Bad("bad_email")
    return raw


def _birthday(raw: str, judge: _Judge) -> dt.date | None:
    if not raw:
        return None
    day_first = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", raw)
    try:
        day = (dt.date(int(day_first[3]), int(day_first[2]), int(day_first[1])) if day_first
               else dt.date.fromisoformat(raw) if len(raw) == 10 else None)
    except ValueError:
        day = None
    if day is None or not dt.date(OLDEST_BIRTH_YEAR, 1, 1) <= day <= judge.today:
        raise _Bad("bad_birthday")
    return day


def _language(raw: str, judge: _Judge) -> str | None:
    if not raw:
        return None
    code = raw.replace("-", "_")
    code = code[:2].lower() + code[2:].upper()
    if not LANGUAGE_FORMAT.fullmatch(code) or code[:2] not in judge.languages:
        raise _Bad("bad_language", languages=", ".join(sorted(judge.languages)))
    return code


def _opt_in(raw: str, judge: _Judge) -> bool | None:
    word = raw.lower()
    if not word:
        return None
    if word not in YES | NO:
        raise _Bad("bad_opt_in")
    return word in YES


FIELD_READERS = {"phone": _phone, "first_name": _first_name, "card_number": _card_number,
                 "points": _points, "email": _email, "birthday": _birthday,
                 "language": _language, "opt_in": _opt_in}
