"""Who hands an SMS over: Twilio (the real `twilio` library) or, when asked for, the console
(demo, development).

A sender answers a SendResult or raises SendFailed; `retry` says whether another attempt can
help (network error, 429, 5xx) and `code` carries Twilio's error code (21610: the customer
replied STOP; 21211, 21614: the number is invalid or cannot receive SMS). Twilio's sender also
says what a sent message cost (`fetch_price`, `pos_loyalty.notify.prices`); the console's
costs nothing and is never asked.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import click
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from pos_loyalty.config import ConfigError
from pos_loyalty.notify.prices import Price, PriceFetchFailed, read_price

TWILIO_SETTINGS = (("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
                   ("TWILIO_AUTH_TOKEN", "twilio_auth_token"))
log = logging.getLogger(__name__)

OPTED_OUT_CODES = frozenset({21610})
INVALID_NUMBER_CODES = frozenset({21211, 21614})


@dataclass(frozen=True)
class SendResult:
    sid: str
    provider_status: str
    price: Price | None = None   # seldom known at once: see notify.prices


class SendFailed(Exception):
    def __init__(self, message: str, *, retry: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.retry, self.code = message, retry, code


class Sender(Protocol):
    def send(self, to: str, body: str, status_callback: str | None) -> SendResult: ...

    def close(self) -> None: ...


class ConsoleSender:
    """Prints each SMS on one line and calls it sent: the demo, and `worker --console`."""

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        click.echo(f"SMS to {to}: {body}")
        return SendResult(f"console-{uuid.uuid4().hex}", "sent")

    def close(self) -> None:
        pass


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client with every API domain (api.twilio.com, ...) swapped for one base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url.rstrip("/"))

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path + parts.path,
                          parts.query, ""))
        return super().request(method, url, **kwargs)


class TwilioSender:
    def __init__(self, account_sid: str, auth_token: str, *, messaging_service_sid: str = "",
                 from_number: str = "", api_base_url: str = "", timeout: float = 10) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("Twilio needs a Messaging Service SID or a From number")
        self.http_client = (BaseUrlHttpClient(api_base_url, timeout) if api_base_url
                            else TwilioHttpClient(timeout=timeout))
        self.client = Client(account_sid, auth_token, http_client=self.http_client)
        self.origin = ({"messaging_service_sid": messaging_service_sid} if messaging_service_sid
                       else {"from_": from_number})

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        try:
            message = self.client.messages.create(to=to, body=body,
                                                  status_callback=status_callback, **self.origin)
        except TwilioRestException as error:
            retry = error.status == 429 or error.status >= 500
            raise SendFailed(f"Twilio {error.status} {error.code}: {error.msg}"[:500],
                             retry=retry, code=error.code) from error
        except requests.RequestException as error:
            raise SendFailed(f"network: {error}"[:500], retry=True) from error
        return SendResult(message.sid, message.status or "queued", _price_if_readable(message))

    def fetch_price(self, sid: str) -> Price | None:
        """What Twilio charged for message `sid`; None while it has not priced it yet."""
        try:
            message = self.client.messages(sid).fetch()
        except TwilioRestException as error:
            busy = error.status == 429 or error.status >= 500
            raise PriceFetchFailed(f"Twilio {error.status} {error.code}: {error.msg}"[:500],
                                   stop=busy) from error
        except requests.RequestException as error:
            raise PriceFetchFailed(f"network: {error}"[:500], stop=True) from error
        return read_price(message.price, message.price_unit)

    def close(self) -> None:
        if self.http_client.session is not None:
            self.http_client.session.close()


def _price_if_readable(message: Any) -> Price | None:
    """The price in Twilio's answer to a send, when it has one; an unreadable one is left
    for the worker to ask again (the SMS was sent all the same)."""
    try:
        return read_price(message.price, message.price_unit)
    except PriceFetchFailed as error:
        log.warning("price of SMS %s not read: %s", message.sid, error.message)
        return None


class SenderNotConfigured(ConfigError):
    """No sender may start with these settings (no Twilio account; the console in production)."""


def make_sender(config: dict[str, Any], console: bool = False, *,
                production: bool = False) -> Sender:
    """Twilio when its account and an origin are configured; the console only when asked for,
    and never in production, where it would print one-time codes and call them sent."""
    if console:
        if production:
            raise SenderNotConfigured(
                "the console sender prints SMS (one-time codes too) and marks them sent: it is "
                "refused in production. Configure Twilio (TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN, and TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM).")
        return ConsoleSender()
    missing = [name for name, key in TWILIO_SETTINGS if not config[key]]
    if not (config["twilio_messaging_service_sid"] or config["twilio_from"]):
        missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM")
    if missing:
        hint = "" if production else " In development, `pos-loyalty worker --console` prints them."
        raise SenderNotConfigured(f"no SMS can be sent without Twilio settings: missing "
                                  f"{', '.join(missing)} ([sms] in the config).{hint}")
    return TwilioSender(config["twilio_account_sid"], config["twilio_auth_token"],
                        messaging_service_sid=config["twilio_messaging_service_sid"],
                        from_number=config["twilio_from"],
                        api_base_url=config["twilio_api_base_url"],
                        timeout=config["twilio_timeout_seconds"])
