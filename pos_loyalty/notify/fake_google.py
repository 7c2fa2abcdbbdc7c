"""A local stand-in for the Google services the notifications use, for tests and trying the
worker offline: OAuth2's token endpoint, FCM's messages:send and the Google Wallet API.

`POST /token` takes the JWT-bearer grant as Google does: it checks the assertion's RS256
signature against the keys it was told to trust (`trust`), its audience (this `/token`) and
lifetime, and hands out bearer tokens, which FCM and the Wallet API then require (with the
scope of each). `expire_tokens()` makes every token handed out so far answer 401, as an
expired one does. FCM answers a device token as scripted (`fcm_answer`: UNREGISTERED, an
invalid token, 503, 429, ...); the Wallet API keeps loyalty classes and objects in memory with
Google's 404 and 409. Point a service account's key (`token_uri`) and the clients at `url`.
"""
from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt

from pos_loyalty.notify.fake_http import QuietHandler, QuietServer
from pos_loyalty.notify.google_auth import JWT_BEARER_GRANT

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
TOKEN_SECONDS = 3599
RETRY_AFTER_SECONDS = 30
WALLET_PREFIX = "/walletobjects/v1/"
WALLET_KINDS = ("loyaltyClass", "loyaltyObject")
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
INVALID_TOKEN = "The registration token is not a valid FCM registration token"

# FCM answer name -> (HTTP status, RPC status, FCM errorCode, message)
FCM_ERRORS = {
    "unregistered": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "invalid": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", INVALID_TOKEN),
    "bad_payload": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                    "Invalid JSON payload received."),
    "sender_mismatch": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH",
                        "SenderId mismatch"),
    "unavailable": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
    "quota": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
              "Quota exceeded for quota metric 'Send requests'."),
    "internal": (500, "INTERNAL", "INTERNAL", "Internal error encountered."),
}
# Token endpoint and Wallet API answer names -> (HTTP status, error text).
TOKEN_ERRORS = {"invalid_grant": (400, "invalid_grant"), "unavailable": (503, "unavailable")}
# "not_found": a 404 for a resource that exists, as when another writer inserts it between
# a PUT and the POST that follows (the POST then gets 409).
WALLET_ERRORS = {"unavailable": (503, "UNAVAILABLE"), "quota": (429, "RESOURCE_EXHAUSTED"),
                 "not_found": (404, "NOT_FOUND")}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    authorization: str
    body: Any        # the JSON sent, or the form of a token request
    status: int


@dataclass
class Scripted:
    answer: str
    times: int | None   # None: every time


class FakeGoogle:
    """Start with `with FakeGoogle() as google:`; `google.url` is the base of every API."""

    def __init__(self, token_seconds: int = TOKEN_SECONDS,
                 tls_files: tuple[str, str] | None = None,
                 fcm_delay_seconds: float = 0.0) -> None:
        """`tls_files` (certificate PEM, key PEM): answer https, as behind [push] ca_file.
        `fcm_delay_seconds`: FCM takes each message at once and answers that much later (a
        worker killed meanwhile has sent it without knowing)."""
        self.token_seconds = token_seconds
        self.fcm_delay_seconds = fcm_delay_seconds
        self.scheme = "https" if tls_files else "http"
        self.requests: list[RecordedRequest] = []
        self.messages: list[dict[str, Any]] = []          # FCM messages taken
        self.classes: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, str] = {}                   # client_email -> public key PEM
        self._tokens: dict[str, set[str]] = {}            # access token -> scopes
        self._expired: set[str] = set()
        self._fcm: dict[str, list[Scripted]] = {}
        self._token_answers: list[Scripted] = []
        self._wallet_answers: list[Scripted] = []
        self._lock = threading.Lock()
        self._server = QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = False
        if tls_files:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_files)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-google", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def trust(self, client_email: str, public_key_pem: str) -> None:
        """Accept assertions from this service account, signed by its key."""
        with self._lock:
            self._keys[client_email] = public_key_pem

    @property
    def tokens_issued(self) -> int:
        with self._lock:
            return len(self._tokens)

    def expire_tokens(self) -> None:
        """Every access token handed out so far is refused from now on (401)."""
        with self._lock:
            self._expired.update(self._tokens)

    def fcm_answer(self, device_token: str, answer: str, times: int | None = None) -> None:
        """Sends to `device_token` get `answer` (a key of FCM_ERRORS), the next `times` only
        or always; then "ok"."""
        with self._lock:
            self._fcm.setdefault(device_token, []).append(Scripted(answer, times))

    def token_answer(self, answer: str, times: int | None = 1) -> None:
        """Token requests get `answer` (a key of TOKEN_ERRORS) instead of a token."""
        with self._lock:
            self._token_answers.append(Scripted(answer, times))

    def wallet_answer(self, answer: str, times: int | None = 1) -> None:
        """Wallet API calls get `answer` (a key of WALLET_ERRORS) before doing anything."""
        with self._lock:
            self._wallet_answers.append(Scripted(answer, times))

    def calls(self, method: str, path_start: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests
                    if r.method == method and r.path.startswith(path_start)]

    def __enter__(self) -> FakeGoogle:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- the endpoints: each returns (HTTP status, JSON answer, extra headers) ---------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        scripted = _take(self._token_answers)
        if scripted in TOKEN_ERRORS:
            status, error = TOKEN_ERRORS[scripted]
            return status, {"error": error, "error_description": "scripted"}, {}
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Invalid grant_type"}, {}
        try:
            scopes = self._checked_assertion(form.get("assertion", ""))
        except jwt.InvalidTokenError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}, {}
        token = f"ya29.fake-{len(self._tokens) + 1}"
        self._tokens[token] = scopes
        return 200, {"access_token": token, "expires_in": self.token_seconds,
                     "token_type": "Bearer"}, {}

    def _checked_assertion(self, assertion: str) -> set[str]:
        """The scopes of a valid assertion. The lifetime is checked against its own iat, not
        the wall clock: tests sign with a frozen clock."""
        issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        if issuer not in self._keys:
            raise jwt.InvalidTokenError(f"Invalid JWT Signature: unknown issuer {issuer}")
        claims = jwt.decode(assertion, self._keys[issuer], algorithms=["RS256"],
                            audience=self.token_url,
                            options={"verify_exp": False, "verify_iat": False,
                                     "require": ["iss", "aud", "iat", "exp", "scope"]})
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            raise jwt.InvalidTokenError("Invalid JWT: Token must be a short-lived token")
        scopes = set(str(claims["scope"]).split())
        if not scopes <= {FCM_SCOPE, WALLET_SCOPE}:
            raise jwt.InvalidTokenError(f"Invalid OAuth scope: {claims['scope']}")
        return scopes

    def _unauthenticated(self, authorization: str, scope: str) -> dict[str, Any] | None:
        token = authorization.removeprefix("Bearer ")
        if token in self._tokens and token not in self._expired and scope in self._tokens[token]:
            return None
        return _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication "
                             "credentials. Expected OAuth 2 access token.")

    def _fcm_send(self, path: str, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict) or not message.get("token"):
            return 400, _google_error(400, "INVALID_ARGUMENT", "message.token is required"), {}
        data = message.get("data") or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return 400, _google_error(400, "INVALID_ARGUMENT", "Invalid value at "
                                      "'message.data': every value must be a string"), {}
        scripted = _take(self._fcm.get(message["token"], []))
        if scripted in FCM_ERRORS:
            status, rpc_status, code, text = FCM_ERRORS[scripted]
            details = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status in (429, 503) else {}
            return status, _google_error(status, rpc_status, text, details), headers
        self.messages.append(message)
        project = path.split("/")[3]
        return 200, {"name": f"projects/{project}/messages/{len(self.messages)}"}, {}

    def _wallet(self, method: str, path: str,
                body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        scripted = _take(self._wallet_answers)
        if scripted in WALLET_ERRORS:
            status, rpc_status = WALLET_ERRORS[scripted]
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status != 404 else {}
            return status, _google_error(status, rpc_status, "scripted"), headers
        kind, _, resource_id = path[len(WALLET_PREFIX):].partition("/")
        if kind not in WALLET_KINDS:
            return 404, _google_error(404, "NOT_FOUND", f"Unknown resource {kind}"), {}
        store = self.classes if kind == "loyaltyClass" else self.objects
        resource_id = unquote(resource_id)
        if method == "POST":
            return self._wallet_insert(kind, store, body)
        if resource_id not in store:
            return 404, _google_error(404, "NOT_FOUND", f"Resource {resource_id} not found"), {}
        if method == "PUT":
            if not isinstance(body, dict) or body.get("id") != resource_id:
                return 400, _google_error(400, "INVALID_ARGUMENT", "id does not match"), {}
            store[resource_id] = body
        return 200, store[resource_id], {}

    def _wallet_insert(self, kind: str, store: dict[str, dict[str, Any]],
                       body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not isinstance(body, dict) or not body.get("id"):
            return 400, _google_error(400, "INVALID_ARGUMENT", "id is required"), {}
        if body["id"] in store:
            return 409, _google_error(409, "ALREADY_EXISTS",
                                      f"Resource {body['id']} already exists"), {}
        if kind == "loyaltyObject" and body.get("classId") not in self.classes:
            return 400, _google_error(400, "INVALID_ARGUMENT",
                                      f"Class {body.get('classId')} not found"), {}
        store[body["id"]] = body
        return 200, body, {}

    def _answer(self, method: str, path: str, authorization: str,
                body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "POST" and path == "/token":
            return self._token(body)
        if method == "POST" and path.startswith("/v1/projects/") \
                and path.endswith("/messages:send"):
            refusal = self._unauthenticated(authorization, FCM_SCOPE)
            return (401, refusal, {}) if refusal else self._fcm_send(path, body)
        if path.startswith(WALLET_PREFIX):
            refusal = self._unauthenticated(authorization, WALLET_SCOPE)
            return (401, refusal, {}) if refusal else self._wallet(method, path, body)
        return 404, _google_error(404, "NOT_FOUND", f"No such endpoint {path}"), {}

    def _handler_class(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._handle()

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

            def do_PUT(self) -> None:  # noqa: N802
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                body = _parsed(raw, self.headers.get("Content-Type", ""))
                authorization = self.headers.get("Authorization", "")
                with fake._lock:
                    status, answer, headers = fake._answer(self.command, self.path,
                                                           authorization, body)
                    fake.requests.append(RecordedRequest(self.command, self.path,
                                                         authorization, body, status))
                if fake.fcm_delay_seconds and self.path.endswith("/messages:send"):
                    threading.Event().wait(fake.fcm_delay_seconds)  # not time.sleep: faketime
                self.write_answer(status, json.dumps(answer).encode(),
                            "application/json; charset=UTF-8", headers)

        return Handler


def _parsed(raw: str, content_type: str) -> Any:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(raw).items()}
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def _take(script: list[Scripted]) -> str | None:
    """The next scripted answer, used up once its times run out."""
    if not script:
        return None
    first = script[0]
    if first.times is not None:
        first.times -= 1
        if first.times <= 0:
            script.pop(0)
    return first.answer


def _google_error(code: int, status: str, message: str,
                  details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}
