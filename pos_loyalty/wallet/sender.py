"""The wallet channel: after a balance change, the card in the customer's wallets shows the
new balance.

Apple: the pass is marked changed (its update tag), then each device holding it gets Apple's
empty push and fetches the pass from our web service. Google: the loyalty object is written
again through the Google Wallet API. Both are idempotent, so a retry of the row redoes both.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program
from pos_loyalty.notify.apns import ApnsClient, make_pass_client
from pos_loyalty.notify.channels import (
    ChannelMessage, Delivery, PushResult, push_config, wallet_config,
)
from pos_loyalty.wallet.apple_passes import forget_registration_tokens, mark_updated
from pos_loyalty.wallet.google_passes import update_google_pass
from pos_loyalty.wallet.google_wallet import GoogleWalletClient, make_google_wallet_client


class WalletSender:
    """Keeps one Apple (pass certificate) and one Google client per program."""

    def __init__(self) -> None:
        self._apple: dict[int, ApnsClient | None] = {}
        self._google: dict[int, GoogleWalletClient | None] = {}

    def deliver(self, message: ChannelMessage) -> Delivery:
        moment = clock_now()
        program = run_in_transaction(lambda: db.session.get(Program, message.program_id))
        results = self._apple_results(program, message.account_id, moment)
        google = _client(self._google, program, lambda: make_google_wallet_client(
            wallet_config(program), push_config(program)))
        if google is not None:
            results.append(update_google_pass(program, message.account_id, moment, google))
        return wallet_summary(results)

    def _apple_results(self, program: Program, account_id: int,
                       moment: Any) -> list[PushResult]:
        devices = run_in_transaction(lambda: mark_updated(account_id, moment))
        if not devices:
            return []
        apple = _client(self._apple, program, lambda: make_pass_client(
            wallet_config(program), push_config(program)))
        if apple is None:
            return [PushResult("failed", "Apple Wallet pushes are not configured")]
        results = [(token, apple.send_pass_update(token, pass_type_id=pass_type_id))
                   for token, pass_type_id in devices]
        gone = [token for token, result in results if result.status == "dead"]
        if gone:
            run_in_transaction(lambda: forget_registration_tokens(gone))
        return [result for _, result in results if result.status != "dead"]

    def close(self) -> None:
        for client in [*self._apple.values(), *self._google.values()]:
            if client is not None:
                client.close()


def _client(cache: dict[int, Any], program: Program, make: Callable[[], Any]) -> Any:
    if program.id not in cache:
        cache[program.id] = make()
    return cache[program.id]


def wallet_summary(results: list[PushResult]) -> Delivery:
    """Sent when every wallet took it (a device gone for good counts as done); retried when
    one may take it later; dead when one refused for good (credentials, a bad pass)."""
    details = "; ".join(f"{result.status}: {result.detail}" for result in results
                        if result.status != "ok")[:500]
    if any(result.status == "failed" for result in results):
        return Delivery("dead", details)
    waits = [result.retry_after or 0 for result in results if result.status == "retry"]
    if waits:
        return Delivery("retry", details, retry_after=max(waits) or None)
    return Delivery("sent", details)
