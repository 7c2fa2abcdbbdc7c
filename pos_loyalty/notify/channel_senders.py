"""Who hands over pushes and wallet updates: the push services and wallets for real, or
the console (the demo, `worker --console`), which prints them as it prints SMS."""
from __future__ import annotations

import click

from sqlalchemy import select

from pos_loyalty import devices
from pos_loyalty.clock import now as clock_now
from pos_loyalty.config import ConfigError
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import WalletNotConfigured
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


def check_credentials() -> list[str]:
    """What keeps each program's push and wallet clients from being made, in words (a key
    file missing or unreadable, a certificate that is not PEM): the worker refuses to start
    on it rather than fail every push later."""
    from pos_loyalty.models import Program
    from pos_loyalty.notify.apns import make_app_client, make_pass_client
    from pos_loyalty.notify.channels import push_config, wallet_config
    from pos_loyalty.notify.fcm import make_fcm_client
    from pos_loyalty.wallet.google_wallet import make_google_wallet_client
    problems = []
    for program in run_in_transaction(lambda: list(db.session.scalars(select(Program)))):
        push, wallet = push_config(program), wallet_config(program)
        for make in (lambda: make_fcm_client(push), lambda: make_app_client(push),
                     lambda: make_pass_client(wallet, push),
                     lambda: make_google_wallet_client(wallet, push),
                     lambda: _pass_signer(wallet)):
            try:
                client = make()
            except ConfigError as error:
                problems.append(f"program {program.slug}: {error}")
            else:
                if client is not None:
                    client.close()
    return problems


def _pass_signer(wallet: dict) -> None:
    """The Apple pass's signing files, read as a pass is signed (when they are set)."""
    from pos_loyalty.wallet.apple_pass import signing_credentials
    try:
        signing_credentials(wallet)
    except WalletNotConfigured:
        pass


def make_channel_senders(*, console: bool) -> dict[str, ChannelSender]:
    if console:
        return {PUSH: ConsolePushSender(), WALLET: ConsoleWalletSender()}
    from pos_loyalty.notify.push_sender import PushSender   # httpx, HTTP/2: the worker only
    from pos_loyalty.wallet.sender import WalletSender
    return {PUSH: PushSender(), WALLET: WalletSender()}
