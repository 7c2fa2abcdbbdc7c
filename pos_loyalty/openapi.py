"""OpenAPI 3 documents of the JSON APIs."""
from __future__ import annotations

from typing import Any


def pos_document() -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "pos-loyalty POS API", "version": "1"},
            "paths": {}}
