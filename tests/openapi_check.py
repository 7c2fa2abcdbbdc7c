"""Real calls checked by openapi-core: every request sent and every answer got must keep to the
API's OpenAPI document, as a generated client and a validating proxy would see them.

Shared by the API test modules: `CheckedClient(client, "/api/pos/v1", pos_document(), headers)`
sends through the Flask test client; a request that is wrong on purpose (to get a 422, a 401)
passes `valid=False`, and then the document must refuse it too.
"""
from __future__ import annotations

import json
import re
from io import BytesIO
from typing import Any

from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request

# openapi-core hands an image (or a pass) body to the schema as bytes, which JSON Schema
# 2020-12 does not call a string; read every byte as one character, as the documents' binary
# strings mean.
IMAGES = {mimetype: lambda body, **_: body.decode("latin-1")
          for mimetype in ("image/png", "image/svg+xml", "application/vnd.apple.pkpass")}


class CheckedClient:
    def __init__(self, client: FlaskClient, prefix: str, document: dict[str, Any],
                 headers: dict[str, str]) -> None:
        self.client, self.prefix, self.headers = client, prefix, headers
        self.openapi = OpenAPI.from_dict(
            document, config=Config(extra_media_type_deserializers=IMAGES))
        self.operations = {
            (method.upper(), re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)))): op
            for path, item in document["paths"].items() for method, op in item.items()}
        self.answered: set[tuple[str, int]] = set()  # (operationId, status) of every answer

    def get(self, path: str, **options: Any) -> TestResponse:
        return self.call("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> TestResponse:
        return self.call("POST", path, body, **options)

    def call(self, method: str, path: str, body: Any = None, *, valid: bool = True,
             headers: dict[str, str] | None = None, data: bytes | None = None,
             content_type: str = "application/json", **options: Any) -> TestResponse:
        """Send one request; check it (valid or not, as said) and its answer."""
        sent = {**self.headers, **(headers or {})}
        if data is None and body is not None:
            data = json.dumps(body).encode()
        reply = self.client.open(self.prefix + path, method=method, headers=sent, data=data,
                                 content_type=content_type if data is not None else None,
                                 **options)
        # The app has read the body the test client sent: give openapi-core the same bytes.
        request = WerkzeugOpenAPIRequest(Request({**reply.request.environ,
                                                  "wsgi.input": BytesIO(data or b"")}))
        refusals = list(self.openapi.iter_request_errors(request))
        assert (not refusals) == valid, (
            f"{method} {path}: the document {'refuses' if refusals else 'accepts'} the request "
            f"{body!r}: {refusals}")
        self.openapi.validate_response(request, WerkzeugOpenAPIResponse(reply))
        self.answered.add((self._operation_id(method, path), reply.status_code))
        return reply

    def _operation_id(self, method: str, path: str) -> str:
        bare = path.split("?", 1)[0]
        return next(op["operationId"] for (verb, pattern), op in self.operations.items()
                    if verb == method and pattern.fullmatch(bare))

    def operations_answered_with_success(self) -> set[str]:
        return {operation_id for operation_id, status in self.answered if status < 300}


def error_code(reply: TestResponse) -> tuple[int, str]:
    return reply.status_code, reply.get_json()["error"]["code"]


def served_document(client: FlaskClient, prefix: str) -> dict[str, Any]:
    """The document the API serves, checked as valid OpenAPI 3.1."""
    from openapi_spec_validator import validate
    reply = client.get(f"{prefix}/openapi.json")
    assert reply.status_code == 200
    document = reply.get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    return document


def routes_and_documented(app: Any, prefix: str,
                          document: dict[str, Any]) -> tuple[set[Any], set[Any]]:
    """(path, method) of every route under `prefix`, and of every documented operation."""
    routes = {(re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(prefix)), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith(prefix + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item}
    return routes, documented
