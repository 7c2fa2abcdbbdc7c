"""Checkout use cases: quote a basket, record a sale, a return, a void.

Each runs inside one transaction that the caller commits; every points change goes through
`pos_loyalty.ledger`. The sale's first read is in `sale_reads`, its caps in `caps`; it sends
its writes itself, together (`statements.Writes`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, insert, select

from pos_loyalty import (
    balances, campaigns, caps, holds, ledger, notify, referrals, sale_reads, tiers,
)
from pos_loyalty.accounts import account_of_card, find_card, normalize_number
from pos_loyalty.db import db
from pos_loyalty.errors import (
    AccountBlocked, CardBlocked, CardNotLinked, ReturnExceedsSale, SaleNotFound,
    SaleVoided, ValidationFailed, VoidWindowClosed,
)
from pos_loyalty.idempotency import Claim
from pos_loyalty.models import (
    Account, Hold, LedgerEntry, Program, Sale, SaleLine, SaleReturn, Terminal,
)
from pos_loyalty.programs import local_day, rules_for, utc_to_local
from pos_loyalty.proofs import TillEvidence
from pos_loyalty.rules import (
    UNUSABLE_CARD_STATUSES, AppliedCampaign, BasketLine, CampaignTerms, Offers, Quote,
    SaleSetting, cut_to_grant, expiry_for, quote, return_split, returned_earn_base,
    returned_line_base, rung_named, void_window_open,
)
from pos_loyalty.statements import Step, Writes
from pos_loyalty.upkeep import bring_up_to_date
from pos_loyalty.wallet.updates import queue_wallet_update


@dataclass(frozen=True)
class SaleRequest:
    """A receipt as a till sends it. `card_entry` and `proof` are what shows the customer at
    the till, which spending points needs (`proofs.TillEvidence`); the Idempotency-Key's
    fingerprint covers them too."""
    card_number: Any
    receipt_number: str
    lines: list[BasketLine]
    redeem_points: int = 0
    hold_id: int | None = None
    staff_id: int | None = None
    card_entry: str = "typed"
    proof: str | None = None


def quote_for_card(program: Program, card_number: Any, lines: list[BasketLine],
                   now: dt.datetime, redeem_points: int = 0,
                   store_id: int | None = None) -> Quote:
    """The quote with the card's balance as of now (the sale will release what is due), its
    tier and the campaigns it would get at `store_id`."""
    account = account_of_card(find_card(program, card_number))
    available = balances.balance_of(account, now).available if account else 0
    can_redeem = account is not None and account.status == "active"
    running = campaigns.running_campaigns(program, now)
    offers = None
    if account is not None:
        uses = campaigns.uses_of(account.id, campaigns.limited_ids(running))
        offers = _offers(program, running, store_id, account.tier, not has_sale(account.id),
                         uses, now)
    return quote(lines, available, can_redeem, rules_for(program), redeem_points, offers)


def has_sale(account_id: int) -> bool:
    """Whether the account made a purchase before (campaigns for a first purchase only)."""
    return db.session.scalar(select(exists().where(Sale.account_id == account_id,
                                                   Sale.status == "completed"))) or False


def _offers(program: Program, running: Sequence[CampaignTerms], store_id: int | None,
            tier: str | None, first_purchase: bool, uses: Mapping[int, int],
            now: dt.datetime) -> Offers:
    """What decides the tier's and the campaigns' points for one customer at one store now."""
    setting = SaleSetting(now=now, local_now=utc_to_local(program, now), store_id=store_id,
                          tier=rung_named(rules_for(program).tiers, tier),
                          first_purchase=first_purchase, uses=uses)
    return Offers(running, setting)


def record_sale(program: Program, terminal: Terminal, request: SaleRequest, now: dt.datetime,
                claim: Claim | None = None,
                evidence: TillEvidence | None = None) -> dict[str, Any]:
    """One receipt: spend the chosen points, earn on the money part (with the tier's and the
    campaigns' points), in the caller's transaction; with a `claim`, once per
    Idempotency-Key; with the till's `evidence`, points are spent only with the customer there
    (checked after the key's claim, so a retry replays its answer even once its proof is
    over). Points held earlier were checked when held.

    This is every till's hot path, and its cost is round trips to the database, so it makes
    two (then the caller commits): the first claims the key, locks the account and reads card,
    account, lots, the tier's measure, campaign uses and the ids the rows will take; the
    second sends every row of the sale, and the answer for the key, together (see
    `pos_loyalty.statements`). A hold, a customer cap, a program near its cap, points due for
    release, a campaign with a budget or a tier reached cost a few more.
    """
    rules = rules_for(program)
    running = campaigns.running_campaigns(program, now)
    spends_lots = request.redeem_points > 0 and request.hold_id is None
    # Round trip 1: the key's claim, card, account (locked), its first lots, the new ids.
    found, lots, mechanics = _locked_card_and_account(program, request.card_number, now,
                                                      spends_lots, claim, running)
    if evidence is not None and spends_lots:
        evidence.require_for_spending(request.redeem_points, found.account_id,
                                      found.card_kind, found.live_code_secret)
    held = _held_points(program, terminal, request, now)
    offers = _offers(program, running, terminal.store_id, found.tier, not found.has_sale,
                     mechanics.uses, now)
    q = quote(request.lines, found.available_points + held, True, rules,
              request.redeem_points, offers)
    writes = Writes()   # the sale's rows, sent together at the end
    own, applied, granted = _grant(program, found, q, running, mechanics.budgets_left, now,
                                   writes)
    sale_id = found.next_sale_id
    writes.add(Step(INSERT_SALE, _sale_row(program, terminal, request, found, q, granted, now)))
    before = ledger.Balance(found.available_points, found.pending_points)
    entry_ids: Sequence[int] = (found.next_entry_id, found.next_entry_id_2)
    if request.hold_id is not None:   # the capture's entries name the sale: it must exist first
        writes.send()
        _spend_hold(program, terminal, request.hold_id, q.points_redeemed, sale_id, now)
        before = ledger.lock_account(found.account_id)
        entry_ids = sale_reads.next_entry_ids()
    available_at = now + dt.timedelta(days=rules.pending_days)
    after = ledger.settle_sale(
        _ctx(program, terminal, now, sale_id, request.staff_id), found.account_id, before,
        redeem=0 if request.hold_id is not None else q.points_redeemed, earn=granted,
        available_at=available_at, expires_at=expiry_for(rules, available_at),
        entry_ids=entry_ids, lots=lots, writes=writes,
        campaign_points=[(c.id, c.points) for c in applied])
    writes.add(_line_rows(sale_id, request.lines, q))
    balance = {"available": after.available, "pending": after.pending}
    if found.wallet_passes and after.available != before.available:
        queue_wallet_update(program.id, found.account_id, now)
    notify.defer_balance_change(program, found, change=granted - q.points_redeemed,
                                balance=balance["available"], now=now,
                                store_id=terminal.store_id, earned=granted,
                                spent=q.points_redeemed, writes=writes,
                                offers=[{"campaign_id": c.id, "points": c.points}
                                        for c in applied] or None)
    move = (tiers.move_up_after_sale(program, found.account_id, found.tier, mechanics.measure
                                     + tiers.sale_contribution(rules, granted, q.cash_minor))
            if rules.tiers else None)
    tier_points = max(0, min(q.tier_points, own - q.base_points))
    reply = {"sale_id": sale_id, "receipt_number": request.receipt_number,
             "total_minor": q.total_minor, "points_redeemed": q.points_redeemed,
             "redeemed_minor": q.redeemed_minor, "cash_due_minor": q.cash_minor,
             "points_earned": granted, "points_capped": q.points_earned - granted,
             "base_points": own - tier_points, "tier_points": tier_points,
             "applied_campaigns": [applied_view(c) for c in applied],
             "tier": found.tier, "tier_reached": move.new.key if move else None,
             "balance": balance}
    if claim is not None:
        writes.add(claim.answer(reply))
    # Round trip 2: every row of the sale, one statement on PostgreSQL. A reused receipt
    # fails here (DuplicateReceipt), a balance or cap guard too (TryAgain).
    writes.send()
    if move is not None:   # the account's row again: not in the same statement as its balance
        tiers.record_move(program, move, now, sale_id=sale_id, account=found)
    if found.referral_pending:   # the newcomer's first purchase may pay both sides
        referrals.reward_first_purchase(program, found.account_id, sale_id, q.total_minor, now)
    return reply


def applied_view(campaign: AppliedCampaign) -> dict[str, Any]:
    return {"id": campaign.id, "name": campaign.name, "labels": dict(campaign.labels),
            "points": campaign.points}


def _grant(program: Program, found: Any, q: Quote, running: Sequence[CampaignTerms],
           budgets_left: Mapping[int, int], now: dt.datetime,
           writes: Writes) -> tuple[int, tuple[AppliedCampaign, ...], int]:
    """What the sale really gives after the daily caps and the campaigns' budgets:
    (base + tier points, campaigns as granted, the total). The caps cut campaigns first.
    Budgets and the program's counter are charged in this order (`campaigns.charge_budgets`)."""
    earnable = caps.points_within_customer_cap(program, found.account_id, q.points_earned, now)
    own, applied = cut_to_grant(earnable, q.base_points, q.tier_points, q.campaigns)
    terms = {t.id: t for t in running}
    if applied:
        applied = campaigns.charge_budgets(applied, terms, budgets_left, writes)
    total = own + sum(c.points for c in applied)
    granted = caps.points_within_program_cap(program, total, found.issued_today, now, writes)
    if granted < total:
        charged = applied
        own, applied = cut_to_grant(granted, own, 0, applied)
        campaigns.return_to_budgets(charged, applied, terms)
    return own, applied, granted


@dataclass(frozen=True)
class MechanicsRead:
    """The tier's measure before the sale, the customer's uses of limited campaigns and
    what the running budgets had left (without their locks)."""
    measure: int
    uses: Mapping[int, int]
    budgets_left: Mapping[int, int]


def _mechanics_steps(program: Program, running: Sequence[CampaignTerms], params: dict[str, Any],
                     now: dt.datetime) -> list[Step]:
    """The reads a sale adds to its first round trip: the measure when the program has
    tiers, the uses when a running campaign has a per-customer limit, what budgets have
    left when one has a budget."""
    rules = rules_for(program)
    steps = []
    if rules.tiers:
        steps.append(Step(sale_reads.measure_of_card(rules),
                          {**params, "m_since": tiers.window_start(program, now)}))
    if campaigns.limited_ids(running):
        steps.append(Step(sale_reads.uses_of_card(), params))
    if campaigns.has_budget(running):
        steps.append(Step(campaigns.BUDGETS_LEFT, params))
    return steps


def _mechanics_of(program: Program, running: Sequence[CampaignTerms], read: Any,
                  now: dt.datetime) -> MechanicsRead:
    rules = rules_for(program)
    rows = iter(read.extras)
    measure = int(next(rows)[0][0] or 0) if rules.tiers else 0
    uses = {cid: n for cid, n in next(rows)} if campaigns.limited_ids(running) else {}
    left = {cid: n for cid, n in next(rows)} if campaigns.has_budget(running) else {}
    if not read.row.lots_current:   # the lock waited for another change: read them again
        measure = tiers.measure_of(program, read.row.account_id, now) if rules.tiers else 0
        uses = campaigns.uses_of(read.row.account_id, campaigns.limited_ids(running))
    return MechanicsRead(measure, uses, left)


def _locked_card_and_account(program: Program, card_number: Any, now: dt.datetime,
                             spends_lots: bool, claim: Claim | None,
                             running: Sequence[CampaignTerms] = ()
                             ) -> tuple[Any, list[tuple[int, int]], MechanicsRead]:
    """The card and its account, locked, settled and allowed to buy, its spendable lots, and
    what its tier and campaigns need; the key claimed in the same round trip."""
    number = normalize_number(card_number, rules_for(program))
    params = {"program_id": program.id, "number": number, "now": now,
              "day": local_day(program, now)}
    extras = _mechanics_steps(program, running, params, now)
    read = sale_reads.read_locked(params, spends_lots, claim, extras)
    if read.row is None:
        account_of_card(find_card(program, number))   # raises CardNotFound
        raise CardNotLinked()
    row = read.row
    if row.card_status in UNUSABLE_CARD_STATUSES:
        raise CardBlocked()
    if row.status != "active":
        raise AccountBlocked()
    if row.has_due_pending or row.has_expired_hold:
        bring_up_to_date(program, db.session.get(Account, row.account_id), now)
        read = sale_reads.read_locked(params, spends_lots, extras=extras)
    return read.row, read.lots, _mechanics_of(program, running, read, now)


def _ctx(program: Program, terminal: Terminal, now: dt.datetime, sale_id: int | None = None,
         staff_id: int | None = None) -> ledger.EntryContext:
    return ledger.EntryContext(program_id=program.id, now=now, sale_id=sale_id,
                               store_id=terminal.store_id, terminal_id=terminal.id,
                               staff_id=staff_id)


def _held_points(program: Program, terminal: Terminal, request: SaleRequest,
                 now: dt.datetime) -> int:
    if request.hold_id is None:
        return 0
    return holds.open_hold(program, terminal, request.hold_id, now).points


def _sale_row(program: Program, terminal: Terminal, request: SaleRequest, found: Any, q: Quote,
              points_earned: int, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": found.next_sale_id, "program_id": program.id, "store_id": terminal.store_id,
        "terminal_id": terminal.id, "staff_id": request.staff_id,
        "account_id": found.account_id, "card_id": found.card_id,
        "receipt_number": request.receipt_number, "kind": "sale", "status": "completed",
        "total_minor": q.total_minor, "points_redeemed": q.points_redeemed,
        "redeemed_minor": q.redeemed_minor, "cash_minor": q.cash_minor,
        "eligible_earn_minor": q.eligible_earn_minor, "earn_base_minor": q.earn_base_minor,
        "points_earned": points_earned, "returned_minor": 0, "returned_earn_base_minor": 0,
        "points_reversed": 0, "points_restored": 0, "created_at": now, "voided_at": None}


INSERT_SALE = insert(Sale.__table__)


def _spend_hold(program: Program, terminal: Terminal, hold_id: int, points: int, sale_id: int,
                now: dt.datetime) -> None:
    """Points held for this receipt pay for it; what is not used goes back."""
    if points:
        holds.capture_hold(program, terminal, hold_id, points, now, sale_id=sale_id)
    else:
        holds.void_hold(program, terminal, hold_id, now)


INSERT_LINES = SaleLine.__table__.insert()


def _line_rows(sale_id: int, lines: list[BasketLine], q: Quote) -> Step:
    return Step(INSERT_LINES, [
        {"sale_id": sale_id, "line_no": number, "sku": line.sku, "category": line.category,
         "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
         "amount_minor": line.amount_minor, "earn_base_minor": base, "returned_quantity": 0}
        for number, (line, base) in enumerate(zip(lines, q.line_earn_base_minor), start=1)])


# --- returns and voids ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnedLine:
    sku: str
    quantity: int


def find_sale(program: Program, sale_id: int, terminal: Terminal | None = None) -> Sale:
    """A sale of the program (of the terminal, when given), read under its account's lock."""
    sale = db.session.get(Sale, sale_id)
    if sale is None or sale.program_id != program.id or (
            terminal is not None and sale.terminal_id != terminal.id):
        raise SaleNotFound()
    ledger.lock_account(sale.account_id)
    db.session.refresh(sale)
    return sale


def record_return(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime, *,
                  amount_minor: int | None = None, lines: list[ReturnedLine] | None = None,
                  staff_id: int | None = None) -> dict[str, Any]:
    """Take back points earned on the returned part; give back points spent on it."""
    sale = find_sale(program, sale_id)
    if sale.status == "voided":
        raise SaleVoided()
    if lines:
        amount, base = _returned_lines(sale, lines)
    else:
        amount = amount_minor or 0
        base = None
    if amount <= 0:
        raise ValidationFailed("A return needs an amount or lines.", field="amount_minor")
    returned_after = sale.returned_minor + amount
    if returned_after > sale.total_minor:
        raise ReturnExceedsSale(
            f"At most {sale.total_minor - sale.returned_minor} can still be returned.",
            returnable_minor=sale.total_minor - sale.returned_minor)
    base_after = returned_earn_base(
        earn_base_minor=sale.earn_base_minor, total_minor=sale.total_minor,
        returned_base_before=sale.returned_earn_base_minor, returned_minor_after=returned_after,
        returned_lines_base=base)
    split = return_split(
        total_minor=sale.total_minor, cash_minor=sale.cash_minor,
        points_earned=sale.points_earned, points_redeemed=sale.points_redeemed,
        earn_base_minor=sale.earn_base_minor, returned_minor_before=sale.returned_minor,
        returned_minor_after=returned_after, returned_base_before=sale.returned_earn_base_minor,
        returned_base_after=base_after)
    reversed_now, balance = _unwind(program, terminal, sale, split.points_reversed,
                                    split.points_restored, "return", now, staff_id)
    sale.returned_minor, sale.returned_earn_base_minor = returned_after, base_after
    sale.points_reversed += split.points_reversed
    sale.points_restored += split.points_restored
    sale_return = SaleReturn(program_id=program.id, sale_id=sale.id, terminal_id=terminal.id,
                             staff_id=staff_id, amount_minor=amount,
                             points_reversed=reversed_now, points_restored=split.points_restored,
                             refund_cash_minor=split.refund_cash_minor, created_at=now)
    db.session.add(sale_return)
    db.session.flush()
    tiers.after_return(program, sale.account_id, now)
    notify.queue_balance_change(program, sale.account_id,
                                change=split.points_restored - reversed_now,
                                balance=balance["available"], now=now, store_id=terminal.store_id)
    return {"return_id": sale_return.id, "sale_id": sale.id, "amount_minor": amount,
            "points_reversed": reversed_now, "points_restored": split.points_restored,
            "refund_cash_minor": split.refund_cash_minor, "balance": balance}


def _returned_lines(sale: Sale, returned: list[ReturnedLine]) -> tuple[int, int]:
    """Mark lines returned; the money and the earning base they carry."""
    by_sku: dict[str, list[SaleLine]] = {}
    for line in db.session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id)
                                   .order_by(SaleLine.line_no)):
        by_sku.setdefault(line.sku, []).append(line)
    amount = base = 0
    for item in returned:
        want = item.quantity
        for line in by_sku.get(item.sku, []):
            take = min(want, line.quantity - line.returned_quantity)
            if take <= 0:
                continue
            base += returned_line_base(line.earn_base_minor, line.quantity,
                                       line.returned_quantity, line.returned_quantity + take)
            line.returned_quantity += take
            amount += take * line.unit_price_minor
            want -= take
        if want:
            raise ReturnExceedsSale(f"More of {item.sku!r} than is left on the receipt.",
                                    sku=item.sku)
    return amount, base


def _unwind(program: Program, terminal: Terminal, sale: Sale, reverse: int, restore: int,
            kind: str, now: dt.datetime, staff_id: int | None) -> tuple[int, dict[str, int]]:
    """Give back spent points, then take back earned ones; (points taken, balance after)."""
    ctx = _ctx(program, terminal, now, sale.id, staff_id)
    captured_holds = select(Hold.id).where(Hold.sale_id == sale.id)
    spent_entries = db.session.scalars(select(LedgerEntry.id).where(
        ((LedgerEntry.sale_id == sale.id) & (LedgerEntry.kind == "redeem"))
        | ((LedgerEntry.kind == "hold") & LedgerEntry.hold_id.in_(captured_holds)))).all()
    ledger.give_back(ctx, sale.account_id, restore, f"{kind}_restore", spent_entries)
    taken = ledger.take_back(ctx, sale.account_id, reverse, f"{kind}_reverse",
                             rules_for(program).allow_negative_balance)
    current = ledger.lock_account(sale.account_id)
    return taken, {"available": current.available, "pending": current.pending}


def void_sale(program: Program, terminal: Terminal, sale_id: int, now: dt.datetime,
              staff_id: int | None = None) -> dict[str, Any]:
    """Undo what is left of a sale, once, on the terminal that made it."""
    sale = find_sale(program, sale_id, terminal)
    if sale.status == "voided":
        raise SaleVoided("This sale was already voided.")
    if not void_window_open(rules_for(program), sale.created_at, now,
                            local_day(program, sale.created_at), local_day(program, now)):
        raise VoidWindowClosed()
    reverse = sale.points_earned - sale.points_reversed
    restore = sale.points_redeemed - sale.points_restored
    taken, balance = _unwind(program, terminal, sale, reverse, restore, "void", now, staff_id)
    sale.points_reversed, sale.points_restored = sale.points_earned, sale.points_redeemed
    sale.status, sale.voided_at = "voided", now
    db.session.flush()
    tiers.after_return(program, sale.account_id, now)
    notify.queue_balance_change(program, sale.account_id, change=restore - taken,
                                balance=balance["available"], now=now, store_id=terminal.store_id)
    return {"sale_id": sale.id, "status": "voided", "points_reversed": taken,
            "points_restored": restore, "balance": balance}
