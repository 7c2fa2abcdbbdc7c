"""The wallet channel: after a balance change, the card in the customer's wallets shows the
new balance.

Apple: the pass is marked changed (its update tag), then each device holding it gets Apple's
empty push and fetches the pass from our web service. Google: the loyalty object is written
again through the Google Wallet API. Both are idempotent, so a retry of the row redoes both.
"""
from __future__ import annotations

from typing import Any

from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program
from pos_loyalty.notify.apns import ApnsClient, make_pass_client
from pos_loyalty.notify.channels import (
    ChannelMessage, Delivery, ProgramClients, PushResult, failures_text, push_config,
    retry_wait, wallet_config,
)
from pos_loyalty.wallet.apple_passes import forget_registration_tokens, mark_updated
from pos_loyalty.wallet.google_passes import update_google_pass
from pos_loyalty.wallet.google_wallet import GoogleWalletClient, make_google_wallet_client


class WalletSender:
    """Keeps one Apple (pass certificate) and one Google client per program."""

    def __init__(self) -> None:
        self._apple, self._google = ProgramClients(), ProgramClients()

    def deliver(self, message: ChannelMessage) -> Delivery:
        moment = clock_now()
        program = run_in_transaction(lambda: db.session.get(Program, message.program_id))
        results = self._apple_results(program, message.account_id, moment)
        google: GoogleWalletClient | None = self._google.get(
            program, lambda: make_google_wallet_client(wallet_config(program),
                                                       push_config(program)))
        if google is not None:
            results.append(update_google_pass(program, message.account_id, moment, google))
        return wallet_summary(results)

    def _apple_results(self, program: Program, account_id: int,
                       moment: Any) -> list[PushResult]:
        devices = run_in_transaction(lambda: mark_updated(account_id, moment))
        if not devices:
            return []
        apple: ApnsClient | None = self._apple.get(
            program, lambda: make_pass_client(wallet_config(program), push_config(program)))
        if apple is None:
            return [PushResult("failed", "Apple Wallet pushes are not configured")]
        results = [(token, apple.send_pass_update(token, pass_type_id=pass_type_id))
                   for token, pass_type_id in devices]
        gone = [token for token, result in results if result.status == "dead"]
        if gone:
            run_in_transaction(lambda: forget_registration_tokens(gone))
        return [result for _, result in results if result.status != "dead"]

    def close(self) -> None:
        self._apple.close()
        self._google.close()


def wallet_summary(results: list[PushResult]) -> Delivery:
    """Sent when every wallet took it (a device gone for good counts as done); retried when
    one may take it later; dead when one refused for good (credentials, a bad pass)."""
    details, wait = failures_text(results), retry_wait(results)
    if any(result.status == "failed" for result in results):
        return Delivery("dead", details)
    if wait is not None:
        return Delivery("retry", details, retry_after=wait or None)
    return Delivery("sent", details)
