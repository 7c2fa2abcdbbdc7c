"""The push channel: one outbox row goes to every phone of the account that took the app's
pushes, Android through FCM and iOS through APNs, with each program's own credentials.

A phone whose token the service says is gone is forgotten. The row is sent when any phone
took it; retried when none did but one may later (throttled, 5xx, the network); and falls
back to SMS when no phone can take it (none left, or refused for good), which the worker
does where the kind and the customer allow.
"""
from __future__ import annotations

from pos_loyalty import devices
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Program
from pos_loyalty.notify.apns import ApnsClient, make_app_client
from pos_loyalty.notify.channels import (
    ChannelMessage, Delivery, ProgramClients, PushResult, failures_text, push_config, retry_wait,
)
from pos_loyalty.notify.fcm import FcmClient, make_fcm_client

NOT_CONFIGURED = {"android": "FCM is not configured ([push] fcm_*)",
                  "ios": "APNs is not configured ([push] apns_*)"}


class PushSender:
    """Keeps one FCM and one APNs client per program for the worker's life (a change of
    credentials needs the worker restarted)."""

    def __init__(self) -> None:
        self._fcm, self._apns = ProgramClients(), ProgramClients()

    def deliver(self, message: ChannelMessage) -> Delivery:
        program, phones = run_in_transaction(lambda: _program_and_phones(message))
        if not phones:
            return Delivery("fallback", "the customer has no phone left for pushes")
        data = push_data(message)
        results = [(device_id, self._send(program, platform, token, message, data))
                   for device_id, platform, token in phones]
        gone = [device_id for device_id, result in results if result.status == "dead"]
        if gone:
            run_in_transaction(lambda: devices.forget_devices(gone))
        return summary([result for _, result in results])

    def _send(self, program: Program, platform: str, token: str, message: ChannelMessage,
              data: dict[str, str]) -> PushResult:
        if platform == "android":
            fcm: FcmClient | None = self._fcm.get(
                program, lambda: make_fcm_client(push_config(program)))
            return fcm.send(token, message.title, message.body, data,
                            collapse_key=collapse_key(message)) if fcm else \
                PushResult("failed", NOT_CONFIGURED[platform])
        apns: ApnsClient | None = self._apns.get(
            program, lambda: make_app_client(push_config(program)))
        if apns is None:
            return PushResult("failed", NOT_CONFIGURED[platform])
        return apns.send_alert(token, title=message.title, body=message.body, data=data,
                               topic=push_config(program)["apns_topic"],
                               collapse_id=collapse_key(message))

    def close(self) -> None:
        self._fcm.close()
        self._apns.close()


def _program_and_phones(message: ChannelMessage) -> tuple[Program, list[tuple[int, str, str]]]:
    program = db.session.get(Program, message.program_id)
    phones = [(device.id, device.platform, device.token)
              for device in devices.devices_of(message.account_id)]
    return program, phones


def collapse_key(message: ChannelMessage) -> str:
    """One per outbox row: a row sent again after a worker died mid-send replaces its first
    notification on the phone instead of showing twice."""
    return f"loyalty-{message.id}"


def push_data(message: ChannelMessage) -> dict[str, str]:
    """What the app reads besides the text: the kind and the event's plain numbers, as text
    (FCM's data carries strings only)."""
    data = {"kind": message.kind, "outbox_id": str(message.id)}
    for key, value in message.payload.items():
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            data[key] = str(value)
    return data


def summary(results: list[PushResult]) -> Delivery:
    """One phone that took it is enough; else a retry if one may take it later; else SMS."""
    details, wait = failures_text(results), retry_wait(results)
    taken = [result for result in results if result.status == "ok"]
    if taken:
        return Delivery("sent", details, provider_id=taken[0].provider_id)
    if wait is not None:
        return Delivery("retry", details, retry_after=wait or None)
    return Delivery("fallback", details)
