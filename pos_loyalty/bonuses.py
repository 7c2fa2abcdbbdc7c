"""Sign-up and birthday bonuses: once per person, whatever the channel and whenever the job runs.

A bonus is a ledger credit of its own kind (signup, birthday, referral), told by SMS. The
"once" is a `BonusGrant` row, unique per program, kind, person and period, inserted before the
credit: the credit follows only when the insert wrote the row. So two requests at once, the
daily job run twice, or a customer who erases their account and enrols again with the same
phone, are paid once.

The person is a keyed hash of the phone (`person_key`), not the account. An erasure forgets
the phone and closes the account, but keeps the grant rows, which hold only that hash: a phone
that had an account is still known as a past customer, so it gets no second sign-up bonus, no
second birthday bonus that year, and cannot come back as a referred newcomer. The hash is
keyed with the service's PIN key, which is not in the database, so a copy of the database
does not give the phones back, and they cannot be matched against a list of numbers.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, extract, or_, select

from pos_loyalty import ledger, notify
from pos_loyalty.db import db, insert_or_ignore, run_in_transaction
from pos_loyalty.models import Account, BonusGrant, CustomerProfile, LedgerEntry, Program
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for
from pos_loyalty.rules import expiry_for
from pos_loyalty.security import app_hasher

# Local days the birthday job looks back: a birthday on any of them not paid yet is paid, so a
# job that did not run for up to a week (a server down over a weekend) misses nobody, and a
# later run pays nothing twice (the grant's period is the year the birthday fell in).
BIRTHDAY_CATCH_UP_DAYS = 7
# Grants looked up per query (the persons of one run's birthdays).
LOOKUP_CHUNK = 500


def person_key(program: Program, phone_e164: str) -> str:
    """Who a bonus went to: HMAC-SHA256 of the program and the phone, keyed with a key derived
    from the service's PIN key. Kept after an erasure, so a bonus cannot be farmed by erasing
    and enrolling again; without the key it says nothing about the phone, and the same phone
    in two programs gives two unrelated keys."""
    message = f"{program.id}:{phone_e164}".encode()
    return "phone:" + hmac.new(_person_hash_key(), message, hashlib.sha256).hexdigest()


def _person_hash_key() -> bytes:
    """A key of its own, derived from the PIN key: one secret, two unrelated uses."""
    return hmac.new(app_hasher().pin_key, b"pos-loyalty person key", hashlib.sha256).digest()


def record_grant(program: Program, kind: str, person: str, period: str, account_id: int,
                 points: int, now: dt.datetime) -> bool:
    """Write the grant row; False when this person had this bonus for this period already.

    ON CONFLICT DO NOTHING: a concurrent grant for the same person waits for the other
    transaction and then writes nothing, so the caller credits only when this returns True.
    """
    table = BonusGrant.__table__
    statement = (insert_or_ignore()(table)
                 .values(program_id=program.id, kind=kind, person=person, period=period,
                         account_id=account_id, points=points, created_at=now)
                 .on_conflict_do_nothing(index_elements=["program_id", "kind", "person",
                                                         "period"])
                 .returning(table.c.id))
    return db.session.execute(statement).scalar() is not None


def pay_bonus(program: Program, account: Account, kind: str, points: int, now: dt.datetime, *,
              actor: str, reason: str, available_at: dt.datetime | None = None,
              sms: dict[str, Any] | None = None) -> ledger.Entry:
    """Credit a bonus of `kind` as its own lot (pending until `available_at`, then expiring
    like earned points) and queue its SMS, unless the customer cannot be texted. `sms` adds
    to the SMS event's numbers (a referral's role)."""
    available_at = available_at or now
    ctx = ledger.EntryContext(program_id=program.id, now=now, actor=actor, reason=reason)
    entry = ledger.credit(ctx, account.id, points, kind, available_at=available_at,
                          expires_at=expiry_for(rules_for(program), available_at))
    payload: dict[str, Any] = {"points": points, "balance": entry.available_after,
                               **(sms or {})}
    if available_at > now:
        payload["available_on"] = local_day(program, available_at).isoformat()
    notify.queue_event(program, account, kind, now, payload)
    return entry


# --- sign-up --------------------------------------------------------------------------------

def grant_signup(program: Program, account: Account, now: dt.datetime, actor: str) -> int:
    """The sign-up bonus, once per person: called at the till's enrolment, at the app's
    registration and when a plastic card is linked in the app, whichever comes first pays.
    Returns the points paid.

    The grant row is written even when the program gives no sign-up points: it is how a
    phone is known to have been a customer (`referrals`). An account enrolled before grants
    were recorded, that had its sign-up bonus then (a "bonus" entry), is recorded as paid.
    """
    if not account.phone_e164:
        return 0
    ledger.lock_account(account.id)   # the account first, as every change does
    earlier = _signup_paid_before_grants(account.id)
    points = rules_for(program).signup_bonus_points if earlier is None else 0
    recorded = record_grant(program, "signup", person_key(program, account.phone_e164), "",
                            account.id, points if earlier is None else earlier, now)
    if not recorded or points <= 0:
        return 0
    pay_bonus(program, account, "signup", points, now, actor=actor, reason="sign-up bonus")
    return points


def _signup_paid_before_grants(account_id: int) -> int | None:
    """The sign-up bonus an account had before bonus grants were recorded (migration 0009),
    written then as a "bonus" entry; None when it had none."""
    return db.session.scalar(
        select(LedgerEntry.points + LedgerEntry.pending_delta)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.kind == "bonus",
               LedgerEntry.reason == "sign-up bonus").limit(1))


# --- birthdays ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BirthdayDue:
    """A birthday to pay: whose, and the year it fell in (the grant's period)."""
    account_id: int
    person: str
    year: int


def birthday_window(today: dt.date) -> dict[tuple[int, int], dt.date]:
    """The birthdays (month, day) falling on the last BIRTHDAY_CATCH_UP_DAYS local days, and
    the day each falls on. Outside leap years, 29 February falls on the 28th."""
    window: dict[tuple[int, int], dt.date] = {}
    for back in range(BIRTHDAY_CATCH_UP_DAYS):
        day = today - dt.timedelta(days=back)
        window[(day.month, day.day)] = day
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            window[(2, 29)] = day
    return window


def birthday_known_long_enough(set_at: dt.datetime | None, day_ends_at: dt.datetime,
                               min_days: int) -> bool:
    """Whether a birthday set at `set_at` pays on the day ending at `day_ends_at` (both naive
    UTC): it was set at least `min_days` days before that day ended, so changing one's
    birthday to today pays nothing. Never set since the column exists (None) means it was set
    before bonuses were paid, when there was nothing to farm: it pays."""
    return set_at is None or set_at < day_ends_at - dt.timedelta(days=min_days)


def _birthday_due(program: Program, window: dict[tuple[int, int], dt.date], min_days: int,
                  row: Any) -> BirthdayDue | None:
    """The birthday of one (account id, phone, status, birthday, birthday_set_at) row, if it
    pays in this window: an active account with a phone, a birthday on a day of the window
    (not the day of birth itself), known long enough by then."""
    account_id, phone, status, birthday, set_at = row
    if status != "active" or not phone or birthday is None:
        return None
    day = window.get((birthday.month, birthday.day))
    if day is None or day.year <= birthday.year:
        return None
    day_ends_at = local_day_start_utc(program, day + dt.timedelta(days=1))
    if not birthday_known_long_enough(set_at, day_ends_at, min_days):
        return None
    return BirthdayDue(account_id, person_key(program, phone), day.year)


def _birthday_rows() -> Any:
    return (select(Account.id, Account.phone_e164, Account.status, CustomerProfile.birthday,
                   CustomerProfile.birthday_set_at)
            .join(CustomerProfile, CustomerProfile.account_id == Account.id))


def birthdays_due(program: Program, now: dt.datetime) -> list[BirthdayDue]:
    """The birthdays of the catch-up window that pay and were not paid yet (a read)."""
    window = birthday_window(local_day(program, now))
    min_days = rules_for(program).birthday_min_days_known
    on_a_day = or_(*[and_(extract("month", CustomerProfile.birthday) == month,
                          extract("day", CustomerProfile.birthday) == day)
                     for month, day in window])
    rows = db.session.execute(_birthday_rows().where(
        Account.program_id == program.id, Account.status == "active",
        Account.phone_e164.is_not(None), on_a_day)).all()
    due = [found for row in rows if (found := _birthday_due(program, window, min_days, row))]
    paid = _granted(program, "birthday", due)
    return [found for found in due if (found.person, str(found.year)) not in paid]


def _granted(program: Program, kind: str, due: list[BirthdayDue]) -> set[tuple[str, str]]:
    """(person, period) of the grants already written for these birthdays."""
    periods = {str(found.year) for found in due}
    persons = sorted({found.person for found in due})
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(persons, LOOKUP_CHUNK):
        found.update((person, period) for person, period in db.session.execute(
            select(BonusGrant.person, BonusGrant.period).where(
                BonusGrant.program_id == program.id, BonusGrant.kind == kind,
                BonusGrant.period.in_(periods), BonusGrant.person.in_(chunk))))
    return found


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def pay_birthday(program: Program, due: BirthdayDue, now: dt.datetime) -> bool:
    """Pay one birthday in the caller's transaction; False when, read again under the
    account's lock, it no longer pays (the account closed, the birthday changed) or was paid
    meanwhile (the grant row exists)."""
    rules = rules_for(program)
    ledger.lock_account(due.account_id)
    row = db.session.execute(_birthday_rows().where(Account.id == due.account_id)).first()
    window = birthday_window(local_day(program, now))
    if row is None or _birthday_due(program, window, rules.birthday_min_days_known,
                                    row) != due:
        return False
    points = rules.birthday_bonus_points
    if not record_grant(program, "birthday", due.person, str(due.year), due.account_id,
                        points, now):
        return False
    account = db.session.get(Account, due.account_id, populate_existing=True)
    pay_bonus(program, account, "birthday", points, now, actor="birthday job",
              reason=f"birthday bonus {due.year}")
    return True


def pay_birthdays(program: Program, now: dt.datetime) -> int:
    """The daily job for one program: pay every birthday of the catch-up window not paid yet,
    one account per transaction (a long run holds no lock for long). Returns how many were
    paid; a second run, at once or days later, pays none of them again."""
    if rules_for(program).birthday_bonus_points <= 0:
        return 0
    due = run_in_transaction(lambda: birthdays_due(program, now))
    return sum(run_in_transaction(lambda found=found: pay_birthday(program, found, now))
               for found in due)
