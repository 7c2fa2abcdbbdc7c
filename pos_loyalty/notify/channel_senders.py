"""Who hands over pushes and wallet updates: the push services and wallets for real, or
the console (the demo, `worker --console`), which prints them as it prints SMS."""
from __future__ import annotations

import click

from pos_loyalty import devices
from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import run_in_transaction
from pos_loyalty.notify.channels import PUSH, WALLET, ChannelMessage, ChannelSender, Delivery


class ConsolePushSender:
    """Prints the push once per phone of the account; with no phone, the SMS goes instead."""

    def deliver(self, message: ChannelMessage) -> Delivery:
        phones = run_in_transaction(lambda: [device.platform for device in
                                             devices.devices_of(message.account_id)])
        if not phones:
            return Delivery("fallback", "the customer has no phone left for pushes")
        for platform in phones:
            click.echo(f"PUSH to {platform} phone of account {message.account_id}: "
                       f"{message.title}: {message.body}")
        return Delivery("sent")

    def close(self) -> None:
        pass


class ConsoleWalletSender:
    """Marks the Apple pass changed (so a phone that asks sees it) and prints the update."""

    def deliver(self, message: ChannelMessage) -> Delivery:
        from pos_loyalty.wallet.apple_passes import mark_updated
        run_in_transaction(lambda: mark_updated(message.account_id, clock_now()))
        click.echo(f"WALLET passes of account {message.account_id} updated")
        return Delivery("sent")

    def close(self) -> None:
        pass


def make_channel_senders(*, console: bool) -> dict[str, ChannelSender]:
    if console:
        return {PUSH: ConsolePushSender(), WALLET: ConsoleWalletSender()}
    from pos_loyalty.notify.push_sender import PushSender   # httpx, HTTP/2: the worker only
    from pos_loyalty.wallet.sender import WalletSender
    return {PUSH: PushSender(), WALLET: WalletSender()}
