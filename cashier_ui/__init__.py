"""The cashier terminal: server-rendered pages at /cashier over the same core as the POS API."""
from __future__ import annotations

from flask import Flask, Response, send_from_directory
from flask_babel import Babel

from cashier_ui import checkout, login, manager, returns  # noqa: F401  (they add the routes)
from cashier_ui.blueprint import bp
from cashier_ui.i18n import select_locale, select_timezone


def init_cashier_ui(app: Flask) -> None:
    """Register the blueprint and, unless another face did, Flask-Babel with our selectors."""
    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.register_blueprint(bp)
    app.add_url_rule("/favicon.ico", "favicon", favicon)


def favicon() -> Response:
    """Browsers ask every site for /favicon.ico: answer with the till's icon, not a 404."""
    return send_from_directory(bp.static_folder, "favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)
