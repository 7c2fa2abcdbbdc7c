"""Support and admins helping a customer from the back office: find them, see everything, and
act through the same core functions as the till and the phone app (`adjustments`,
`accounts`, `customer_data`, `app_sessions`, `one_time_codes`).

Each write is one transaction that writes its audit event too. An adjustment is idempotent
per key (the form's hidden key): a double click adjusts once. Support's adjustments above
[back_office] support_adjust_limit_points wait for an admin (`adjustment_requests`). An erased
customer's account can be read but no longer changed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pos_loyalty import (
    accounts, adjustment_requests, adjustments, app_sessions, audit, customer_cards,
    customer_data, metrics, one_time_codes,
)
from pos_loyalty.customer_record import CustomerRecord, account_in_program, customer_record
from pos_loyalty.customer_search import SearchPage, search
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import NotFound
from pos_loyalty.idempotency import once_per_key
from pos_loyalty.models import Account, MobileSession, Program
from pos_loyalty.programs import settings
from pos_loyalty.upkeep import bring_up_to_date


@dataclass(frozen=True)
class Staff:
    """Who acts: the audit's and ledger's name for them, their id and role."""
    actor: str
    staff_id: int
    role: str


def find_customers(program: Program, text: str, after_id: int | None,
                   page_size: int) -> SearchPage:
    return retry_read(lambda: search(program, text, after_id, page_size))


def customer(program: Program, account_id: int, now: dt.datetime, language: str,
             ledger_before: int | None, page_size: int) -> CustomerRecord:
    return retry_read(lambda: customer_record(program, account_in_program(program, account_id),
                                              now, language, ledger_before, page_size))


def support_limit() -> int:
    return int(settings()["back_office"]["support_adjust_limit_points"])


def adjust(program: Program, account_id: int, points: int, reason: str, staff: Staff,
           now: dt.datetime, idempotency_key: str | None) -> dict[str, Any]:
    """Apply the adjustment, or, for support above the limit, ask an admin: `applied` says
    which. The same key with the same adjustment answers the first time's result."""
    def work() -> dict[str, Any]:
        account = _open_account(program, account_id)
        adjustments.check_adjustment(points, reason)
        if adjustment_requests.needs_approval(staff.role, points, support_limit()):
            request = adjustment_requests.ask(program, account, points, reason, staff.actor,
                                              now)
            return {"applied": False, "request_id": request.id, "points": points}
        bring_up_to_date(program, account, now)
        done = adjustments.adjust_account(program, account, points, reason, staff.actor, now,
                                          staff_id=staff.staff_id)
        return {"applied": True, "points": points, **done}
    request = ("adjust", account_id, points, reason.strip() if isinstance(reason, str) else "")
    result = once_per_key(_scope(staff), idempotency_key, request, work)
    if result["applied"]:
        metrics.points_adjusted(points)
    return result


def _scope(staff: Staff) -> str:
    """Keys of one back office login: two people's forms never share a key."""
    return f"back_office:{staff.staff_id}"


def set_account_status(program: Program, account_id: int, status: str, actor: str,
                       reason: str, now: dt.datetime) -> None:
    """Block or unblock the account (the till's rule): it keeps its points."""
    run_in_transaction(lambda: accounts.set_account_status(
        program, _open_account(program, account_id), status, actor, reason, now))


def link_card(program: Program, account_id: int, card_number: Any, actor: str,
              now: dt.datetime) -> str:
    """Give the customer a blank plastic card; its number."""
    return run_in_transaction(lambda: customer_cards.link(
        program, _open_account(program, account_id), card_number, actor, now).number)


def set_card_status(program: Program, account_id: int, card_number: Any, status: str,
                    actor: str, reason: str, now: dt.datetime) -> None:
    run_in_transaction(lambda: customer_cards.set_card_status(
        program, _open_account(program, account_id), card_number, status, actor, reason, now))


def replace_card(program: Program, account_id: int, card_number: Any, actor: str, reason: str,
                 now: dt.datetime, new_number: str | None = None) -> str:
    """The till's replacement of a lost card, for a card of this customer; the new number."""
    def work() -> str:
        account = _open_account(program, account_id)
        card = customer_cards.card_of_account(program, account, card_number)
        return accounts.replace_card(program, card, actor, reason, now, new_number).number
    return run_in_transaction(work)


def end_app_session(program: Program, account_id: int, session_id: int, actor: str,
                    now: dt.datetime) -> None:
    """Log the customer's phone out of one session (a lost phone), audited."""
    def work() -> None:
        account = account_in_program(program, account_id)
        session = db.session.get(MobileSession, session_id)
        if session is None or session.account_id != account.id:
            raise NotFound("No such phone session.")
        before = session.revoked_at
        # A logout the customer did not make: the audit says who (the table's CHECK knows
        # no reason of the back office's own, and this change adds no migration).
        app_sessions.revoke_session(session.id, "logout", now)
        audit.record(program, actor, "app_session_ended", f"account:{account.id}", now,
                     before={"open": before is None}, after={"open": False},
                     session_id=session.id)
    run_in_transaction(work)


def send_pin_reset_code(program: Program, account_id: int, actor: str,
                        now: dt.datetime) -> None:
    """Text the customer a PIN-reset code, as the app's "forgot my PIN" does, within its
    limits (codes per phone per hour, per program per hour)."""
    def work() -> None:
        account = _open_account(program, account_id)
        one_time_codes.send_code(program, account.phone_e164, "pin_reset", now, account)
        audit.record(program, actor, "pin_reset_code_sent", f"account:{account.id}", now)
    run_in_transaction(work)


def erase(program: Program, account_id: int, actor: str, now: dt.datetime) -> None:
    """Erase the person on their request, keep the books (the app's own erasure)."""
    run_in_transaction(lambda: customer_data.erase(
        program, _open_account(program, account_id), now, actor=actor))


def export(program: Program, account_id: int, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Everything kept about the customer, as the app's export gives it; who took a copy of
    someone's personal data is audited."""
    def work() -> dict[str, Any]:
        account = account_in_program(program, account_id)
        audit.record(program, actor, "account_exported", f"account:{account.id}", now)
        return customer_data.export(program, account, now)
    return run_in_transaction(work)


def _open_account(program: Program, account_id: int) -> Account:
    """The program's account, refused when its data was erased."""
    account = account_in_program(program, account_id)
    adjustment_requests.check_not_erased(account)
    return account
