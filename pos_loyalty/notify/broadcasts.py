"""Messages the brand sends to a segment of its customers: a promotion, news.

Each customer of the segment gets one outbox row per channel they hear on (`channels`: push
to the brand app, else SMS, as they chose), kind "promotion", in their language; the worker
sends the rows as it sends any, in the quiet hours' wake. A broadcast is written a chunk of
accounts at a time, in order of account id, each chunk one transaction that also moves
`Broadcast.next_account_id` on: a write that stops half-way resumes after its last chunk and
writes nobody twice.

Segments: "all" (every active account), "tier:<key>" (a rung of the program's ladder),
"store:<id>" (enrolled at the store, or bought there in the last [broadcasts] store_days),
"inactive:<days>" (enrolled more than that many days ago, no purchase since). Blocked and
closed (erased) accounts are never written to. A segment is judged at the broadcast's
`created_at`, so a resumed write draws from the same customers.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, func, insert, or_, select, update

from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import NotFound, ValidationFailed
from pos_loyalty.models import Account, Broadcast, OutboxMessage, Program, Sale, Store
from pos_loyalty.notify.channels import PUSH, SMS, message_channels, push_config
from pos_loyalty.notify.outbox import can_text, message_row
from pos_loyalty.notify.texts import language_of
from pos_loyalty.payloads import is_plain_text
from pos_loyalty.programs import rules_for, settings

KIND = "promotion"
TITLE_MAX = 65      # what a phone's notification shows of a title
TEXT_MAX = 480      # three SMS segments of GSM-7
SEGMENT_KINDS = ("all", "tier", "store", "inactive")
INACTIVE_DAYS_MAX = 3650
# What the channel choice and the text need of an account, read a chunk at a time.
ACCOUNT_COLUMNS = (Account.id, Account.notify_channel, Account.push_devices, Account.phone_e164,
                   Account.sms_opt_out, Account.sms_invalid, Account.status, Account.locale)


@dataclass(frozen=True)
class Segment:
    """A parsed segment: its kind and its value (a tier's key, a store's id, a number of
    days; None for "all")."""
    kind: str
    value: str | int | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def broadcast_settings() -> dict[str, Any]:
    return settings()["broadcasts"]


# --- segments -----------------------------------------------------------------------------

def parse_segment(text: str) -> Segment:
    """"all", "tier:gold", "store:3" or "inactive:90"; ValidationFailed naming "segment"."""
    kind, _sep, value = (text or "").strip().partition(":")
    if kind == "all" and not value:
        return Segment("all")
    if kind == "tier" and value:
        return Segment("tier", value)
    if kind in ("store", "inactive"):
        number = _whole_number(value)
        if number is not None and (kind == "store" or 1 <= number <= INACTIVE_DAYS_MAX):
            return Segment(kind, number)
        if kind == "inactive":
            raise ValidationFailed(f"inactive:<days> takes 1 to {INACTIVE_DAYS_MAX} days.",
                                   field="segment")
    raise ValidationFailed("A segment is all, tier:<key>, store:<id> or inactive:<days>.",
                           field="segment")


def _whole_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def checked_segment(program: Program, text: str) -> Segment:
    """The segment, its tier in the program's ladder and its store one of the program's."""
    segment = parse_segment(text)
    if segment.kind == "tier" and segment.value not in {r.key for r in rules_for(program).tiers}:
        raise ValidationFailed(f"The program has no tier {segment.value!r}.", field="segment")
    if segment.kind == "store":
        store = db.session.get(Store, segment.value)
        if store is None or store.program_id != program.id:
            raise ValidationFailed(f"The program has no store {segment.value}.",
                                   field="segment")
    return segment


def segment_filter(program: Program, segment: Segment, as_of: dt.datetime) -> ColumnElement[bool]:
    """Which of the program's accounts the segment holds at `as_of` (active ones, enrolled by
    then: one enrolled while a broadcast is written does not join it)."""
    base = and_(Account.program_id == program.id, Account.status == "active",
                Account.created_at <= as_of)
    if segment.kind == "tier":
        return and_(base, Account.tier == segment.value)
    if segment.kind == "store":
        since = as_of - dt.timedelta(days=broadcast_settings()["store_days"])
        return and_(base, or_(Account.enrolled_store_id == segment.value,
                              _bought(program, since, as_of, Sale.store_id == segment.value)))
    if segment.kind == "inactive":
        since = as_of - dt.timedelta(days=int(segment.value))  # type: ignore[arg-type]
        return and_(base, Account.created_at < since, ~_bought(program, since, as_of))
    return base


def _bought(program: Program, since: dt.datetime, until: dt.datetime,
            *where: ColumnElement[bool]) -> Any:
    """The account has a purchase (not voided) in [since, until]."""
    return exists(select(Sale.id).where(
        Sale.account_id == Account.id, Sale.program_id == program.id, Sale.kind == "sale",
        Sale.status != "voided", Sale.created_at >= since, Sale.created_at <= until, *where))


def segment_accounts(program: Program, segment: Segment, as_of: dt.datetime, from_id: int,
                     limit: int) -> list[Row[Any]]:
    """The next `limit` accounts of the segment with an id from `from_id` on, by id."""
    return list(db.session.execute(
        select(*ACCOUNT_COLUMNS).where(segment_filter(program, segment, as_of),
                                       Account.id >= from_id)
        .order_by(Account.id).limit(limit)))


def _chunks(program: Program, segment: Segment, as_of: dt.datetime,
            size: int) -> Iterator[list[Row[Any]]]:
    from_id = 0
    while True:
        accounts = segment_accounts(program, segment, as_of, from_id, size)
        if accounts:
            yield accounts
        if len(accounts) < size:
            return
        from_id = accounts[-1].id + 1


def account_channels(account: Any, push_only: bool, config: dict[str, Any]) -> tuple[str, ...]:
    """The channels a broadcast reaches `account` by (a row of ACCOUNT_COLUMNS)."""
    channels = message_channels(account, KIND, can_text=can_text(account), config=config)
    return tuple(c for c in channels if c == PUSH) if push_only else channels


def segment_size(program: Program, segment: str, push_only: bool,
                 now: dt.datetime) -> dict[str, int]:
    """How many accounts the segment holds now, how many a push reaches, how many an SMS
    (a customer who chose "both" counts in each), and how many hear nothing."""
    parsed = checked_segment(program, segment)
    config = push_config(program)
    counts = {"accounts": 0, "push": 0, "sms": 0, "none": 0}
    for accounts in _chunks(program, parsed, now, broadcast_settings()["chunk_accounts"]):
        for account in accounts:
            channels = account_channels(account, push_only, config)
            counts["accounts"] += 1
            counts["push"] += PUSH in channels
            counts["sms"] += SMS in channels
            counts["none"] += not channels
    return counts


# --- the message --------------------------------------------------------------------------

def checked_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed("A broadcast needs a title.", field="title")
    if len(title) > TITLE_MAX or not is_plain_text(title):
        raise ValidationFailed(f"The title is plain text of {TITLE_MAX} characters at most.",
                               field="title")
    return title


def checked_texts(texts: Mapping[str, str]) -> dict[str, str]:
    """{language: text}, blank ones left out; at least one. Lines are kept, spaces tidied."""
    checked = {}
    for language, given in texts.items():
        field = f"texts.{language}"
        if not (isinstance(language, str) and language.isascii() and language.isalpha()
                and language.islower() and 2 <= len(language) <= 3):
            raise ValidationFailed("A text's language is a code such as fr or en.", field=field)
        lines = [" ".join(line.split()) for line in str(given or "").splitlines()]
        text = "\n".join(line for line in lines if line)
        if len(text) > TEXT_MAX or not is_plain_text(text.replace("\n", " ")):
            raise ValidationFailed(f"A text is plain text of {TEXT_MAX} characters at most.",
                                   field=field)
        if text:
            checked[language] = text
    if not checked:
        raise ValidationFailed("Give the text in one language at least.", field="texts")
    return checked


def text_for(program: Program, texts: Mapping[str, str], account: Any) -> str:
    """The customer's language's text, else the program's, else the first given."""
    return (texts.get(language_of(program, account)) or texts.get(language_of(program, None))
            or next(iter(texts.values())))


# --- writing ------------------------------------------------------------------------------

def start_broadcast(program: Program, *, title: str, texts: Mapping[str, str], segment: str,
                    push_only: bool, actor: str, now: dt.datetime,
                    send_key: str | None = None) -> Broadcast:
    """A broadcast to write, checked (title, texts, segment), in the caller's transaction.
    `send_key`: the form's, unique in the program (see `broadcast_sent_with`)."""
    broadcast = Broadcast(
        program_id=program.id, title=checked_title(title), texts=checked_texts(texts),
        segment=str(checked_segment(program, segment)), push_only=push_only, status="writing",
        accounts=0, push_rows=0, sms_rows=0, skipped=0, next_account_id=0,
        created_by=actor, send_key=send_key or None, created_at=now)
    db.session.add(broadcast)
    db.session.flush()
    return broadcast


def broadcast_sent_with(program: Program, send_key: str) -> Broadcast | None:
    """The broadcast a form with this key started already (a second click on "Send")."""
    return db.session.scalar(select(Broadcast).where(Broadcast.program_id == program.id,
                                                     Broadcast.send_key == send_key))


def write_broadcast(program: Program, broadcast_id: int, now: dt.datetime,
                    chunk: int | None = None, max_accounts: int | None = None) -> Broadcast:
    """Write the broadcast's rows from where it stopped, a chunk (default [broadcasts]
    chunk_accounts) per transaction, until the segment is done, or once `max_accounts` more
    accounts are written (the back office's requests). Written or cancelled: nothing to do."""
    size = chunk or broadcast_settings()["chunk_accounts"]
    walked = 0   # accounts this call read at most
    while True:
        broadcast = write_chunk(program, broadcast_id, now, size)
        walked += size
        if broadcast.status != "writing" or (max_accounts is not None
                                             and walked >= max_accounts):
            return broadcast


def write_chunk(program: Program, broadcast_id: int, now: dt.datetime, chunk: int) -> Broadcast:
    """One transaction: the next `chunk` accounts' rows, and the broadcast moved past them
    (written once fewer remain)."""
    def work() -> Broadcast:
        broadcast = locked_broadcast(program, broadcast_id)
        if broadcast.status != "writing":
            return broadcast
        accounts = segment_accounts(program, parse_segment(broadcast.segment),
                                    broadcast.created_at, broadcast.next_account_id, chunk)
        _write_rows(program, broadcast, accounts, now)
        if accounts:
            broadcast.next_account_id = accounts[-1].id + 1
        if len(accounts) < chunk:
            broadcast.status, broadcast.finished_at = "written", now
        db.session.flush()
        return broadcast
    return run_in_transaction(work)


def _write_rows(program: Program, broadcast: Broadcast, accounts: list[Row[Any]],
                now: dt.datetime) -> None:
    config = push_config(program)
    payload = {"title": broadcast.title, "broadcast_id": broadcast.id}
    rows, channels_written = [], Counter[str]()
    for account in accounts:
        channels = account_channels(account, broadcast.push_only, config)
        body = text_for(program, broadcast.texts, account)
        rows += [message_row(program, account.id, KIND, account.phone_e164, body, now,
                             payload=payload, channel=channel) for channel in channels]
        channels_written.update(channels)
        broadcast.skipped += not channels
    broadcast.accounts += len(accounts)
    broadcast.push_rows += channels_written[PUSH]
    broadcast.sms_rows += channels_written[SMS]
    if not rows:
        return
    ids = db.session.scalars(insert(OutboxMessage).returning(OutboxMessage.id), rows).all()
    broadcast.first_message_id = min(broadcast.first_message_id or min(ids), min(ids))
    broadcast.last_message_id = max(broadcast.last_message_id or 0, max(ids))


def locked_broadcast(program: Program, broadcast_id: int) -> Broadcast:
    """The program's broadcast, read again and locked (PostgreSQL) for a change."""
    broadcast = db.session.scalar(
        select(Broadcast).where(Broadcast.id == broadcast_id,
                                Broadcast.program_id == program.id)
        .with_for_update().execution_options(populate_existing=True))
    if broadcast is None:
        raise NotFound(f"No broadcast {broadcast_id} in this program.")
    return broadcast


def cancel_broadcast(program: Program, broadcast_id: int, now: dt.datetime) -> int:
    """Stop a broadcast: nothing more is written, and its rows still queued are cancelled
    (those sent stay sent). In the caller's transaction; the rows cancelled."""
    broadcast = locked_broadcast(program, broadcast_id)
    if broadcast.status == "writing":
        broadcast.status, broadcast.finished_at = "cancelled", now
    elif broadcast.status == "written":
        broadcast.status = "cancelled"
    if broadcast.first_message_id is None:
        return 0
    result = db.session.execute(
        update(OutboxMessage).where(_rows_of(broadcast), OutboxMessage.status == "queued")
        .values(status="cancelled", last_error="broadcast cancelled", status_changed_at=now))
    return result.rowcount


def _rows_of(broadcast: Broadcast) -> ColumnElement[bool]:
    """The broadcast's outbox rows: found by their ids' range (the primary key), then told
    apart from another broadcast's written at the same time by the id in their payload."""
    return and_(OutboxMessage.id.between(broadcast.first_message_id, broadcast.last_message_id),
                OutboxMessage.program_id == broadcast.program_id, OutboxMessage.kind == KIND,
                OutboxMessage.payload["broadcast_id"].as_integer() == broadcast.id)


def message_statuses(broadcast: Broadcast) -> dict[str, dict[str, int]]:
    """{channel: {status: rows}} of the broadcast's rows now (queued, sent, delivered, ...)."""
    statuses: dict[str, dict[str, int]] = {}
    if broadcast.first_message_id is None:
        return statuses
    for channel, status, count in db.session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .where(_rows_of(broadcast))
            .group_by(OutboxMessage.channel, OutboxMessage.status)):
        statuses.setdefault(channel, {})[status] = count
    return statuses
