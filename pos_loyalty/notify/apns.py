"""Apple's push service (APNs) over HTTP/2: the brand app's notifications, Wallet's pass updates.

Two ways to prove who we are, one client each. The app's pushes use token authentication: an
ES256 JWT signed with the .p8 key of the Apple developer account (`ApnsTokenSigner`), sent as
`authorization: bearer`. Wallet's pushes use the pass type certificate as the TLS client
certificate; Apple takes no token for them. Each answer becomes a `PushResult`: ok, dead (the
device token is gone: forget it), retry (Apple busy, the network) or failed (no retry mends it).
"""
from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from pos_loyalty import clock as app_clock
from pos_loyalty.config import ConfigError
from pos_loyalty.notify.channels import PushResult

# Apple refuses a token older than 60 minutes (ExpiredProviderToken) and one renewed more often
# than every 20 (TooManyProviderTokenUpdates): the refresh period stays between the two.
MIN_REFRESH_MINUTES, MAX_REFRESH_MINUTES = 20, 55
# Apple's reasons (with status 400) that mean the device token will never take this topic.
DEAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
# OpenSSL's reasons when a TLS peer refuses a certificate (ours or theirs): a credentials
# problem, not a network one, so the push fails instead of retrying for hours.
REFUSED_CERTIFICATE_REASONS = frozenset({
    "TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_UNKNOWN_CA", "CERTIFICATE_VERIFY_FAILED",
})


class ApnsCredentialError(ConfigError):
    """The APNs key or the pass certificate cannot be used (missing, unreadable, wrong kind)."""


class ApnsTokenSigner:
    """The provider token: an ES256 JWT, signed again every `refresh_minutes` (thread-safe)."""

    def __init__(self, team_id: str, key_id: str, key_pem: bytes, *, refresh_minutes: int = 50,
                 clock: Callable[[], dt.datetime]) -> None:
        self.team_id, self.key_id, self.clock = team_id, key_id, clock
        self.key = _ec_p256_key(key_pem, f"the APNs key {key_id}")
        minutes = min(max(refresh_minutes, MIN_REFRESH_MINUTES), MAX_REFRESH_MINUTES)
        self.refresh = dt.timedelta(minutes=minutes)
        self._lock = threading.Lock()
        self._token = ""
        self._signed_at: dt.datetime | None = None

    @classmethod
    def from_file(cls, team_id: str, key_id: str, key_file: str | Path, *,
                  refresh_minutes: int = 50,
                  clock: Callable[[], dt.datetime]) -> ApnsTokenSigner:
        """The signer of the .p8 key file Apple hands out once (AuthKey_<key id>.p8)."""
        try:
            key_pem = Path(key_file).read_bytes()
        except OSError as error:
            raise ApnsCredentialError(
                f"the APNs key file {key_file} cannot be read ({error.strerror}): set [push] "
                f"apns_key_file (LOYALTY_PUSH__APNS_KEY_FILE) to the .p8 file of key "
                f"{key_id}") from error
        return cls(team_id, key_id, key_pem, refresh_minutes=refresh_minutes, clock=clock)

    def token(self) -> str:
        """The current token, signed anew once it is `refresh_minutes` old."""
        now = self.clock()
        with self._lock:
            if self._signed_at is None or now - self._signed_at >= self.refresh:
                self._sign(now)
            return self._token

    def renew(self) -> str:
        """A new token now: Apple answered ExpiredProviderToken to the current one."""
        now = self.clock()
        with self._lock:
            self._sign(now)
            return self._token

    def _sign(self, now: dt.datetime) -> None:
        issued_at = int(now.replace(tzinfo=dt.UTC).timestamp())
        self._token = jwt.encode({"iss": self.team_id, "iat": issued_at}, self.key,
                                 algorithm="ES256", headers={"kid": self.key_id, "typ": None})
        self._signed_at = now


def _ec_p256_key(key_pem: bytes, what: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as error:
        raise ApnsCredentialError(f"{what} is no PEM private key (.p8): {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ApnsCredentialError(f"{what} is not an EC P-256 key: APNs signs with ES256")
    return key


class ApnsClient:
    """One HTTP/2 connection to APNs, kept open across pushes (Apple asks for that)."""

    def __init__(self, base_url: str, *, signer: ApnsTokenSigner | None = None,
                 client_certificate: tuple[str, str, str | None] | None = None,
                 ca_file: str = "", timeout: float = 10) -> None:
        if (signer is None) == (client_certificate is None):
            raise ValueError("an APNs client takes exactly one of a signer (the app) or a "
                             "client certificate (Wallet)")
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.http = httpx.Client(http2=True, timeout=timeout,
                                 verify=_tls_context(ca_file, client_certificate))

    def send(self, device_token: str, payload: dict[str, Any], *, topic: str,
             push_type: str = "alert", priority: int = 10, collapse_id: str | None = None,
             expiration: int | None = None) -> PushResult:
        """POST one notification; a token Apple calls expired is renewed and tried once more."""
        headers = {"apns-topic": topic, "apns-push-type": push_type,
                   "apns-priority": str(priority), "content-type": "application/json"}
        if collapse_id is not None:
            headers["apns-collapse-id"] = collapse_id
        if expiration is not None:
            headers["apns-expiration"] = str(expiration)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        url = f"{self.base_url}/3/device/{quote(device_token, safe='')}"
        try:
            response = self._post(url, headers, body, renew=False)
            if self.signer is not None and response.status_code == 403 \
                    and _reason(response) == "ExpiredProviderToken":
                response = self._post(url, headers, body, renew=True)
        except httpx.TransportError as error:
            return _transport_result(error)
        return _result(response)

    def send_alert(self, device_token: str, *, title: str, body: str, data: dict[str, str],
                   topic: str, collapse_id: str | None = None) -> PushResult:
        """The app's notification: a title and a body shown as is, `data` for the app."""
        if "aps" in data:
            raise ValueError("the app's data cannot use the key 'aps': Apple reads it")
        payload = {"aps": {"alert": {"title": title, "body": body}, "sound": "default"}, **data}
        return self.send(device_token, payload, topic=topic, collapse_id=collapse_id)

    def send_pass_update(self, device_token: str, *, pass_type_id: str) -> PushResult:
        """Wallet's nudge: an empty payload on the pass type id, after which the phone asks our
        web service which passes changed. A background push (priority 5), as PassKit servers
        send it: it shows nothing."""
        return self.send(device_token, {}, topic=pass_type_id, push_type="background",
                         priority=5)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApnsClient:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _post(self, url: str, headers: dict[str, str], body: bytes, *,
              renew: bool) -> httpx.Response:
        if self.signer is not None:
            token = self.signer.renew() if renew else self.signer.token()
            headers = {**headers, "authorization": f"bearer {token}"}
        return self.http.post(url, headers=headers, content=body)


def _tls_context(ca_file: str, client_certificate: tuple[str, str, str | None] | None
                 ) -> ssl.SSLContext:
    """httpx 0.28 takes a CA file and a client certificate only inside an SSLContext."""
    try:
        context = (ssl.create_default_context(cafile=ca_file) if ca_file
                   else httpx.create_ssl_context())
    except (OSError, ssl.SSLError) as error:
        raise ApnsCredentialError(f"the CA file {ca_file} cannot be used ({error}): [push] "
                                  f"ca_file (LOYALTY_PUSH__CA_FILE) names a PEM bundle") from error
    if client_certificate is None:
        return context
    certificate_file, key_file, password = client_certificate
    try:
        context.load_cert_chain(certificate_file, key_file, password or None)
    except (OSError, ssl.SSLError) as error:
        raise ApnsCredentialError(
            f"the pass certificate {certificate_file} with key {key_file} cannot be used "
            f"({error}): [wallet] apple_pass_certificate_file, apple_pass_key_file and "
            f"apple_pass_key_password must name the PEM files of the Pass Type ID "
            f"certificate") from error
    return context


def _result(response: httpx.Response) -> PushResult:
    """Apple's answer as a PushResult (developer.apple.com, "Handling notification responses
    from APNs")."""
    status = response.status_code
    if status == 200:
        return PushResult("ok", provider_id=response.headers.get("apns-id"))
    detail = f"APNs {status} {_reason(response)}".strip()
    if status == 410 or (status == 400 and _reason(response) in DEAD_TOKEN_REASONS):
        return PushResult("dead", detail)
    if status == 429 or status >= 500:
        return PushResult("retry", detail, retry_after=_retry_after(response))
    return PushResult("failed", detail)


def _reason(response: httpx.Response) -> str:
    try:
        reason = response.json().get("reason")
    except (ValueError, AttributeError):
        return ""
    return reason if isinstance(reason, str) else ""


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds; the HTTP-date form is left to the caller's own back-off."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return max(seconds, 0.0)


def _transport_result(error: httpx.TransportError) -> PushResult:
    refused = _refused_certificate(error)
    if refused:
        return PushResult("failed", f"APNs TLS refused a certificate: {refused}"[:500])
    return PushResult("retry", f"network: {type(error).__name__}: {error}"[:500])


def _refused_certificate(error: BaseException) -> str:
    """OpenSSL's reason when the TLS failure under `error` is a refused certificate, else ""."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError) and seen.reason in REFUSED_CERTIFICATE_REASONS:
            return str(seen.reason)
        seen = seen.__cause__ or seen.__context__
    return ""


def make_app_client(push: dict[str, Any], *,
                    clock: Callable[[], dt.datetime] = app_clock.now) -> ApnsClient | None:
    """The brand app's client from `push_config(program)`; None while the app's APNs key,
    team or topic is not configured. The topic (push["apns_topic"]) goes with each send."""
    names = ("apns_team_id", "apns_key_id", "apns_key_file", "apns_topic")
    if not all(push[name] for name in names):
        return None
    # str(): an all-digit id set by environment variable arrives as a TOML number.
    signer = ApnsTokenSigner.from_file(str(push["apns_team_id"]), str(push["apns_key_id"]),
                                       push["apns_key_file"],
                                       refresh_minutes=push["apns_token_refresh_minutes"],
                                       clock=clock)
    return ApnsClient(push["apns_base_url"], signer=signer, ca_file=push["ca_file"],
                      timeout=push["timeout_seconds"])


def make_pass_client(wallet: dict[str, Any], push: dict[str, Any]) -> ApnsClient | None:
    """Wallet's client from `wallet_config(program)` (its pass certificate) and [push]'s
    timeout and CA file; None while the pass certificate is not configured. The key's
    password is optional: an unencrypted key file needs none."""
    names = ("apple_pass_certificate_file", "apple_pass_key_file", "apple_apns_base_url",
             "apple_pass_type_id")
    if not all(wallet[name] for name in names):
        return None
    certificate = (wallet["apple_pass_certificate_file"], wallet["apple_pass_key_file"],
                   wallet["apple_pass_key_password"] or None)
    return ApnsClient(wallet["apple_apns_base_url"], client_certificate=certificate,
                      ca_file=push["ca_file"], timeout=push["timeout_seconds"])
