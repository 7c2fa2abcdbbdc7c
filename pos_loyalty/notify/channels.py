"""Which channels a customer's message goes by, and what a push or wallet sender answers.

A message to a customer is one outbox row per channel: `sms` (Twilio), `push` (every phone
of the account with the brand app: FCM, APNs) or `wallet` (the card's Apple and Google
passes, updated with the new balance). The customer's choice (`Account.notify_channel`)
decides between SMS and push; "auto", the default, pushes when a phone can take it and texts
otherwise, which saves the brand the SMS. A wallet update follows every balance change of an
account with a pass, whatever the choice: it tells nothing, it shows the balance.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pos_loyalty.models import Program
from pos_loyalty.programs import settings

SMS, PUSH, WALLET = "sms", "push", "wallet"


@dataclass(frozen=True)
class PushResult:
    """What a push service answered for one device token.

    ok: taken; dead: the token is gone for good (FCM UNREGISTERED, APNs 410 or
    BadDeviceToken): forget the device; retry: throttled, 5xx or the network, maybe after
    `retry_after` seconds; failed: refused for another reason (a bad payload, wrong
    credentials) that no retry of this message mends.
    """
    status: str
    detail: str = ""
    retry_after: float | None = None
    provider_id: str | None = None


@dataclass(frozen=True)
class ChannelMessage:
    """A claimed push or wallet row, as its sender needs it."""
    id: int
    program_id: int
    account_id: int
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class Delivery:
    """What a channel sender made of one row: sent; retry (later, as an SMS would be); dead;
    or fallback: no phone took the push, so an SMS goes instead where the kind allows."""
    outcome: str
    detail: str = ""
    retry_after: float | None = None
    provider_id: str | None = None


class ChannelSender(Protocol):
    def deliver(self, message: ChannelMessage) -> Delivery: ...

    def close(self) -> None: ...


class ProgramClients:
    """One client of a service per program (each brand has its own credentials), made when
    first needed and kept for the sender's life; None for a program that has none set."""

    def __init__(self) -> None:
        self._clients: dict[int, Any] = {}

    def get(self, program: Program, make: Callable[[], Any]) -> Any:
        if program.id not in self._clients:
            self._clients[program.id] = make()
        return self._clients[program.id]

    def close(self) -> None:
        for client in self._clients.values():
            if client is not None:
                client.close()


def failures_text(results: list[PushResult]) -> str:
    """What went wrong with each answer that was not "ok", for the row's last_error."""
    return "; ".join(f"{result.status}: {result.detail}" for result in results
                     if result.status != "ok")[:500]


def retry_wait(results: list[PushResult]) -> float | None:
    """None when no answer asked for a retry; else the longest Retry-After (0: none said)."""
    waits = [result.retry_after or 0 for result in results if result.status == "retry"]
    return max(waits) if waits else None


def push_config(program: Program | None = None) -> dict[str, Any]:
    """Config [push], with the program's branding "push" overrides on top (its own app)."""
    return _with_overrides("push", program)


def wallet_config(program: Program | None = None) -> dict[str, Any]:
    """Config [wallet], the program's branding "wallet" overrides on top; the public address
    falls back to [sms] public_base_url."""
    config = _with_overrides("wallet", program)
    if not config["public_base_url"]:
        config = {**config, "public_base_url": settings()["sms"]["public_base_url"]}
    return config


def _with_overrides(section: str, program: Program | None) -> dict[str, Any]:
    base = settings()[section]
    override = ((program.branding or {}).get(section) or {}) if program is not None else {}
    return {**base, **override} if override else base


def chosen_channel(account: Any, config: dict[str, Any]) -> str:
    """The customer's own choice, "auto" resolved by the program's default."""
    choice = account.notify_channel or "auto"
    return config["default_channel"] if choice == "auto" else choice


def message_channels(account: Any, kind: str, *, can_text: bool,
                     config: dict[str, Any]) -> tuple[str, ...]:
    """The channels a message of `kind` goes by for `account` (anything with the Account
    columns notify_channel and push_devices), `can_text` saying whether an SMS may reach them.

    auto: push when a phone can take it, else SMS. push: push only, but a balance change
    (sms_fallback_kinds) of a customer with no phone left still goes by SMS. both: each that
    can. sms: SMS only. none: nothing.
    """
    choice = chosen_channel(account, config)
    can_push = (account.push_devices or 0) > 0
    if choice == "none":
        return ()
    if choice == "sms":
        return (SMS,) if can_text else ()
    if choice == "both":
        return tuple(channel for channel, ok in ((PUSH, can_push), (SMS, can_text)) if ok)
    if can_push:
        return (PUSH,)
    texts_instead = choice == "auto" or kind in config["sms_fallback_kinds"]
    return (SMS,) if can_text and texts_instead else ()


def falls_back_to_sms(account: Any, kind: str, config: dict[str, Any]) -> bool:
    """Whether an undelivered push of `kind` goes by SMS: a kind that allows it, and a
    customer whose choice did not already send the SMS ("both") or refuse it ("none")."""
    return (kind in config["sms_fallback_kinds"]
            and chosen_channel(account, config) in ("auto", "push"))
