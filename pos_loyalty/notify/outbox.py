"""Writing SMS into the outbox, inside the caller's transaction, and counting them.

A row is written in the same transaction as the ledger change it tells about, so a sale and its
SMS are saved together or not at all; the worker sends it later. A balance change or an expiry
warning is saved as its event and numbers (`payload`), not as text: the worker writes the text
when it sends it (`render_event`), in the customer's language then, which also keeps Babel's
formatting off the checkout.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, func, insert, or_, select, update

from pos_loyalty import ledger
from pos_loyalty.db import db
from pos_loyalty.models import Account, OutboxMessage, PointLot, Program, Store
from pos_loyalty.notify.channels import SMS, WALLET, message_channels, push_config
from pos_loyalty.notify.segments import count_segments
from pos_loyalty.notify.texts import bonus_text, offers_text, render, sms_config, tier_text
from pos_loyalty.statements import Step, Writes

BALANCE_KIND = "balance"
EXPIRY_KIND = "expiry"
# Bonuses paid outside a sale (bonuses.pay_bonus), and a tier reached or lost: event rows.
BONUS_KINDS = ("signup", "birthday", "referral")
TIER_KIND = "tier"
# Statuses of a row the worker has not handed to the provider yet.
WAITING = ("queued", "sending")


def can_text(account: Account | None) -> bool:
    return (account is not None and bool(account.phone_e164) and not account.sms_opt_out
            and not account.sms_invalid and account.status != "closed")


def queue_message(program: Program, account_id: int | None, kind: str, to_phone: str,
                  body: str | None, now: dt.datetime, payload: dict[str, Any] | None = None,
                  send_after: dt.datetime | None = None) -> OutboxMessage:
    """Any SMS: with its text (a one-time code, which cannot wait to be written), or with
    `body` None and its event in `payload`, for the worker to write at send time."""
    return _saved(message_row(program, account_id, kind, to_phone, body, now, payload,
                              send_after))


def _saved(row: dict[str, Any]) -> OutboxMessage:
    message = OutboxMessage(**row)
    db.session.add(message)
    db.session.flush()
    return message


def message_row(program: Program, account_id: int | None, kind: str, to_phone: str | None,
                body: str | None, now: dt.datetime, payload: dict[str, Any] | None = None,
                send_after: dt.datetime | None = None, store_id: int | None = None,
                channel: str = SMS) -> dict[str, Any]:
    """The values of one outbox row: when it may go, and its text if it has one yet. A push
    waits out the quiet hours as an SMS does; a wallet update, which says nothing, does not."""
    config = sms_config(program)
    if send_after is None:
        send_after = now if kind in config["urgent_kinds"] or channel == WALLET else \
            after_quiet_hours(now, program.timezone, config)
    return {"program_id": program.id, "account_id": account_id, "store_id": store_id, "kind": kind,
            "channel": channel, "to_phone": to_phone if channel == SMS else None,
            **_sized_text(body, channel), "status": "queued", "attempts": 0,
            "send_after": send_after, "payload": payload, "created_at": now,
            "status_changed_at": now}


def _sized_text(body: str | None, channel: str = SMS) -> dict[str, Any]:
    """A row's text columns: the text, and for an SMS its encoding and segment count (all None
    until written)."""
    if body is None or channel != SMS:
        return {"body": body, "segments": None, "encoding": None}
    size = count_segments(body)
    return {"body": body, "segments": size.segments, "encoding": size.encoding}


def queue_balance_change(program: Program, account_id: int, *, change: int, balance: int,
                         now: dt.datetime, store_id: int | None = None, earned: int = 0,
                         spent: int = 0,
                         offers: list[dict[str, Any]] | None = None) -> OutboxMessage | None:
    """The message "+25 points at <store>, balance ..." after a credit or debit, by push or
    SMS as the customer chose (`channels.message_channels`); the first row written, if any.

    A sale that both earned and spent points says both, and names the campaigns that gave
    points (`offers`: [{"campaign_id", "points"}]). Within the merge window, a change joins
    the customer's message of the same channel still waiting to go, which then tells the
    summed change and the final balance (and no campaign: the sum is no one sale's). The row
    holds these numbers; its text is written when it is sent.
    """
    config = sms_config(program)
    if not _tells_change(config, change, earned, spent):
        return None
    account = db.session.get(Account, account_id)
    payload = _change_payload(change, balance, store_id, earned, spent, offers)
    written = None
    for channel in _channels(program, account, BALANCE_KIND):
        waiting = (_waiting_balance_message(account_id, now, channel)
                   if config["merge_window_seconds"] else None)
        row = _merge(waiting, payload, now) if waiting is not None else _saved(_balance_row(
            program, account_id, account.phone_e164, payload, config, now, store_id, channel))
        written = written or row
    return written


def defer_balance_change(program: Program, account: Any, *, change: int, balance: int,
                         now: dt.datetime, store_id: int | None = None, earned: int = 0,
                         spent: int = 0, offers: list[dict[str, Any]] | None = None,
                         writes: Writes) -> None:
    """As queue_balance_change, for a caller holding the account's row: the inserts join
    the caller's `writes`.

    `account` is anything with the Account columns the message needs (the checkout's locked
    row). With a merge window the waiting message must be read first, so that case queues as
    usual.
    """
    config = sms_config(program)
    if not _tells_change(config, change, earned, spent):
        return
    channels = _channels(program, account, BALANCE_KIND)
    if not channels:
        return
    if config["merge_window_seconds"]:
        queue_balance_change(program, account.account_id, change=change, balance=balance,
                             now=now, store_id=store_id, earned=earned, spent=spent,
                             offers=offers)
        return
    payload = _change_payload(change, balance, store_id, earned, spent, offers)
    rows = [_balance_row(program, account.account_id, account.phone_e164, payload, config, now,
                         store_id, channel) for channel in channels]
    writes.add(Step(INSERT_MESSAGE, rows[0] if len(rows) == 1 else rows))


def queue_event(program: Program, account: Any, kind: str, now: dt.datetime,
                payload: dict[str, Any], *, account_id: int | None = None) -> None:
    """A bonus paid or a tier changed (an event row, its text written when sent), by push
    or SMS as the customer chose. `account`: an Account, or a row with its columns and
    `account_id`."""
    account_id = account_id if account_id is not None else getattr(account, "id", None)
    for channel in _channels(program, account, kind):
        _saved(message_row(program, account_id, kind, account.phone_e164, None, now, payload,
                           channel=channel))


def _channels(program: Program, account: Any, kind: str) -> tuple[str, ...]:
    if account is None or account.status == "closed":
        return ()
    return message_channels(account, kind, can_text=can_text(account),
                            config=push_config(program))


INSERT_MESSAGE = insert(OutboxMessage.__table__)


def _tells_change(config: dict[str, Any], change: int, earned: int, spent: int) -> bool:
    return bool(config["balance_enabled"]) and (change != 0 or (earned > 0 and spent > 0))


def _change_payload(change: int, balance: int, store_id: int | None, earned: int,
                    spent: int, offers: list[dict[str, Any]] | None) -> dict[str, Any]:
    store = db.session.get(Store, store_id) if store_id is not None else None
    payload: dict[str, Any] = {"change": change, "balance": balance,
                               "store": store.name if store else None}
    if earned > 0 and spent > 0:
        payload.update(earned=earned, spent=spent)
    if offers:
        payload["offers"] = [{"campaign_id": int(offer["campaign_id"]),
                              "points": int(offer["points"])} for offer in offers]
    return payload


def _balance_row(program: Program, account_id: int, to_phone: str | None,
                 payload: dict[str, Any], config: dict[str, Any], now: dt.datetime,
                 store_id: int | None, channel: str = SMS) -> dict[str, Any]:
    window = dt.timedelta(seconds=config["merge_window_seconds"])
    return message_row(program, account_id, BALANCE_KIND, to_phone, None, now, payload,
                       after_quiet_hours(now + window, program.timezone, config), store_id,
                       channel)


def event_text(program: Program, account: Account | None, kind: str, payload: dict[str, Any],
               config: dict[str, Any]) -> str:
    """The text of an event row, in the language `account` has now."""
    if kind == BALANCE_KIND:
        return balance_text(program, account, payload, config)
    if kind == EXPIRY_KIND:
        return render(program, account, "expiry", config, points=payload["points"],
                      date=dt.date.fromisoformat(payload["date"]), balance=payload["balance"])
    if kind in BONUS_KINDS:
        return bonus_text(program, account, kind, payload, config)
    if kind == TIER_KIND:
        return tier_text(program, account, payload, config)
    raise ValueError(f"no text for an outbox event of kind {kind!r}")


def render_event(message: OutboxMessage, program: Program, account: Account | None,
                 config: dict[str, Any]) -> None:
    """Write the text of a row that holds only its event (the worker, just before sending)."""
    text = event_text(program, account, message.kind, message.payload, config)
    for column, value in _sized_text(text, message.channel).items():
        setattr(message, column, value)


def message_text(program: Program, account: Account | None, message: OutboxMessage) -> str:
    """What an SMS says: its text once written, else its event as it would be written now."""
    if message.body is not None:
        return message.body
    return event_text(program, account, message.kind, message.payload, sms_config(program))


def balance_text(program: Program, account: Account | None, payload: dict[str, Any],
                 config: dict[str, Any]) -> str:
    change = payload["change"]
    offers = offers_text(program, account, payload["offers"], config) \
        if payload.get("offers") else None
    if payload.get("earned") and payload.get("spent"):
        return render(program, account, "sale_offer" if offers else "sale", config,
                      earned=payload["earned"], spent=payload["spent"],
                      balance=payload["balance"], store=payload["store"], offers=offers)
    template = "credit" if change > 0 else "debit"
    return render(program, account, f"{template}_offer" if offers and change > 0 else template,
                  config, points=abs(change), balance=payload["balance"],
                  store=payload["store"], offers=offers)


def _waiting_balance_message(account_id: int, now: dt.datetime,
                             channel: str) -> OutboxMessage | None:
    """The customer's balance message of `channel` still in its merge window, locked
    (PostgreSQL)."""
    return db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.account_id == account_id,
                                    OutboxMessage.kind == BALANCE_KIND,
                                    OutboxMessage.channel == channel,
                                    OutboxMessage.status == "queued",
                                    OutboxMessage.send_after > now)
        .order_by(OutboxMessage.id.desc()).limit(1)
        .with_for_update().execution_options(populate_existing=True))


def _merge(message: OutboxMessage, payload: dict[str, Any], now: dt.datetime) -> OutboxMessage:
    """The waiting SMS tells the summed change now; a text written by older code is dropped."""
    merged = {"change": message.payload["change"] + payload["change"],
              "balance": payload["balance"], "store": payload["store"] or message.payload["store"]}
    message.payload = merged
    message.body = message.segments = message.encoding = None
    if merged["change"] == 0:
        message.status, message.last_error = "cancelled", "the merged changes cancel out"
        message.status_changed_at = now
    db.session.flush()
    return message


def after_quiet_hours(moment: dt.datetime, timezone: str, config: dict[str, Any]) -> dt.datetime:
    """`moment` (naive UTC), or the end of the quiet hours it falls in (program's local time)."""
    start, end = config.get("quiet_hours_start"), config.get("quiet_hours_end")
    if not start or not end or start == end:
        return moment
    zone = ZoneInfo(timezone)
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone)
    begins, ends = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    now_time = local.time().replace(tzinfo=None)
    quiet = begins <= now_time < ends if begins < ends else (now_time >= begins or now_time < ends)
    if not quiet:
        return moment
    day = local.date() if now_time < ends else local.date() + dt.timedelta(days=1)
    wake = dt.datetime.combine(day, ends, tzinfo=zone)
    return wake.astimezone(dt.UTC).replace(tzinfo=None)


def queue_expiry_warnings(program: Program, now: dt.datetime) -> int:
    """Warn customers whose points expire within the warning days, once per lot; SMS written."""
    config = sms_config(program)
    days = config["expiry_warning_days"]
    if days <= 0:
        return 0
    zone = ZoneInfo(program.timezone)
    groups: dict[tuple[int, dt.date], list[tuple[int, int]]] = defaultdict(list)
    for account_id, lot_id, remaining, expires_at in lots_to_warn(program, now, days):
        day = expires_at.replace(tzinfo=dt.UTC).astimezone(zone).date()
        groups[(account_id, day)].append((lot_id, remaining))
    written = 0
    for (account_id, day), members in groups.items():
        balance = ledger.lock_account(account_id)  # the account first, as every change does
        account = db.session.get(Account, account_id)
        points = sum(remaining for _, remaining in members)
        queue_event(program, account, EXPIRY_KIND, now,
                    {"points": points, "date": day.isoformat(), "balance": balance.available})
        db.session.execute(update(PointLot).where(PointLot.id.in_([i for i, _ in members]))
                           .values(expiry_warned_at=now))
        written += 1
    return written


def lots_to_warn(program: Program, now: dt.datetime,
                 days: int) -> list[Row[tuple[int, int, int, dt.datetime]]]:
    """(account id, lot id, remaining, expires_at) of the lots expiring within `days` that no
    message warned of yet, of customers who may be texted or pushed to, by account then
    expiry.

    The lots come from ix_point_lot_expiring (those expiring in these days only); their
    accounts are then checked by id. One join would do, but the planner, which cannot tell
    how few of those lots are still unwarned, hashes every account of the program for it."""
    lots = db.session.execute(
        select(PointLot.account_id, PointLot.id, PointLot.remaining, PointLot.expires_at)
        .where(PointLot.program_id == program.id, PointLot.released.is_(True),
               PointLot.remaining > 0, PointLot.expiry_warned_at.is_(None),
               PointLot.expires_at > now, PointLot.expires_at <= now + dt.timedelta(days=days))
        .order_by(PointLot.account_id, PointLot.expires_at)).all()
    reachable = _reachable_accounts(sorted({lot.account_id for lot in lots}))
    return [lot for lot in lots if lot.account_id in reachable]


ACCOUNTS_PER_READ = 1000


def _reachable_accounts(account_ids: list[int]) -> set[int]:
    """Those of `account_ids` whose customer may get an SMS (as can_text says) or a push."""
    found: set[int] = set()
    textable = and_(Account.phone_e164.is_not(None), Account.sms_opt_out.is_(False),
                    Account.sms_invalid.is_(False))
    for start in range(0, len(account_ids), ACCOUNTS_PER_READ):
        found.update(db.session.scalars(select(Account.id).where(
            Account.id.in_(account_ids[start:start + ACCOUNTS_PER_READ]),
            or_(textable, Account.push_devices > 0), Account.status != "closed")))
    return found


def cancel_waiting(account_ids: list[int], reason: str, now: dt.datetime,
                   urgent_kinds: list[str]) -> int:
    """Customers who opted out or whose number is invalid: drop what is still queued for them."""
    if not account_ids:
        return 0
    result = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.account_id.in_(account_ids),
                                    OutboxMessage.status == "queued",
                                    OutboxMessage.kind.not_in(urgent_kinds))
        .values(status="cancelled", last_error=reason, status_changed_at=now))
    return result.rowcount


STATS_ORDER = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "dead",
               "cancelled")


def sms_stats(program_id: int | None = None, since: dt.datetime | None = None,
              until: dt.datetime | None = None, store_id: int | None = None) -> dict[str, int]:
    """Rows per status (created in [since, until) when given, about `store_id`'s changes when
    given) and the segments handed over."""
    query = select(OutboxMessage.status, func.count(), func.coalesce(func.sum(
        OutboxMessage.segments), 0)).where(OutboxMessage.channel == SMS) \
        .group_by(OutboxMessage.status)
    if program_id is not None:
        query = query.where(OutboxMessage.program_id == program_id)
    if store_id is not None:
        query = query.where(OutboxMessage.store_id == store_id)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    if until is not None:
        query = query.where(OutboxMessage.created_at < until)
    counts = dict.fromkeys(STATS_ORDER, 0)
    handed_over = 0
    for status, count, segments in db.session.execute(query):
        counts[status] = count
        if status in ("sent", "delivered", "undelivered", "failed"):
            handed_over += segments
    counts["segments_sent"] = handed_over
    return counts
