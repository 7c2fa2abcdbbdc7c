"""The customer's card in Google Wallet: offering it ("Save to Google Wallet") and keeping its
balance current after each change.

`save_link` runs in the caller's transaction (it writes the account's google WalletPass);
`update_google_pass` runs in the worker, outside any transaction: it reads the pass in a short
one of its own, then calls Google with no database transaction held open.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pos_loyalty import devices
from pos_loyalty.db import db, insert_or_ignore, run_in_transaction
from pos_loyalty.errors import AccountNotFound, WalletNotConfigured
from pos_loyalty.models import Account, Program, WalletPass
from pos_loyalty.notify.channels import PushResult, wallet_config
from pos_loyalty.notify.google_auth import GoogleServiceAccount
from pos_loyalty.wallet.content import pass_content
from pos_loyalty.wallet.google_wallet import (
    GoogleWalletClient, class_id, loyalty_class, loyalty_object, object_id, public_logo_uri,
    save_jwt,
)

GOOGLE = "google"


@dataclass(frozen=True)
class GooglePass:
    """The class and the object of one account's card, as Google Wallet takes them."""
    loyalty_class: dict[str, Any]
    loyalty_object: dict[str, Any]


def save_link(program: Program, account_id: int, now: dt.datetime) -> str:
    """The "Save to Google Wallet" address of the account's card, its pass made if missing."""
    config = wallet_config(program)
    if not config["google_issuer_id"] or not config["google_service_account_file"]:
        raise WalletNotConfigured()
    key = GoogleServiceAccount.from_file(config["google_service_account_file"])
    account = db.session.get(Account, account_id)
    if account is None or account.program_id != program.id:
        raise AccountNotFound()
    wallet_pass = _google_pass_made(program, account_id, now)
    devices.recount(account_id)
    card = google_pass(program, account_id, wallet_pass.serial, config, now)
    token = save_jwt(key, card.loyalty_class, card.loyalty_object, now)
    return f"{config['google_save_url'].rstrip('/')}/{token}"


def update_google_pass(program: Program, account_id: int, now: dt.datetime,
                       client: GoogleWalletClient) -> PushResult:
    """Write the account's current card to Google (the class first, once per client): "ok"
    with nothing to do when the account has no Google pass."""
    def read() -> GooglePass | PushResult:
        serial = db.session.scalar(select(WalletPass.serial).where(
            WalletPass.account_id == account_id, WalletPass.wallet == GOOGLE))
        if serial is None:
            return PushResult("ok", "no google pass")
        config = wallet_config(program)
        if not config["google_issuer_id"]:
            return PushResult("failed", "Google Wallet is not configured ([wallet] "
                              "google_issuer_id)")
        return google_pass(program, account_id, serial, config, now)
    card = run_in_transaction(read)
    if isinstance(card, PushResult):
        return card
    written = client.ensure_class(card.loyalty_class)
    if written.status != "ok":
        return written
    return client.upsert_object(card.loyalty_object)


def google_pass(program: Program, account_id: int, serial: str, config: dict[str, Any],
                now: dt.datetime) -> GooglePass:
    """The account's card now, under the program's issuer (`config`: its wallet_config)."""
    content = pass_content(program, account_id, now)
    issuer = str(config["google_issuer_id"])
    program_class = class_id(issuer, program.slug)
    logo = public_logo_uri(str((program.branding or {}).get("logo_url") or ""),
                           str(config["public_base_url"] or ""))
    return GooglePass(loyalty_class(program_class, content, program.name, logo),
                      loyalty_object(object_id(issuer, serial), program_class, content))


def _google_pass_made(program: Program, account_id: int, now: dt.datetime) -> WalletPass:
    """The account's google pass; a request at the same moment making it too finds the one
    that won (ON CONFLICT DO NOTHING, then read)."""
    wanted = select(WalletPass).where(WalletPass.account_id == account_id,
                                      WalletPass.wallet == GOOGLE)
    found = db.session.scalar(wanted)
    if found is not None:
        return found
    db.session.execute(
        insert_or_ignore()(WalletPass)
        .values(program_id=program.id, account_id=account_id, wallet=GOOGLE,
                serial=secrets.token_hex(16), updated_at=now, created_at=now)
        .on_conflict_do_nothing(index_elements=["account_id", "wallet"]))
    return db.session.scalars(wanted).one()
