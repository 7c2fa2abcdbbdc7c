"""Headers of every server-rendered page, the till's and the back office's."""
from __future__ import annotations

from flask import Response, request


def protect_page(response: Response, content_security_policy: str,
                 static_endpoint: str) -> Response:
    """Pages that show customer data: never cached (static files may be), never framed, no
    referrer sent out, and only the page's own files run."""
    if request.endpoint != static_endpoint:
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", content_security_policy)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
