"""Logs an operator can ship: one JSON object a line, each with the request's id, no personal data.

Every request gets an id: the caller's `X-Request-Id` when it is a sane token (a load balancer's
or the till's), else a new one; the answer carries it back in `X-Request-Id` and every line
logged while serving it names it. Each request is logged once, after its answer, under its URL
rule (/api/pos/v1/cards/<card_number>) rather than its path, so no card number reaches the log;
a URL no rule matches is logged with long digit runs masked. Phones, names, card numbers and
PINs are never passed to a logger; as a second guard the JSON formatter masks digit runs of
8 or more (card numbers, phones) and the parameters SQLAlchemy quotes in its errors.

[service] log_format: "json", "text" (Python's default, untouched) or "auto" (JSON in
production).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
LONG_DIGITS = re.compile(r"\+?\d{8,}")
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\]$", re.MULTILINE)
QUIET_ENDPOINTS = frozenset({"/healthz", "/readyz", "/metrics"})   # probes: metrics only
ACCESS_LOG = logging.getLogger("pos_loyalty.access")
HANDLER_NAME = "pos_loyalty.json"


def init_request_logging(app: Flask) -> None:
    """The request id, the JSON handler when the settings ask for it, one line per request."""
    if log_format(app.config["LOYALTY"]["service"]) == "json":
        use_json_logs()
    app.before_request(_start_request)
    app.after_request(_finish_request)


def log_format(service: dict[str, Any]) -> str:
    chosen = str(service.get("log_format") or "auto")
    if chosen == "auto":
        return "json" if service.get("env") == "production" else "text"
    return chosen


def use_json_logs(level: int = logging.INFO) -> None:
    """One JSON handler on the root logger, to standard error (once per process)."""
    root = logging.getLogger()
    if any(handler.get_name() == HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a short token of safe characters, else a new one."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _start_request() -> None:
    g.request_id = request_id_from(request.headers.get("X-Request-Id"))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(None)
    response.headers["X-Request-Id"] = request_id
    rule = request.url_rule.rule if request.url_rule is not None else None
    if rule not in QUIET_ENDPOINTS:
        started = g.get("request_started", time.perf_counter())
        ACCESS_LOG.info("request", extra={"http": {
            "method": request.method, "route": rule or masked(request.path),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1)}})
    return response


def masked(text: str) -> str:
    """Digit runs long enough to be a card number or a phone, and SQL parameters, hidden."""
    return LONG_DIGITS.sub("[masked]", SQL_PARAMETERS.sub("[parameters masked]", text))


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        if has_request_context() and g.get("request_id"):
            line["request_id"] = g.request_id
        http = getattr(record, "http", None)
        if http:
            line["http"] = http
        if record.exc_info:
            line["exception"] = masked(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)
