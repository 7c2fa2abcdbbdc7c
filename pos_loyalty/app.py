"""The application factory: settings, database, blueprints, CLI and error handlers."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_migrate import Migrate
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix

from pos_loyalty.config import PROJECT_ROOT, load_settings, secret_key
from pos_loyalty.db import (
    db, discard_transaction, engine_options, init_engine_events, is_database_unavailable,
    retry_after,
)
from pos_loyalty.errors import DatabaseUnavailable, LoyaltyError
from pos_loyalty.rate_limits import init_rate_limits, retry_after_headers
from pos_loyalty.security import make_hasher

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
migrate = Migrate()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the whole service from settings; `config` overrides any setting (tests)."""
    settings = load_settings(config)
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    database_url = settings["service"]["database_url"] or _default_sqlite_url(app)
    app.config.update(
        LOYALTY=settings,
        SECRET_KEY=secret_key(settings),
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(database_url, settings),
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["service"]["env"] == "production",
    )
    app.json.sort_keys = False  # answers keep the documented field order
    proxies = int(settings["service"]["trusted_proxies"])
    if proxies > 0:  # the client's IP, scheme and host as the trusted proxies saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_prefix=0)  # type: ignore[method-assign]
    app.extensions["pos_loyalty.hasher"] = make_hasher(settings, app.config["SECRET_KEY"])
    db.init_app(app)
    init_engine_events(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    init_rate_limits(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    from pos_loyalty.cli import register_commands
    register_commands(app)
    from pos_loyalty import analytics
    analytics.load()
    return app


def _default_sqlite_url(app: Flask) -> str:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'pos_loyalty.sqlite3'}"


def _register_blueprints(app: Flask) -> None:
    from pos_loyalty.pos_api import bp as pos_api
    app.register_blueprint(pos_api)
    from mobile_api import register as register_mobile_api
    register_mobile_api(app)
    from pos_loyalty.notify.webhooks import bp as twilio_webhooks
    app.register_blueprint(twilio_webhooks)
    from cashier_ui import init_cashier_ui
    init_cashier_ui(app)
    from backoffice import init_backoffice
    init_backoffice(app)
    from pos_loyalty.health import bp as operations   # /healthz, /readyz, /metrics
    app.register_blueprint(operations)
    from mobile_api.wallet_views import bp as wallet   # Apple's pass web service, /wallet links
    app.register_blueprint(wallet)


def _register_request_hooks(app: Flask) -> None:
    from pos_loyalty.logging_setup import init_request_logging
    init_request_logging(app)   # request id, JSON logs, one line per request
    from pos_loyalty.metrics import init_request_metrics
    init_request_metrics(app)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


def http_error_code(error: HTTPException | type[HTTPException]) -> str:
    """The code a JSON answer gives an HTTP error of Werkzeug's (413 request_entity_too_large)."""
    return HTTP_STATUS_CODES.get(error.code or 0, "Unknown Error").lower().replace(" ", "_")


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(LoyaltyError)
    def loyalty_error(error: LoyaltyError) -> Any:
        return jsonify(error.to_json()), error.status, error.http_headers()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if not wants_json():
            return error
        headers = retry_after_headers() if error.code == 429 else {}
        return jsonify({"error": {"code": http_error_code(error),
                                  "message": error.description}}), error.code, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        discard_transaction()
        if is_database_unavailable(error):
            app.logger.warning("database unavailable: %s", error)
            return database_unavailable()
        app.logger.exception("unhandled error")
        if not wants_json():
            return "Something went wrong on our side; nothing was saved. Please retry.", 500
        return jsonify({"error": {"code": "internal_error",
                                  "message": "Something went wrong; nothing was saved."}}), 500


def database_unavailable() -> Any:
    """503 with Retry-After: JSON under /api and /webhooks, a plain sentence elsewhere."""
    error = DatabaseUnavailable()
    if not wants_json():
        return Response(error.message, 503, retry_after(), mimetype="text/plain")
    return jsonify(error.to_json()), 503, retry_after()
