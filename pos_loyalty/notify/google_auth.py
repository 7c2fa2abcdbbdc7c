"""Google's OAuth2 access tokens for a service account: FCM and Google Wallet both call with one.

A service account proves itself with a JWT signed by its private key (RS256), exchanged at
Google's token endpoint for an access token (the JWT-bearer grant, RFC 7523). The token lives
an hour; `GoogleTokenSource` keeps it until `margin_seconds` before then, so one token serves
every call of the hour, and fetches a new one under a lock so that threads sharing a source
ask Google once.
"""
from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from pos_loyalty.config import ConfigError

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google refuses an assertion that lives longer than an hour.
ASSERTION_SECONDS = 3600
KEY_FIELDS = ("client_email", "private_key", "token_uri", "project_id")


class ServiceAccountKeyInvalid(ConfigError):
    """The service account's JSON key file is missing, unreadable or not a Google key."""


class GoogleAuthFailed(Exception):
    """No access token: `retry` when another try may get one (network, 429, 5xx)."""

    def __init__(self, message: str, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message, self.retry, self.retry_after = message, retry, retry_after


@dataclass(frozen=True)
class GoogleServiceAccount:
    client_email: str
    private_key_pem: str = field(repr=False)
    token_uri: str
    project_id: str

    @classmethod
    def from_file(cls, path: str | Path) -> GoogleServiceAccount:
        """The key file Google's console downloads (IAM > Service accounts > Keys > JSON)."""
        try:
            key = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ServiceAccountKeyInvalid(
                f"Google service account key {path} cannot be read: {error}") from error
        missing = [name for name in KEY_FIELDS
                   if not isinstance(key, dict) or not isinstance(key.get(name), str)
                   or not key[name]]
        if missing:
            raise ServiceAccountKeyInvalid(f"Google service account key {path} lacks "
                                           f"{', '.join(missing)}: is it a service account's "
                                           "JSON key?")
        try:
            load_pem_private_key(key["private_key"].encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ServiceAccountKeyInvalid(
                f"Google service account key {path}: private_key is not a PEM key") from error
        return cls(key["client_email"], key["private_key"], key["token_uri"], key["project_id"])


class GoogleTokenSource:
    """The access token of `account` for `scopes`, fetched again when it is near its end.

    `clock` answers naive UTC (`pos_loyalty.clock.now` in production); `token_url`, when
    given, replaces the key's own token_uri (a proxy, the tests' fake Google).
    """

    def __init__(self, account: GoogleServiceAccount, scopes: tuple[str, ...], *,
                 client: httpx.Client, token_url: str = "", margin_seconds: int = 300,
                 clock: Callable[[], dt.datetime]) -> None:
        self.account, self.scopes, self.client = account, scopes, client
        self.token_url = token_url or account.token_uri
        self.margin = dt.timedelta(seconds=margin_seconds)
        self.clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = dt.datetime.min

    def token(self) -> str:
        with self._lock:
            now = self.clock()
            if self._token is not None and now < self._renew_at:
                return self._token
            token, expires_in = self._fetch(now)
            self._token = token
            self._renew_at = now + dt.timedelta(seconds=expires_in) - self.margin
            return token

    def invalidate(self) -> None:
        """Forget the token (Google answered 401 with it): the next call fetches another."""
        with self._lock:
            self._token = None

    def assertion(self, now: dt.datetime) -> str:
        """The signed JWT that asks for a token (RFC 7523 section 2.1)."""
        issued = int(now.replace(tzinfo=dt.timezone.utc).timestamp())
        claims = {"iss": self.account.client_email, "scope": " ".join(self.scopes),
                  "aud": self.token_url, "iat": issued, "exp": issued + ASSERTION_SECONDS}
        return jwt.encode(claims, self.account.private_key_pem, algorithm="RS256")

    def _fetch(self, now: dt.datetime) -> tuple[str, int]:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion(now)}
        try:
            response = self.client.post(self.token_url, data=form)
        except httpx.HTTPError as error:
            raise GoogleAuthFailed(f"token endpoint unreachable: {error}"[:500],
                                   retry=True) from error
        if response.status_code != 200:
            raise _refusal(response)
        try:
            answer = response.json()
            return str(answer["access_token"]), int(answer["expires_in"])
        except (ValueError, KeyError, TypeError) as error:
            raise GoogleAuthFailed("token endpoint answered no token", retry=True) from error


def _refusal(response: httpx.Response) -> GoogleAuthFailed:
    """Google's `{"error": "invalid_grant", "error_description": ...}` as a failure: worth
    another try only when Google was busy or failing (429, 5xx)."""
    status = response.status_code
    busy = status == 429 or status >= 500
    return GoogleAuthFailed(f"token endpoint {status}: {_error_text(response)}"[:500],
                            retry=busy, retry_after=retry_after_seconds(response) if busy
                            else None)


def _error_text(response: httpx.Response) -> str:
    try:
        answer: Any = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(answer, dict):
        return " ".join(str(answer[key]) for key in ("error", "error_description")
                        if answer.get(key))
    return str(answer)[:200]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds, as Google writes it; None without one (an
    HTTP date is read as none: the worker's own backoff then decides)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """A Google API's JSON answer, or {} when it is not a JSON object (a proxy's HTML page)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def token_source(key_file: str, scope: str, push: dict[str, Any], client: httpx.Client, *,
                 clock: Callable[[], dt.datetime]) -> GoogleTokenSource:
    """The access tokens for `scope` of the service account whose key is in `key_file`, got
    from [push] google_token_url and renewed its token_refresh_margin_seconds early."""
    return GoogleTokenSource(GoogleServiceAccount.from_file(key_file), (scope,), client=client,
                             token_url=push["google_token_url"],
                             margin_seconds=int(push["token_refresh_margin_seconds"]),
                             clock=clock)


def google_http_client(config: dict[str, Any]) -> httpx.Client:
    """An HTTP client for Google's APIs with [push] timeout_seconds and ca_file."""
    verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=config["ca_file"])
                                     if config["ca_file"] else True)
    return httpx.Client(timeout=float(config["timeout_seconds"]), verify=verify)
