"""The back office: server-rendered pages at /admin for the people who run the program
(admin, marketing, support, finance), over the same core use cases as the other faces."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from backoffice import (  # noqa: F401  (they add the routes)
    approvals, audit_log, auth, campaigns, cards, customer_actions, customers, exports, home,
    imports, promotions, reports, settings_branding, settings_rules, settings_sms, staff,
    stores, tiers,
)
from backoffice import analytics  # noqa: F401  (the dashboard's routes)
from backoffice import broadcasts  # noqa: F401  (messages to customers)
from backoffice.blueprint import bp
from cashier_ui.i18n import select_locale, select_timezone


def init_backoffice(app: Flask) -> None:
    """Register the blueprint and, unless another face did, Flask-Babel with our selectors."""
    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.register_blueprint(bp)
