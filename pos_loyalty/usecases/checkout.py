"""At the till: quote a basket, sell, return, void, and hold points while the customer pays.

Writes from a till are idempotent: the same Idempotency-Key with the same request replays the
first answer, with another request it is refused (`idempotency.once_per_key`). The key's scope
is the terminal, whichever face the till uses.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from pos_loyalty import holds, metrics, sales
from pos_loyalty.accounts import read_card_entry
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.idempotency import Claim, once_per_key, once_per_key_with_claim
from pos_loyalty.models import Program, Terminal
from pos_loyalty.programs import local_day, rules_for
from pos_loyalty.proofs import TillEvidence
from pos_loyalty.rules import BasketLine, Quote
from pos_loyalty.sales import ReturnedLine, SaleRequest
from pos_loyalty.upkeep import bring_card_up_to_date


def _scope(terminal: Terminal) -> str:
    return f"terminal:{terminal.id}"


def new_receipt_number(program: Program, now: dt.datetime) -> str:
    """A receipt number for a till that has none of its own (the web till): the local day
    and random digits; a clash is refused as a duplicate receipt, never merged."""
    return f"{local_day(program, now):%Y%m%d}-{secrets.token_hex(3).upper()}"


def quote(program: Program, card_number: Any, lines: list[BasketLine], now: dt.datetime,
          redeem_points: int = 0, store_id: int | None = None) -> Quote:
    """What the basket earns and may spend with the card's balance as of now, with the
    customer's tier and the campaigns that apply at `store_id` (the till's store)."""
    return run_in_transaction(lambda: sales.quote_for_card(program, card_number, lines, now,
                                                           redeem_points, store_id))


def sell(program: Program, terminal: Terminal, request: SaleRequest, now: dt.datetime,
         idempotency_key: str | None) -> dict[str, Any]:
    """One receipt: spend the chosen points and earn on the money part, once per key.

    The sale claims the key in its first round trip and stores the answer with its writes in
    its second (`sales.record_sale`); then the transaction commits.
    """
    evidence = till_evidence(program, terminal, request.card_number, request.card_entry,
                             request.proof, now)
    recorded: list[dict[str, Any]] = []   # empty when the key's first answer is replayed

    def record(claim: Claim) -> dict[str, Any]:
        recorded[:] = [sales.record_sale(program, terminal, request, now, claim, evidence)]
        return recorded[0]
    reply = once_per_key_with_claim(_scope(terminal), idempotency_key, ("sale", request), record)
    if recorded:
        metrics.sale_recorded(reply["points_earned"], reply["points_redeemed"])
    return reply


def till_evidence(program: Program, terminal: Terminal, card_number: Any, card_entry: str,
                  proof: str | None, now: dt.datetime) -> TillEvidence:
    """What the till sent to show the customer is there, for the spend to be judged by once
    the account is read (`rules.presence_refusal` decides what it proves)."""
    _, live_code = read_card_entry(card_number, rules_for(program))
    return TillEvidence(terminal.id, card_entry, live_code, proof, now)


def return_sale(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime,
                idempotency_key: str | None, *, amount_minor: int | None = None,
                lines: list[ReturnedLine] | None = None,
                staff_id: int | None = None) -> dict[str, Any]:
    """Take back what the returned part earned, give back what it spent, once per key."""
    request = ("return", sale_id, amount_minor, lines, staff_id)
    return once_per_key(_scope(terminal), idempotency_key, request,
                        lambda: sales.record_return(program, terminal, sale_id, now,
                                                    amount_minor=amount_minor, lines=lines,
                                                    staff_id=staff_id))


def preview_return(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime, *,
                   amount_minor: int | None = None,
                   lines: list[ReturnedLine] | None = None) -> dict[str, Any]:
    """What the return would do, computed by the same code and rolled back."""
    try:
        return sales.record_return(program, terminal, sale_id, now, amount_minor=amount_minor,
                                   lines=lines)
    finally:
        db.session.rollback()


def void_sale(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime, *,
              staff_id: int | None = None,
              idempotency_key: str | None = None) -> dict[str, Any]:
    """Undo what is left of a sale, within the program's void window."""
    return once_per_key(_scope(terminal), idempotency_key, ("void", sale_id, staff_id),
                        lambda: sales.void_sale(program, terminal, sale_id, now,
                                                staff_id=staff_id),
                        required=False)


def hold_points(program: Program, terminal: Terminal, card_number: Any, receipt_number: str,
                points: int, ttl_seconds: int | None, now: dt.datetime,
                idempotency_key: str | None = None, *, card_entry: str = "typed",
                proof: str | None = None) -> dict[str, Any]:
    """Set points aside for a receipt while the customer pays (the customer there, as for a
    sale that spends)."""
    evidence = till_evidence(program, terminal, card_number, card_entry, proof, now)

    def work() -> dict[str, Any]:
        bring_card_up_to_date(program, card_number, now)   # due points can be held too
        return holds.create_hold(program, terminal, card_number, receipt_number, points,
                                 ttl_seconds, now, evidence)
    request = ("hold", card_number, receipt_number, points, ttl_seconds, card_entry, proof)
    return once_per_key(_scope(terminal), idempotency_key, request, work, required=False)


def capture_hold(program: Program, terminal: Terminal, hold_id: int, points: int | None,
                 now: dt.datetime, idempotency_key: str | None = None) -> dict[str, Any]:
    """Spend the held points, or fewer; the rest goes back."""
    return once_per_key(_scope(terminal), idempotency_key, ("capture", hold_id, points),
                        lambda: holds.capture_hold(program, terminal, hold_id, points, now),
                        required=False)


def release_hold(program: Program, terminal: Terminal, hold_id: int, now: dt.datetime,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """Give the held points back."""
    return once_per_key(_scope(terminal), idempotency_key, ("release", hold_id),
                        lambda: holds.void_hold(program, terminal, hold_id, now),
                        required=False)
