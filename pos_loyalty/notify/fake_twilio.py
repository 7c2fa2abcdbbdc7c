"""A local stand-in for Twilio's Messages API, for tests and trying the worker offline.

It answers `POST /2010-04-01/Accounts/<sid>/Messages.json` like Twilio, records every request,
and can be told to answer a number with Twilio's errors: 21610 (opted out), 21211 (invalid),
21614 (not a mobile), 429 (rate limited) or 500, or to price the message at once ("priced").
`GET .../Messages/<message sid>.json` answers the message as Twilio does once it is sent:
unpriced (price null) until told a price (`price`), or an error or a garbled answer. Point the
app at it with `twilio_api_base_url` ([sms]) or LOYALTY_TWILIO_API_BASE_URL.
"""
from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pos_loyalty.notify.fake_http import QuietHandler, QuietServer

# answer name -> (HTTP status, Twilio error code, message)
ERRORS = {
    "opted_out": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "invalid": (400, 21211, "The 'To' number is not a valid phone number."),
    "not_mobile": (400, 21614, "'To' number is not a valid mobile number"),
    "rate_limited": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "Internal Server Error"),
}
# The price the "priced" answer gives at once (Twilio's form: negative for a cost, in USD).
PRICE_AT_CREATE = "-0.00790"
# A fetch answer that is no JSON: a proxy's error page, a cut connection.
GARBLED = "garbled"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    authorization: str
    answer: str


class FakeTwilio:
    """Start with `with FakeTwilio() as twilio:`; `twilio.url` is the base URL to configure."""

    def __init__(self, reply_delay_seconds: float = 0.0) -> None:
        self.reply_delay_seconds = reply_delay_seconds
        self.requests: list[RecordedRequest] = []
        self._answers: dict[str, deque[str]] = defaultdict(deque)
        self._sent: dict[str, dict[str, Any]] = {}          # message sid -> the resource
        self._prices: dict[str, deque[str | None]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server = QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = False
        # Leaving the `with` waits for the serving loop to look up: 0.5 s by default.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-twilio", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, to: str, *answers: str) -> None:
        """The next messages to `to` get these answers in turn ("ok" or a key of ERRORS)."""
        with self._lock:
            self._answers[to].extend(answers)

    def price(self, sid: str, *answers: str | None) -> None:
        """The next fetches of message `sid` answer these in turn: a price as Twilio writes it
        ("-0.00750", in USD), None (not priced yet), GARBLED or a key of ERRORS; the last
        answer stays once they run out (unpriced when none was given)."""
        with self._lock:
            self._prices[sid].extend(answers)

    def fetches(self) -> list[RecordedRequest]:
        """The GETs of one message (its price asked), in order."""
        with self._lock:
            return [r for r in self.requests if r.method == "GET"]

    def bodies(self) -> list[str]:
        return [r.form.get("Body", "") for r in self.messages()]

    def messages(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/Messages.json")]

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next_price(self, sid: str) -> str | None:
        with self._lock:
            queue = self._prices.get(sid)
            if not queue:
                return None
            return queue.popleft() if len(queue) > 1 else queue[0]

    def _next_answer(self, to: str) -> str:
        with self._lock:
            queue = self._answers.get(to)
            return queue.popleft() if queue else "ok"

    def _handler_class(self) -> type[QuietHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                answer = fake._next_answer(form.get("To", ""))
                with fake._lock:
                    fake.requests.append(RecordedRequest(
                        "POST", self.path, form, self.headers.get("Authorization", ""), answer))
                # A slow network: time to kill a worker. Not time.sleep, which fails under
                # `faketime` with a real monotonic clock (libfaketime issue 426, Python 3.11).
                threading.Event().wait(fake.reply_delay_seconds)
                if answer in ERRORS:
                    status, code, message = ERRORS[answer]
                    self._reply(status, {"code": code, "message": message, "status": status,
                                         "more_info": f"https://www.twilio.com/docs/errors/{code}"})
                    return
                resource = _message_resource(self.path, form, priced=answer == "priced")
                with fake._lock:
                    fake._sent[resource["sid"]] = resource
                self._reply(201, resource)

            def do_GET(self) -> None:  # noqa: N802
                sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
                answer = fake._next_price(sid)
                with fake._lock:
                    fake.requests.append(RecordedRequest(
                        "GET", self.path, {}, self.headers.get("Authorization", ""),
                        answer or "unpriced"))
                    resource = fake._sent.get(sid)
                if resource is None:
                    self._reply(404, {"code": 20404, "status": 404, "message": f"The requested "
                                      f"resource {self.path} was not found"})
                elif answer == GARBLED:
                    self.write_answer(200, b"<html>Bad Gateway</html>", "text/html")
                elif answer in ERRORS:
                    status, code, message = ERRORS[answer]
                    self._reply(status, {"code": code, "message": message, "status": status})
                else:
                    self._reply(200, {**resource, "status": "delivered", "price": answer,
                                      "price_unit": "USD"})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                self.write_answer(status, json.dumps(body).encode(), "application/json")

        return Handler


def _message_resource(path: str, form: dict[str, str], *, priced: bool) -> dict[str, Any]:
    account_sid = path.split("/Accounts/")[1].split("/")[0] if "/Accounts/" in path else ""
    sid = "SM" + uuid.uuid4().hex
    return {"sid": sid, "account_sid": account_sid, "to": form.get("To"),
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"), "status": "queued", "num_segments": "1",
            "direction": "outbound-api", "api_version": "2010-04-01",
            "price": PRICE_AT_CREATE if priced else None, "price_unit": "USD",
            "error_code": None, "error_message": None,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"}
