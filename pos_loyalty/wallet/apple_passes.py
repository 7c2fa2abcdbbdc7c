"""Apple Wallet passes: handing out the signed pass, Apple's pass web service, and what the
worker needs after a balance change. Each runs inside the caller's transaction
(`db.run_in_transaction`).

The update tag Wallet keeps between calls (`passesUpdatedSince`, `lastUpdated`) is
`WalletPass.updated_at` written as whole microseconds since the Unix epoch (UTC), a decimal
string. An Apple pass counts in `Account.wallet_passes` once a device has registered it.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from pos_loyalty.db import db
from pos_loyalty.devices import recount
from pos_loyalty.errors import (
    AccountNotFound, PassAuthenticationFailed, PassNotFound, ValidationFailed,
)
from pos_loyalty.models import Account, PassRegistration, Program, WalletPass
from pos_loyalty.notify.channels import wallet_config
from pos_loyalty.wallet.apple_pass import (
    SigningCredentials, auth_token, pass_files, sign_pkpass, signing_credentials, token_matches,
)
from pos_loyalty.wallet.content import pass_content

EPOCH = dt.datetime(1970, 1, 1)
# What one device may put in our logs: Wallet's messages are a line or two each.
LOG_LINES_MAX = 20
LOG_LINE_MAX = 500
DEVICE_ID_MAX = 128
PUSH_TOKEN_MAX = 256


@dataclass(frozen=True)
class LatestPass:
    """The pass as it is now (`pkpass`), or None when the device already has it."""
    pkpass: bytes | None
    last_modified: dt.datetime


def apple_pass_for(program: Program, account_id: int, now: dt.datetime) -> bytes:
    """The account's signed .pkpass, its WalletPass made on the first call."""
    config = wallet_config(program)
    credentials = signing_credentials(config)
    account = db.session.get(Account, account_id)
    if account is None or account.program_id != program.id:
        raise AccountNotFound()
    wallet_pass = db.session.scalar(select(WalletPass).where(
        WalletPass.account_id == account_id, WalletPass.wallet == "apple"))
    if wallet_pass is None:
        wallet_pass = WalletPass(program_id=program.id, account_id=account_id, wallet="apple",
                                 serial=secrets.token_hex(16), updated_at=now, created_at=now)
        db.session.add(wallet_pass)
        db.session.flush()
    return _pkpass(program, wallet_pass, now, config, credentials)


def _pkpass(program: Program, wallet_pass: WalletPass, now: dt.datetime,
            config: dict[str, Any], credentials: SigningCredentials) -> bytes:
    content = pass_content(program, wallet_pass.account_id, now)
    files = pass_files(content, serial=wallet_pass.serial,
                       auth_token=auth_token(wallet_pass.serial), config=config)
    return sign_pkpass(files, credentials.certificate, credentials.key, credentials.wwdr)


# --- Apple's pass web service ----------------------------------------------------------------

def register_device(pass_type_id: str, serial: str, token: str, device_library_id: str,
                    push_token: Any, now: dt.datetime) -> bool:
    """The device holds the pass and is woken by `push_token`: True when it is new, False
    when it was registered already (its push token is kept up to date)."""
    wallet_pass = _authenticated_pass(pass_type_id, serial, token)
    _check_device_id(device_library_id)
    if not isinstance(push_token, str) or not 0 < len(push_token) <= PUSH_TOKEN_MAX:
        raise ValidationFailed(f"pushToken must be the device's push token, 1 to "
                               f"{PUSH_TOKEN_MAX} characters.", field="pushToken")
    registration = db.session.scalar(select(PassRegistration).where(
        PassRegistration.pass_id == wallet_pass.id,
        PassRegistration.device_library_id == device_library_id))
    if registration is not None:
        registration.push_token = push_token
        return False
    db.session.add(PassRegistration(pass_id=wallet_pass.id, device_library_id=device_library_id,
                                    push_token=push_token, created_at=now))
    db.session.flush()
    recount(wallet_pass.account_id)
    return True


def unregister_device(pass_type_id: str, serial: str, token: str,
                      device_library_id: str) -> None:
    """The pass was removed from the device (or the device stops updating it)."""
    wallet_pass = _authenticated_pass(pass_type_id, serial, token)
    db.session.execute(delete(PassRegistration).where(
        PassRegistration.pass_id == wallet_pass.id,
        PassRegistration.device_library_id == device_library_id))
    recount(wallet_pass.account_id)


def updated_serials(device_library_id: str, pass_type_id: str,
                    since_tag: str | None) -> tuple[list[str], str] | None:
    """(serials of the device's passes of this type changed after `since_tag`, the new tag),
    or None when none changed. A tag we cannot read counts as none: every pass is listed."""
    query = (select(WalletPass.serial, WalletPass.updated_at, WalletPass.program_id)
             .join(PassRegistration, PassRegistration.pass_id == WalletPass.id)
             .where(PassRegistration.device_library_id == device_library_id,
                    WalletPass.wallet == "apple"))
    since = tag_time(since_tag)
    if since is not None:
        query = query.where(WalletPass.updated_at > since)
    rows = db.session.execute(query).all()
    of_type = _programs_with_pass_type({row.program_id for row in rows}, pass_type_id)
    found = [row for row in rows if row.program_id in of_type]
    if not found:
        return None
    return sorted({row.serial for row in found}), time_tag(max(row.updated_at for row in found))


def latest_pass(pass_type_id: str, serial: str, token: str,
                modified_since: dt.datetime | None, now: dt.datetime) -> LatestPass:
    """The pass as it is now, unless it has not changed since `modified_since` (naive UTC,
    whole seconds as HTTP dates are: `mark_updated` moves every change to a new second)."""
    wallet_pass = _authenticated_pass(pass_type_id, serial, token)
    changed = wallet_pass.updated_at
    if modified_since is not None and changed.replace(microsecond=0) <= modified_since:
        return LatestPass(None, changed)
    program = db.session.get(Program, wallet_pass.program_id)
    config = wallet_config(program)
    return LatestPass(_pkpass(program, wallet_pass, now, config, signing_credentials(config)),
                      changed)


def log_messages(logs: Any) -> None:
    """What Wallet reports about our web service, for the operator (the app's log, warning)."""
    if not isinstance(logs, list) or not all(isinstance(line, str) for line in logs):
        raise ValidationFailed("logs must be a list of strings.", field="logs")
    for line in logs[:LOG_LINES_MAX]:
        printable = "".join(char if char.isprintable() else " " for char in line)
        current_app.logger.warning("apple wallet: %s", printable[:LOG_LINE_MAX])


def _authenticated_pass(pass_type_id: str, serial: str, token: str) -> WalletPass:
    """The pass `token` was made for. The token is checked before any read, so a wrong one
    (401) says nothing about whether the serial exists; a right token for a pass since
    erased, or of another type, is 404."""
    if not token or not token_matches(serial, token):
        raise PassAuthenticationFailed()
    wallet_pass = db.session.scalar(select(WalletPass).where(
        WalletPass.serial == serial, WalletPass.wallet == "apple"))
    if wallet_pass is None or not _programs_with_pass_type({wallet_pass.program_id},
                                                           pass_type_id):
        raise PassNotFound()
    return wallet_pass


def _programs_with_pass_type(program_ids: set[int], pass_type_id: str) -> set[int]:
    """Those of the programs whose [wallet] apple_pass_type_id is `pass_type_id`."""
    if not program_ids or not pass_type_id:
        return set()
    programs = db.session.scalars(select(Program).where(Program.id.in_(program_ids)))
    return {program.id for program in programs
            if wallet_config(program)["apple_pass_type_id"] == pass_type_id}


def _check_device_id(device_library_id: str) -> None:
    if not 0 < len(device_library_id) <= DEVICE_ID_MAX:
        raise ValidationFailed(f"The device library identifier must be 1 to {DEVICE_ID_MAX} "
                               "characters.", field="deviceLibraryIdentifier")


def time_tag(moment: dt.datetime) -> str:
    """An update tag: `moment` (naive UTC) in whole microseconds since the epoch."""
    return str((moment - EPOCH) // dt.timedelta(microseconds=1))


def tag_time(tag: str | None) -> dt.datetime | None:
    if not tag or not tag.isascii() or not tag.isdigit() or len(tag) > 20:
        return None
    return EPOCH + dt.timedelta(microseconds=int(tag))


# --- the worker's side -----------------------------------------------------------------------

def mark_updated(account_id: int, now: dt.datetime) -> list[tuple[str, str]]:
    """The account's Apple pass changed at `now`: (push token, pass type id) of each device
    to wake. Each change lands in a later whole second than the one before, so a device
    that fetched the pass within the same second (Last-Modified has whole seconds) is not
    told 304 for the newer one."""
    wallet_pass = db.session.scalar(select(WalletPass).where(
        WalletPass.account_id == account_id, WalletPass.wallet == "apple").with_for_update())
    if wallet_pass is None:
        return []
    next_second = wallet_pass.updated_at.replace(microsecond=0) + dt.timedelta(seconds=1)
    wallet_pass.updated_at = max(now, next_second)
    pass_type_id = wallet_config(db.session.get(Program, wallet_pass.program_id))[
        "apple_pass_type_id"]
    tokens = db.session.scalars(select(PassRegistration.push_token)
                                .where(PassRegistration.pass_id == wallet_pass.id)
                                .order_by(PassRegistration.id))
    return [(push_token, pass_type_id) for push_token in tokens]


def forget_registration_tokens(push_tokens: Sequence[str]) -> None:
    """Push tokens APNs said are gone for good: their registrations go, and the counts."""
    if not push_tokens:
        return
    pass_ids = db.session.scalars(delete(PassRegistration)
                                  .where(PassRegistration.push_token.in_(list(push_tokens)))
                                  .returning(PassRegistration.pass_id)).all()
    if not pass_ids:
        return
    accounts = db.session.scalars(select(WalletPass.account_id)
                                  .where(WalletPass.id.in_(set(pass_ids)))).all()
    for account_id in sorted(set(accounts)):
        recount(account_id)
