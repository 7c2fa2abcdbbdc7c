"""A local stand-in for APNs, for tests and trying the pushes offline.

It speaks only HTTP/2 over TLS (ALPN "h2"), as Apple does, with the `h2` library and a thread
per connection. In pass-certificate mode (`client_ca_file`) the TLS handshake requires a
client certificate issued by that CA; in token mode (`token_keys`, by key id) every request
needs a bearer ES256 JWT from `team_id`, no older than 60 minutes by `clock`. It records every
request and answers 200 with an apns-id, or what a device token was told to answer
(`answer`): Apple's errors, with its status codes and reasons.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

# answer name -> (HTTP status, Apple's reason)
ANSWERS = {
    "unregistered": (410, "Unregistered"),
    "bad_token": (400, "BadDeviceToken"),
    "not_for_topic": (400, "DeviceTokenNotForTopic"),
    "unavailable": (503, "ServiceUnavailable"),
    "shutdown": (503, "Shutdown"),
    "throttled": (429, "TooManyRequests"),
    "expired_provider_token": (403, "ExpiredProviderToken"),
}
TOKEN_LIFETIME = dt.timedelta(minutes=60)
DEVICE_PATH = "/3/device/"
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")   # what Apple's device tokens are made of
# How often idle threads look whether the fake is stopping.
POLL_SECONDS = 0.05
HANDSHAKE_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class ApnsRequest:
    """One request as the fake saw it, and what it answered."""
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_subject: str | None   # RFC 4514, e.g. "O=pos-loyalty tests,CN=pass.example"
    alpn: str
    status: int
    reason: str
    apns_id: str

    @property
    def device_token(self) -> str:
        return self.path.removeprefix(DEVICE_PATH)


@dataclass
class _Script:
    name: str
    times: int | None
    retry_after: int | None


@dataclass
class _Peer:
    subject: str | None
    alpn: str
    streams: dict[int, tuple[dict[str, str], bytearray]] = field(default_factory=dict)


class FakeApns:
    """Start with `with FakeApns(cert, key, ...) as apns:`; `apns.url` is the base URL."""

    def __init__(self, certificate_file: str, key_file: str, *, client_ca_file: str = "",
                 token_keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
                 team_id: str = "", clock: Callable[[], dt.datetime] | None = None) -> None:
        self.token_keys, self.team_id = token_keys, team_id
        self.clock = clock   # naive UTC; None reads the wall clock (trying it by hand)
        self.requests: list[ApnsRequest] = []
        self.refused_connections: list[str] = []
        self._scripts: dict[str, _Script] = {}
        self._lock = threading.Condition()
        self._context = _server_context(certificate_file, key_file, client_ca_file)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_SECONDS)
        self._address = self._listener.getsockname()[:2]   # kept for the stopped fake's URL
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="fake-apns", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._address
        return f"https://{host}:{port}"

    def answer(self, device_token: str, name: str, *, times: int | None = None,
               retry_after: int | None = None) -> None:
        """Pushes to `device_token` get answer `name` (a key of ANSWERS, or "ok"): the next
        `times` ones, or all from now on; `retry_after` adds that Retry-After header."""
        if name != "ok" and name not in ANSWERS:
            raise ValueError(f"unknown APNs answer {name!r}")
        with self._lock:
            self._scripts[device_token] = _Script(name, times, retry_after)

    def start(self) -> FakeApns:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join()
        self._listener.close()
        for thread in list(self._threads):
            thread.join()

    def __enter__(self) -> FakeApns:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(connection,),
                                      name="fake-apns-connection", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        tls = self._context.wrap_socket(connection, server_side=True,
                                        do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as error:
            self._refuse(f"TLS handshake: {error}")
            _close_gently(tls)
            return
        with tls:
            alpn = tls.selected_alpn_protocol() or ""
            if alpn != "h2":
                self._refuse(f"ALPN {alpn or 'none'}: APNs speaks only h2")
                return
            try:
                self._speak_h2(tls, _Peer(_subject(tls), alpn))
            except OSError:
                pass   # the client went away mid-answer: nothing to tell it

    def refusals(self, count: int, *, timeout: float = HANDSHAKE_TIMEOUT_SECONDS) -> list[str]:
        """The refused connections once there are `count`: a refused handshake's alert reaches
        the client before this server's thread has written down why, so a test waits."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.refused_connections) >= count, timeout)
            return list(self.refused_connections)

    def _refuse(self, reason: str) -> None:
        with self._lock:
            self.refused_connections.append(reason)
            self._lock.notify_all()

    def _speak_h2(self, tls: ssl.SSLSocket, peer: _Peer) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        tls.settimeout(POLL_SECONDS)
        while not self._stopping.is_set():
            try:
                data = tls.recv(65535)
            except TimeoutError:
                continue
            if not data:
                return
            try:
                ended = any([self._on_event(conn, event, peer)   # every event, then any
                             for event in conn.receive_data(data)])
            except h2.exceptions.ProtocolError as error:
                self._refuse(f"HTTP/2: {error}")
                ended = True
            tls.sendall(conn.data_to_send())
            if ended:
                return

    def _on_event(self, conn: h2.connection.H2Connection, event: h2.events.Event,
                  peer: _Peer) -> bool:
        """Handle one HTTP/2 event; True when the client closed the connection."""
        if isinstance(event, h2.events.RequestReceived):
            peer.streams[event.stream_id] = (dict(event.headers), bytearray())
        elif isinstance(event, h2.events.DataReceived):
            peer.streams[event.stream_id][1].extend(event.data)
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            headers, body = peer.streams.pop(event.stream_id)
            self._respond(conn, event.stream_id, headers, bytes(body), peer)
        elif isinstance(event, h2.events.StreamReset):
            peer.streams.pop(event.stream_id, None)
        return isinstance(event, h2.events.ConnectionTerminated)

    def _respond(self, conn: h2.connection.H2Connection, stream_id: int,
                 headers: dict[str, str], body: bytes, peer: _Peer) -> None:
        status, reason, retry_after = self._decide(headers)
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        self._record(headers, body, peer, (status, reason, apns_id))
        answer = [(":status", str(status)), ("apns-id", apns_id)]
        if status == 200:
            conn.send_headers(stream_id, answer, end_stream=True)
            return
        if retry_after is not None:
            answer.append(("retry-after", str(retry_after)))
        error: dict[str, Any] = {"reason": reason}
        if status == 410:
            error["timestamp"] = int(self._now().replace(tzinfo=dt.UTC).timestamp() * 1000)
        data = json.dumps(error).encode()
        conn.send_headers(stream_id, answer + [("content-type", "application/json"),
                                               ("content-length", str(len(data)))])
        conn.send_data(stream_id, data, end_stream=True)

    def _decide(self, headers: dict[str, str]) -> tuple[int, str, int | None]:
        """(status, reason, Retry-After) in Apple's order: the request, the provider, the
        device."""
        path = headers.get(":path", "")
        if headers.get(":method") != "POST":
            return 405, "MethodNotAllowed", None
        if not path.startswith(DEVICE_PATH) or path == DEVICE_PATH:
            return 404, "BadPath", None
        refusal = self._token_refusal(headers.get("authorization", ""))
        if refusal:
            return 403, refusal, None
        if not headers.get("apns-topic"):
            return 400, "MissingTopic", None
        device_token = path.removeprefix(DEVICE_PATH)
        if not all(character in HEX_DIGITS for character in device_token):
            return 400, "BadDeviceToken", None
        script = self._next_script(device_token)
        if script is None or script.name == "ok":
            return 200, "", None
        status, reason = ANSWERS[script.name]
        return status, reason, script.retry_after

    def _next_script(self, device_token: str) -> _Script | None:
        with self._lock:
            script = self._scripts.get(device_token)
            if script is not None and script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    del self._scripts[device_token]
            return script

    def _token_refusal(self, authorization: str) -> str:
        """Apple's reason to refuse the provider token, "" when it verifies (or no keys)."""
        if self.token_keys is None:
            return ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken"
        try:
            header = jwt.get_unverified_header(token)
            key = self.token_keys.get(header.get("kid", ""))
            if header.get("alg") != "ES256" or key is None:
                return "InvalidProviderToken"
            claims = jwt.decode(token, key, algorithms=["ES256"],
                                options={"verify_iat": False, "require": ["iss", "iat"]})
        except jwt.PyJWTError:
            return "InvalidProviderToken"
        if claims["iss"] != self.team_id or not isinstance(claims["iat"], int):
            return "InvalidProviderToken"
        issued_at = dt.datetime.fromtimestamp(claims["iat"], dt.UTC).replace(tzinfo=None)
        if issued_at > self._now():
            return "InvalidProviderToken"
        if self._now() - issued_at > TOKEN_LIFETIME:
            return "ExpiredProviderToken"
        return ""

    def _record(self, headers: dict[str, str], body: bytes, peer: _Peer,
                answer: tuple[int, str, str]) -> None:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        plain = {name: value for name, value in headers.items() if not name.startswith(":")}
        with self._lock:
            self.requests.append(ApnsRequest(
                headers.get(":method", ""), headers.get(":path", ""), plain, parsed,
                peer.subject, peer.alpn, *answer))

    def _now(self) -> dt.datetime:
        if self.clock is not None:
            return self.clock()
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _server_context(certificate_file: str, key_file: str, client_ca_file: str
                    ) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate_file, key_file)
    context.set_alpn_protocols(["h2"])
    if client_ca_file:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca_file)
    return context


def _subject(tls: ssl.SSLSocket) -> str | None:
    der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).subject.rfc4514_string() if der else None


def _close_gently(connection: socket.socket) -> None:
    """Close after the peer does: closing with its bytes unread would reset the connection,
    and a TLS 1.3 client would lose the alert that says why it was refused."""
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        while connection.recv(65535):
            pass
    except OSError:
        pass
    finally:
        connection.close()
