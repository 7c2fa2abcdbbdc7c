"""What a load balancer and a monitoring system ask: alive, ready, and the metrics.

/healthz answers without the database (the process serves requests); /readyz checks that the
database answers and that its schema is at the newest Alembic revision of this build, so a
server started before `pos-loyalty init` ran gets no traffic. Both are unauthenticated and
cheap. /metrics is read by Prometheus: see `metrics_allowed`.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from pos_loyalty import metrics
from pos_loyalty.db import db
from pos_loyalty.errors import Forbidden

bp = Blueprint("operations", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return _no_store(jsonify({"status": "alive"}))


@bp.get("/readyz")
def readyz() -> Any:
    expected = migration_heads(current_app)
    try:
        found = schema_revisions()
    except SQLAlchemyError as error:
        current_app.logger.warning("readiness: the database did not answer (%s)",
                                   type(error).__name__)
        return _no_store(jsonify({"status": "not_ready", "reason": "database_unreachable",
                                  "expected": expected})), 503
    if found != expected:
        return _no_store(jsonify({"status": "not_ready", "reason": "schema_not_at_head",
                                  "schema": found, "expected": expected})), 503
    return _no_store(jsonify({"status": "ready", "schema": found}))


@bp.get("/metrics")
def metrics_view() -> Any:
    if not metrics_allowed():
        raise Forbidden("Metrics are read from this machine, or with the [service] "
                        "metrics_token as a Bearer token.")
    body, content_type = metrics.exposition()
    return _no_store(Response(body, content_type=content_type))


def metrics_allowed() -> bool:
    """With [service] metrics_token set, only its Bearer token; without, loopback peers only
    (the client address after `trusted_proxies`, so a proxied outsider is not loopback)."""
    token = str(current_app.config["LOYALTY"]["service"].get("metrics_token") or "")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def migration_heads(app: Flask) -> list[str]:
    """The newest revisions of this build's migrations (read once per app)."""
    heads = app.extensions.get("pos_loyalty.migration_heads")
    if heads is None:
        directory = app.extensions["migrate"].directory
        heads = app.extensions["pos_loyalty.migration_heads"] = sorted(
            ScriptDirectory(directory).get_heads())
    return heads


def schema_revisions() -> list[str]:
    """The revisions the database says it is at (empty before the first migration ran)."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return []
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return sorted(rows)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
