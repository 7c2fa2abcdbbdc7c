"""The card in the customer's phone wallet: what the brand app, the signed links and Apple's
pass web service ask for. Each function is one transaction.

The app's customer asks for their own card (`apple_pass`, `google_link`, `wallet_link`);
a link's holder gets the card the link names; Wallet itself proves each pass with its
authentication token (`wallet.apple_passes`).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pos_loyalty import accounts
from pos_loyalty.app_sessions import Caller
from pos_loyalty.config import ConfigError
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import CardNotFound, WalletNotConfigured
from pos_loyalty.models import Account, Program
from pos_loyalty.notify.channels import wallet_config
from pos_loyalty.wallet import apple_passes, google_passes, links
from pos_loyalty.wallet.apple_passes import LatestPass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalletLink:
    url: str
    expires_at: dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"url": self.url, "expires_at": self.expires_at.isoformat() + "Z"}


# --- the customer in the brand app ------------------------------------------------------------

def apple_pass(program: Program, caller: Caller, now: dt.datetime) -> bytes:
    """The customer's card as a signed .pkpass."""
    with _usable_credentials():
        return run_in_transaction(lambda: apple_passes.apple_pass_for(
            program, caller.account.id, now))


def google_link(program: Program, caller: Caller, now: dt.datetime) -> WalletLink:
    """The "Save to Google Wallet" address of the customer's card; it holds the card as it
    is now and does not expire (Google keeps the card current afterwards)."""
    with _usable_credentials():
        url = run_in_transaction(lambda: google_passes.save_link(program, caller.account.id,
                                                                 now))
    return WalletLink(url, _link_expiry(program, now))


def wallet_link(program: Program, caller: Caller, now: dt.datetime) -> WalletLink:
    """A signed page address that adds the card to either wallet, for a message or a
    receipt; valid [wallet] link_hours."""
    if not links.wallet_offered(program):
        raise WalletNotConfigured()
    return WalletLink(links.link_url(program, caller.account.id, now), _link_expiry(program, now))


def till_wallet_link(program: Program, card_number: Any, now: dt.datetime) -> WalletLink:
    """The add-to-wallet page of a card's customer, for the receipt the till prints (a QR
    code the customer scans with the phone)."""
    def work() -> WalletLink:
        if not links.wallet_offered(program):
            raise WalletNotConfigured()
        account = accounts.account_of_card(accounts.find_card(program, card_number))
        if account is None:
            raise CardNotFound("This card is not linked to a customer yet.")
        return WalletLink(links.link_url(program, account.id, now), _link_expiry(program, now))
    return run_in_transaction(work)


def _link_expiry(program: Program, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=wallet_config(program)["link_hours"])


# --- a signed link's holder ------------------------------------------------------------------

def link_page(token: str, now: dt.datetime) -> tuple[Program, Account]:
    """The program and the customer a link names (WalletLinkInvalid when it is not ours,
    altered or expired)."""
    def read() -> tuple[Program, Account]:
        program = links.program_of_link(token, now)
        return program, db.session.get(Account, links.account_of_link(program, token, now))
    return run_in_transaction(read)


def apple_pass_of_link(token: str, now: dt.datetime) -> tuple[str, bytes]:
    """(program slug, .pkpass) of the card a link names."""
    def make() -> tuple[str, bytes]:
        program = links.program_of_link(token, now)
        account_id = links.account_of_link(program, token, now)
        return program.slug, apple_passes.apple_pass_for(program, account_id, now)
    with _usable_credentials():
        return run_in_transaction(make)


def google_link_of_link(token: str, now: dt.datetime) -> str:
    """The "Save to Google Wallet" address of the card a link names."""
    def make() -> str:
        program = links.program_of_link(token, now)
        return google_passes.save_link(program, links.account_of_link(program, token, now), now)
    with _usable_credentials():
        return run_in_transaction(make)


# --- Apple's pass web service ----------------------------------------------------------------

def register_pass_device(pass_type_id: str, serial: str, token: str, device_id: str,
                         push_token: Any, now: dt.datetime) -> bool:
    return run_in_transaction(lambda: apple_passes.register_device(
        pass_type_id, serial, token, device_id, push_token, now))


def unregister_pass_device(pass_type_id: str, serial: str, token: str,
                           device_id: str) -> None:
    run_in_transaction(lambda: apple_passes.unregister_device(
        pass_type_id, serial, token, device_id))


def updated_serials(device_id: str, pass_type_id: str,
                    since: str | None) -> tuple[list[str], str] | None:
    return run_in_transaction(lambda: apple_passes.updated_serials(
        device_id, pass_type_id, since))


def latest_pass(pass_type_id: str, serial: str, token: str, since: dt.datetime | None,
                now: dt.datetime) -> LatestPass:
    with _usable_credentials():
        return run_in_transaction(lambda: apple_passes.latest_pass(
            pass_type_id, serial, token, since, now))


@contextmanager
def _usable_credentials() -> Iterator[None]:
    """A key or certificate file the operator set but that cannot be used (unreadable, not
    PEM, not the certificate's key): logged for the operator, answered as a wallet not
    offered (409 wallet_not_configured), never a 500. `pos-loyalty worker` refuses to
    start on the same files."""
    try:
        yield
    except ConfigError as error:
        log.error("the wallet's credentials cannot be used: %s", error)
        raise WalletNotConfigured() from error


def log_pass_messages(logs: Any) -> None:
    apple_passes.log_messages(logs)
