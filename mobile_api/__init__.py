"""The white-label mobile API (/api/mobile/v1): JSON and JWT, thin views over the core."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """JWT keys and the blueprint; called by pos_loyalty.app's factory.

    Loading the keys first makes a bad [mobile] jwt_* setting stop create_app() with ConfigError.
    """
    from pos_loyalty.app_sessions import init_jwt_keys
    from mobile_api.views import bp
    init_jwt_keys(app)
    app.register_blueprint(bp)
