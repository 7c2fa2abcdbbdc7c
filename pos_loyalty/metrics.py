"""Prometheus metrics: what the app counts, and what /metrics shows.

The use cases call the hooks below after their transaction committed (a replayed
Idempotency-Key counts nothing); the SMS worker reports each outcome. Nothing here decides
anything. Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by config/gunicorn.conf.py before any
worker imports this module) makes every worker write its counts to files there, and a scrape
reads them all. Labels never carry a card number or a phone: requests are labelled with
Flask's URL rule (/api/pos/v1/cards/<card_number>), not the path.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from pos_loyalty.clock import now
from pos_loyalty.db import db
from pos_loyalty.errors import TooManyTries
from pos_loyalty.models import OutboxMessage

log = logging.getLogger(__name__)
UNMATCHED = "<unmatched>"   # the endpoint label of a URL no rule matches (404)
UNSENT_STATUSES = ("queued", "sending")

HTTP_REQUESTS = Counter("pos_loyalty_http_requests", "HTTP requests answered.",
                        ["endpoint", "method", "status"])
HTTP_LATENCY = Histogram("pos_loyalty_http_request_duration_seconds",
                         "Seconds from the request's start to its answer.",
                         ["endpoint", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SALES = Counter("pos_loyalty_sales", "Sales recorded (a replayed Idempotency-Key not counted).")
POINTS_ISSUED = Counter("pos_loyalty_points_issued", "Points credited.", ["source"])
POINTS_SPENT = Counter("pos_loyalty_points_spent", "Points spent or withdrawn.", ["source"])
SMS_OUTCOMES = Counter("pos_loyalty_sms", "Outbox rows the SMS worker handled, by outcome.",
                       ["outcome"])
PUSH_OUTCOMES = Counter("pos_loyalty_push", "Pushes and wallet updates the worker handled, by "
                        "channel and outcome (fell_back: an SMS went instead).",
                        ["channel", "outcome"])
LOCKOUTS = Counter("pos_loyalty_lockouts",
                   "Tries refused because a login, PIN, till or address has had too many wrong "
                   "tries (429 too_many_tries).", ["who"])


# --- hooks the core calls ----------------------------------------------------------------------

def sale_recorded(points_earned: int, points_spent: int) -> None:
    SALES.inc()
    POINTS_ISSUED.labels("sale").inc(points_earned)
    POINTS_SPENT.labels("sale").inc(points_spent)


def points_adjusted(points: int) -> None:
    if points > 0:
        POINTS_ISSUED.labels("adjustment").inc(points)
    elif points < 0:
        POINTS_SPENT.labels("adjustment").inc(-points)


def sms_outcome(outcome: str) -> None:
    SMS_OUTCOMES.labels(outcome).inc()


def push_outcome(channel: str, outcome: str) -> None:
    PUSH_OUTCOMES.labels(channel, outcome).inc()


@contextmanager
def lockouts_counted(who: str) -> Iterator[None]:
    """Counts the tries the core refuses because wrong ones were throttled (no login is ever
    locked: see pos_loyalty.throttles)."""
    try:
        yield
    except TooManyTries:
        LOCKOUTS.labels(who).inc()
        raise


# --- requests ----------------------------------------------------------------------------------

def init_request_metrics(app: Flask) -> None:
    """Time each request and count it by URL rule, method and status."""
    app.after_request(_count_request)


def _count_request(response: Any) -> Any:
    started = g.get("request_started")
    endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        HTTP_LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


# --- the scrape --------------------------------------------------------------------------------

class OutboxCollector(Collector):
    """The SMS outbox as the database holds it at scrape time: one indexed count per status
    and the age of the oldest unsent row (deferred rows too: quiet hours make it grow).
    `depth` None: the database did not answer; only pos_loyalty_outbox_readable 0 is shown."""

    def __init__(self, depth: dict[str, int] | None, oldest_age_seconds: float) -> None:
        self.depth, self.oldest_age_seconds = depth, oldest_age_seconds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("pos_loyalty_outbox_readable",
                                "1 when this scrape could read the outbox, else 0.",
                                value=0 if self.depth is None else 1)
        if self.depth is None:
            return
        depth = GaugeMetricFamily("pos_loyalty_outbox_depth", "SMS not sent yet, by status.",
                                  labels=["status"])
        for status in UNSENT_STATUSES:
            depth.add_metric([status], self.depth.get(status, 0))
        yield depth
        yield GaugeMetricFamily("pos_loyalty_outbox_oldest_age_seconds",
                                "Seconds since the oldest unsent SMS was written (0: none).",
                                value=self.oldest_age_seconds)


def outbox_collector() -> OutboxCollector:
    try:
        rows = db.session.execute(
            select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status.in_(UNSENT_STATUSES))
            .group_by(OutboxMessage.status)).all()
    except SQLAlchemyError as error:
        log.warning("metrics: the outbox could not be read (%s)", type(error).__name__)
        return OutboxCollector(None, 0.0)
    finally:
        db.session.rollback()   # a read: end it at once (SQLite holds its write lock until then)
    oldest = min((row[2] for row in rows), default=None)
    age = max((now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return OutboxCollector({status: count for status, count, _ in rows}, age)


def exposition() -> tuple[bytes, str]:
    """The text Prometheus reads: every process's counts, then the outbox gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(outbox_collector())
    return generate_latest(counted) + generate_latest(scraped), CONTENT_TYPE_LATEST
