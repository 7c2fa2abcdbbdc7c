"""The white-label mobile API (/api/mobile/v1): JSON and JWT, thin views over the core."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Rate limits and the blueprint; called by pos_loyalty.app's factory."""
    from mobile_api.limits import init_limiter
    from mobile_api.views import bp
    init_limiter(app)
    app.register_blueprint(bp)
