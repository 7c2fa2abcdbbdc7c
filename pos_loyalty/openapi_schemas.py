"""What the POS and mobile OpenAPI documents share: the version, schema helpers, the formats of
card numbers and phone numbers, and the error answers.

Error answers are built from the error classes (`pos_loyalty.errors`, and Werkzeug's for the
HTTP errors the app's handler answers itself), so no error code is written twice: an operation
lists the classes it may raise, and the document's `ErrorCode` enum is every code its operations
name.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException

from pos_loyalty.app import http_error_code
from pos_loyalty.errors import LoyaltyError

Schema = dict[str, Any]
ErrorClass = type[LoyaltyError] | type[HTTPException]

# 3.1: a value that may be null says so with JSON Schema's own "null" type, which every tool
# we checked (openapi-core, openapi-python-client, schemathesis) reads; 3.0's `nullable` next to
# a $ref allows no null at all.
OPENAPI_VERSION = "3.1.0"
EXAMPLE_CARD = "2904815162343"  # a card number of the default program (prefix 29)

# accounts.normalize_number drops white space and dashes anywhere, then wants 13 digits (EAN-13,
# in every program) or, in a Code 128 program, 6 to 32 letters and digits; the check character
# is verified too, which no pattern can say. What a till scans off the phone is the number as
# issued, a dash and the 6-digit live code (accounts.read_card_entry).
CARD_NUMBER_PATTERN = (r"^[\s-]*(?:[0-9A-Za-z][\s-]*){6,32}$"
                       r"|^\s*[0-9A-Za-z]{6,32}-[0-9]{6}\s*$")
# accounts.parse_phone reads E.164 or a national number of the program's country (libphonenumber
# also reads other shapes; these are the ones we promise).
PHONE_PATTERN = r"^\+?[\s().-]*(?:[0-9][\s().-]*){4,20}$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """The schema, or null."""
    if "type" not in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def card_number(**extra: Any) -> Schema:
    return {"type": "string", "pattern": CARD_NUMBER_PATTERN, "example": EXAMPLE_CARD,
            "description": "The number on the card: 13 digits (EAN-13) or, in a program with "
                           "Code 128 cards, 6 to 32 letters and digits; spaces and dashes are "
                           "ignored. A wrong check character is 422 invalid_card_number. What "
                           "the till scanned off the phone app, <card number>-<6-digit live "
                           "code>, is sent as it was read.",
            **extra}


def phone(**extra: Any) -> Schema:
    return {"type": "string", "pattern": PHONE_PATTERN, "example": "+33612345678",
            "description": "E.164 (+33612345678) or a national number of the program's country "
                           "(06 12 34 56 78); spaces, dots, dashes and brackets are allowed. A "
                           "number that does not exist is 422 validation_error.", **extra}


# --- errors ---------------------------------------------------------------------------------

def error_code(error: ErrorClass) -> str:
    return http_error_code(error) if issubclass(error, HTTPException) else error.code


def _status(error: ErrorClass) -> int:
    return int(error.code or 500) if issubclass(error, HTTPException) else error.status


def _message(error: ErrorClass) -> str:
    return str(error.description) if issubclass(error, HTTPException) else error.message


def error_responses(errors: Iterable[ErrorClass]) -> dict[str, Schema]:
    """The error answers of an operation, one per status, each naming the codes it may carry."""
    by_status: dict[int, dict[str, ErrorClass]] = {}
    for error in errors:
        by_status.setdefault(_status(error), {}).setdefault(error_code(error), error)
    return {str(status): _error_response(listed)
            for status, listed in sorted(by_status.items())}


def _error_response(errors: dict[str, ErrorClass]) -> Schema:
    schema = {"allOf": [ref("Error")],
              "properties": {"error": {"properties": {"code": {"enum": list(errors)}}}}}
    response = {"description": " ".join(f"`{code}`: {_message(error)}"
                                        for code, error in errors.items()),
                "content": json_content(schema)}
    if any(_status(error) == 429 for error in errors.values()):
        response["headers"] = {"Retry-After": {
            "description": "Seconds to wait before a retry can succeed (sent with "
                           "too_many_requests and too_many_tries).",
            "schema": {"type": "integer", "minimum": 1}}}
    return response


def error_codes(paths: Schema) -> list[str]:
    """Every code the operations of `paths` name in their error answers, sorted."""
    return sorted({code for item in paths.values() for operation in item.values()
                   for response in operation["responses"].values()
                   for code in _codes_named(response)})


def _codes_named(response: Schema) -> list[str]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("allOf") != [ref("Error")]:
        return []
    return schema["properties"]["error"]["properties"]["code"]["enum"]


def error_schemas(paths: Schema) -> dict[str, Schema]:
    """The error body: {"error": {"code", "message", "details"?}}."""
    return {
        "ErrorCode": {"type": "string", "enum": error_codes(paths),
                      "description": "Stable and machine-readable; each operation's error "
                                     "answers name the codes they may carry."},
        "Problem": {"type": "object", "required": ["code", "message"], "properties": {
            "code": ref("ErrorCode"),
            "message": {"type": "string", "description": "For people; may change."},
            "details": {"type": "object", "description": "Facts about this error, e.g. the "
                                                         "field or the attempts left."}}},
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": ref("Problem")}},
    }
