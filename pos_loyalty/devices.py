"""The customer's phones that take pushes, and the counts a balance change reads.

`Account.push_devices` and `Account.wallet_passes` are counted again from the rows whenever
they change (`recount`), in the caller's transaction: a count can never drift from the rows
it counts, whichever requests run at once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update

from pos_loyalty.db import db
from pos_loyalty.errors import DeviceNotFound, ValidationFailed
from pos_loyalty.models import (
    Account, PassRegistration, Program, PushDevice, WalletPass,
)
from pos_loyalty.models.devices import PLATFORMS

TOKEN_MAX = 512
MAX_ID = 2 ** 31 - 1   # an id column's largest value: a larger one is no device
APP_VERSION_MAX = 40


def register_device(program: Program, account: Account, session_id: int | None,
                    platform: Any, token: Any, app_version: Any,
                    now: dt.datetime) -> tuple[PushDevice, bool]:
    """The phone's push token, for this account, and whether it is new; a token already known
    moves here (the phone changed hands, or logged in again) and keeps its id."""
    platform, token, app_version = _checked(platform, token, app_version)
    device = db.session.scalar(
        select(PushDevice).where(PushDevice.program_id == program.id,
                                 PushDevice.platform == platform, PushDevice.token == token)
        .with_for_update())
    previous_account = device.account_id if device is not None else None
    if device is None:
        device = PushDevice(program_id=program.id, account_id=account.id, platform=platform,
                            token=token, created_at=now)
        db.session.add(device)
    device.account_id, device.session_id = account.id, session_id
    device.app_version, device.last_seen_at = app_version, now
    db.session.flush()
    recount(account.id)
    if previous_account is not None and previous_account != account.id:
        recount(previous_account)
    return device, previous_account is None


def _checked(platform: Any, token: Any, app_version: Any) -> tuple[str, str, str | None]:
    if platform not in PLATFORMS:
        raise ValidationFailed("platform must be \"ios\" or \"android\".", field="platform")
    if not isinstance(token, str) or not token.strip() or len(token) > TOKEN_MAX:
        raise ValidationFailed(f"token must be the push token, 1 to {TOKEN_MAX} characters.",
                               field="token")
    if app_version is not None and (not isinstance(app_version, str)
                                    or len(app_version) > APP_VERSION_MAX):
        raise ValidationFailed(f"app_version must be text of at most {APP_VERSION_MAX} "
                               "characters.", field="app_version")
    return platform, token.strip(), app_version


def device_view(device: PushDevice) -> dict[str, Any]:
    return {"id": device.id, "platform": device.platform, "app_version": device.app_version,
            "created_at": device.created_at.isoformat() + "Z",
            "last_seen_at": device.last_seen_at.isoformat() + "Z"}


def devices_of(account_id: int) -> list[PushDevice]:
    return list(db.session.scalars(select(PushDevice).where(PushDevice.account_id == account_id)
                                   .order_by(PushDevice.id)))


def remove_device(account: Account, device_id: int) -> None:
    """The customer's own device only: another's id is as unknown as one that never was."""
    if not 0 < device_id <= MAX_ID:
        raise DeviceNotFound()
    removed = db.session.execute(delete(PushDevice).where(
        PushDevice.id == device_id, PushDevice.account_id == account.id)).rowcount
    if not removed:
        raise DeviceNotFound()
    recount(account.id)


def remove_session_devices(session_ids: Sequence[int]) -> None:
    """Logins that ended (logout, PIN changed, a stolen token): their phones stop taking
    this customer's pushes."""
    if not session_ids:
        return
    accounts = db.session.scalars(delete(PushDevice)
                                  .where(PushDevice.session_id.in_(session_ids))
                                  .returning(PushDevice.account_id)).all()
    for account_id in set(accounts):
        recount(account_id)


def remove_account_devices(account_id: int) -> None:
    """An erased account: no phone and no wallet pass is told anything again."""
    db.session.execute(delete(PushDevice).where(PushDevice.account_id == account_id))
    passes = select(WalletPass.id).where(WalletPass.account_id == account_id)
    db.session.execute(delete(PassRegistration).where(PassRegistration.pass_id.in_(passes)))
    db.session.execute(delete(WalletPass).where(WalletPass.account_id == account_id))
    recount(account_id)


def forget_devices(device_ids: Sequence[int]) -> None:
    """Tokens the push service said are gone for good (the app was removed)."""
    if not device_ids:
        return
    accounts = db.session.scalars(delete(PushDevice).where(PushDevice.id.in_(device_ids))
                                  .returning(PushDevice.account_id)).all()
    for account_id in set(accounts):
        recount(account_id)


def recount(account_id: int) -> None:
    """Count the account's push devices and live wallet passes again (a Google pass lives
    once offered; an Apple pass while a device has registered it)."""
    registered = exists().where(PassRegistration.pass_id == WalletPass.id)
    live_passes = (select(func.count()).select_from(WalletPass)
                   .where(WalletPass.account_id == account_id,
                          or_(WalletPass.wallet == "google", registered))
                   .scalar_subquery())
    phones = (select(func.count()).select_from(PushDevice)
              .where(PushDevice.account_id == account_id).scalar_subquery())
    db.session.execute(update(Account).where(Account.id == account_id)
                       .values(push_devices=phones, wallet_passes=live_passes))


def wallet_passes_of(account_id: int) -> list[WalletPass]:
    return list(db.session.scalars(select(WalletPass).where(WalletPass.account_id == account_id)
                                   .order_by(WalletPass.id)))
