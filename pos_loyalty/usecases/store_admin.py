"""Stores and their terminals as an admin keeps them in the back office.

A store's details are what the phone's /stores shows. A terminal's API key is shown once, at
its creation, and only its hash is kept; a revoked terminal stays listed (its sales name it)
and never works again. Every change is audited in its own transaction, with the record as it
was before and after (never a key).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select

from pos_loyalty import audit, programs
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.errors import NotFound, StoreHasHistory, StoreHasStaff, ValidationFailed
from pos_loyalty.models import (
    Hold, LedgerEntry, OutboxMessage, Program, Sale, SaleReturn, Staff, Store, Terminal,
)
from pos_loyalty.payloads import plain_text
from pos_loyalty.staff_auth import WEB_TILL_NAME

STORE_FIELDS = (*programs.STORE_TEXTS, *programs.COORDINATE_LIMITS)


@dataclass(frozen=True)
class StoreRow:
    """A line of the stores' list: the store, its working keyed terminals, its staff."""
    store: Store
    active_terminals: int
    staff: int


def store_list(program: Program) -> list[StoreRow]:
    def read() -> list[StoreRow]:
        terminals = _counts(select(Terminal.store_id, func.count()).where(
            Terminal.program_id == program.id, Terminal.active.is_(True),
            Terminal.name != WEB_TILL_NAME).group_by(Terminal.store_id))
        staff = _counts(select(Staff.store_id, func.count()).where(
            Staff.program_id == program.id).group_by(Staff.store_id))
        stores = db.session.scalars(select(Store).where(Store.program_id == program.id)
                                    .order_by(Store.name, Store.id))
        return [StoreRow(store, terminals.get(store.id, 0), staff.get(store.id, 0))
                for store in stores]
    return retry_read(read)


def _counts(query: Any) -> dict[int, int]:
    return {store_id: count for store_id, count in db.session.execute(query)}


@dataclass(frozen=True)
class TerminalRow:
    terminal: Terminal
    is_web_till: bool   # the cashier UI's till of the store: it has no key to show or revoke


@dataclass(frozen=True)
class StorePage:
    store: Store
    terminals: list[TerminalRow]
    staff: list[Staff]


def store_page(program: Program, store_id: int) -> StorePage:
    """A store, its terminals (working ones first) and the logins that belong to it."""
    def read() -> StorePage:
        store = programs.get_store(program, store_id)
        terminals = db.session.scalars(select(Terminal).where(Terminal.store_id == store.id)
                                       .order_by(Terminal.active.desc(), Terminal.id))
        staff = db.session.scalars(select(Staff).where(Staff.store_id == store.id)
                                   .order_by(Staff.username))
        return StorePage(store, [TerminalRow(t, t.name == WEB_TILL_NAME) for t in terminals],
                         list(staff))
    return retry_read(read)


def create_store(program: Program, details: dict[str, Any], actor: str,
                 now: dt.datetime) -> Store:
    """A new store from the typed details (checked: `programs.checked_store_details`)."""
    def work() -> Store:
        store = programs.create_store(program, details.get("name", ""), **{
            field: details.get(field) for field in STORE_FIELDS if field != "name"})
        store.created_at = now
        audit.record(program, actor, "store_created", _target(store), now,
                     after=_details_of(store))
        return store
    return run_in_transaction(work)


def update_store(program: Program, store_id: int, details: dict[str, Any], actor: str,
                 now: dt.datetime) -> Store:
    """New details for a store; nothing is recorded when nothing changed."""
    def work() -> Store:
        store = programs.get_store(program, store_id)
        before, after = _details_of(store), programs.checked_store_details(details)
        if after == before:
            return store
        for field, value in after.items():
            setattr(store, field, value)
        audit.record(program, actor, "store_updated", _target(store), now, before=before,
                     after=after)
        return store
    return run_in_transaction(work)


def delete_store(program: Program, store_id: int, actor: str, now: dt.datetime) -> None:
    """Delete a store set up by mistake, with its terminals. A store where anything happened
    (sales, points, SMS) keeps its history and cannot be deleted, nor one that logins still
    belong to. Stores are not switched off: that is not modelled."""
    def work() -> None:
        store = programs.get_store(program, store_id)
        if _has_history(store):
            raise StoreHasHistory()
        staff = db.session.scalar(select(func.count()).select_from(Staff)
                                  .where(Staff.store_id == store.id))
        if staff:
            raise StoreHasStaff(staff=staff)
        before = _details_of(store)
        db.session.execute(delete(Terminal).where(Terminal.store_id == store.id))
        db.session.delete(store)
        audit.record(program, actor, "store_deleted", _target(store), now, before=before)
    run_in_transaction(work)


def _has_history(store: Store) -> bool:
    terminals = select(Terminal.id).where(Terminal.store_id == store.id).scalar_subquery()
    traces = (
        select(Sale.id).where(or_(Sale.store_id == store.id, Sale.terminal_id.in_(terminals))),
        select(SaleReturn.id).where(SaleReturn.terminal_id.in_(terminals)),
        select(LedgerEntry.id).where(or_(LedgerEntry.store_id == store.id,
                                         LedgerEntry.terminal_id.in_(terminals))),
        select(Hold.id).where(Hold.terminal_id.in_(terminals)),
        select(OutboxMessage.id).where(OutboxMessage.store_id == store.id),
    )
    return any(db.session.scalar(trace.limit(1)) is not None for trace in traces)


@dataclass(frozen=True)
class NewTerminal:
    """A terminal just made, with its API key: the only time the key is known."""
    terminal: Terminal
    store: Store
    api_key: str


def create_terminal(program: Program, store_id: int, name: Any, actor: str,
                    now: dt.datetime) -> NewTerminal:
    """A till terminal for the POS software, named as typed (or after the store)."""
    def work() -> NewTerminal:
        store = programs.get_store(program, store_id)
        terminal, key = programs.create_terminal(program, store.id, _terminal_name(name))
        terminal.created_at = now
        audit.record(program, actor, "terminal_created", _target(terminal), now,
                     after={"name": terminal.name, "store_id": store.id, "active": True})
        return NewTerminal(terminal, store, key)
    return run_in_transaction(work)


def _terminal_name(name: Any) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if len(text) > programs.TERMINAL_NAME_MAX_LENGTH:
        raise ValidationFailed(f"A terminal name has at most "
                               f"{programs.TERMINAL_NAME_MAX_LENGTH} characters.", field="name")
    if text == WEB_TILL_NAME:   # the cashier UI would take it for the store's browser till
        raise ValidationFailed("This name is kept for the cashier UI's till.", field="name")
    return plain_text(text, "name")


def revoke_terminal(program: Program, store_id: int, terminal_id: int, actor: str,
                    now: dt.datetime) -> Terminal:
    """Switch a terminal's key off for good. This server forgets the key at once; the other
    servers within [service] auth_cache_seconds. A revoked terminal stays revoked (its key
    may have leaked): the store gets a new terminal instead."""
    def work() -> Terminal:
        terminal = db.session.get(Terminal, terminal_id)
        if terminal is None or terminal.store_id != programs.get_store(program, store_id).id:
            raise NotFound(f"No terminal {terminal_id} in this store.")
        if terminal.name == WEB_TILL_NAME:
            raise ValidationFailed("The cashier UI's till has no key to revoke: deactivate "
                                   "the cashier's login instead.", field="terminal")
        if terminal.active:
            terminal.active = False
            audit.record(program, actor, "terminal_revoked", _target(terminal), now,
                         before={"active": True}, after={"active": False})
        return terminal
    terminal = run_in_transaction(work)
    programs.forget_terminal_key(terminal.api_key_hash)
    return terminal


def _details_of(store: Store) -> dict[str, Any]:
    return {field: getattr(store, field) for field in STORE_FIELDS}


def _target(record: Store | Terminal) -> str:
    return f"{record.__tablename__}:{record.id}"
