"""The OpenAPI 3 document of the mobile API, served at /api/mobile/v1/openapi.json."""
from __future__ import annotations

from typing import Any

APP_KEY = [{"appKey": []}]
APP_KEY_AND_TOKEN = [{"appKey": [], "bearer": []}]
ERROR_STATUSES = {
    "400": "The body is not a JSON object, or no valid code is waiting.",
    "401": "Missing or wrong app key, token, PIN or code.",
    "404": "Not found.",
    "409": "Conflict (e.g. a card of another customer).",
    "415": "The body is not application/json.",
    "422": "A field is missing or invalid; details.field names it.",
    "423": "Too many wrong PINs: the account is locked for a while.",
    "429": "Too many requests, codes or code attempts.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DATE_TIME = {"type": "string", "format": "date-time"}
PHONE = {"type": "string", "description": "E.164 (+33612345678) or national in the program's "
                                          "country", "example": "+33612345678"}
PIN = {"type": "string", "pattern": "^[0-9]{4,8}$", "example": "1234"}
CODE = {"type": "string", "pattern": "^[0-9]{6}$", "example": "123456"}

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": _object({"code": STRING, "message": STRING,
                                        "details": {"type": "object"}}, ["code", "message"])}),
    "CodeSent": _object({"status": {"type": "string", "enum": ["code_sent"]}}),
    "Tokens": _object({"access_token": STRING, "refresh_token": STRING,
                       "token_type": {"type": "string", "enum": ["Bearer"]},
                       "expires_in": INTEGER}),
    "Profile": _object({
        "id": INTEGER, "program": STRING, "phone": _nullable(STRING), "first_name": STRING,
        "birthday": _nullable({"type": "string", "format": "date"}),
        "email": _nullable(STRING), "language": _nullable(STRING),
        "sms_notifications": {"type": "boolean"},
        "status": {"type": "string", "enum": ["active", "blocked", "closed"]},
        "created_at": DATE_TIME}),
    "ProfileUpdate": {"type": "object", "additionalProperties": False, "properties": {
        "first_name": {"type": "string", "maxLength": 100},
        "birthday": _nullable({"type": "string", "format": "date"}),
        "email": _nullable({"type": "string", "format": "email", "maxLength": 254}),
        "language": _nullable({"type": "string", "pattern": "^[a-z]{2}(_[A-Z]{2})?$"}),
        "sms_notifications": {"type": "boolean"}}},
    "Card": _object({"card_number": STRING, "symbology": {"type": "string",
                                                          "enum": ["ean13", "code128"]},
                     "status": STRING, "barcode_svg_url": STRING, "barcode_png_url": STRING,
                     "qr_svg_url": STRING, "qr_png_url": STRING}),
    "LinkedCard": _object({"card_number": STRING, "symbology": STRING, "status": STRING,
                           "kind": {"type": "string", "enum": ["plastic", "virtual"]}}),
    "Balance": _object({
        "available_points": INTEGER, "pending_points": INTEGER,
        "value_minor": {"type": "integer", "description": "What the available points pay, "
                                                         "in minor units of the currency"},
        "currency": STRING, "lifetime_earned": INTEGER,
        "next_expiry": _nullable(_object({"date": {"type": "string", "format": "date"},
                                          "points": INTEGER}))}),
    "HistoryEntry": _object({
        "id": INTEGER, "created_at": DATE_TIME,
        "kind": {"type": "string", "description": "earn, redeem, bonus, adjust, expire, "
                                                 "release, return_reverse, ..."},
        "points": {"type": "integer", "description": "Change of available points"},
        "pending_points": {"type": "integer", "description": "Change of pending points"},
        "balance_after": INTEGER, "pending_after": INTEGER, "store_name": _nullable(STRING)}),
    "HistoryPage": _object({"entries": {"type": "array", "items": _ref("HistoryEntry")},
                            "next_cursor": _nullable(STRING)}),
    "Branding": _object({
        "program": _object({"slug": STRING, "name": STRING}), "app_name": STRING,
        "colors": _object({"primary": STRING, "secondary": STRING}), "logo_url": STRING,
        "currency": STRING, "currency_exponent": INTEGER, "locale": STRING, "timezone": STRING,
        "point_value": _object({"points": STRING, "value_minor": INTEGER}),
        "rules": _object({"earn_points_per_unit": STRING, "redeem_points_per_unit": STRING,
                          "min_cash_minor": INTEGER, "max_redeem_share": STRING,
                          "pending_days": INTEGER, "expiry_months": INTEGER,
                          "excluded_categories": {"type": "array", "items": STRING}})}),
    "Store": _object({"id": INTEGER, "name": STRING, "address": STRING, "phone": STRING,
                      "opening_hours": STRING, "latitude": _nullable({"type": "number"}),
                      "longitude": _nullable({"type": "number"}),
                      "distance_m": _nullable(INTEGER)}),
    "Promotion": _object({"id": INTEGER, "title": STRING, "body": STRING, "image_url": STRING,
                          "starts_at": DATE_TIME, "ends_at": DATE_TIME}),
    "Export": _object({"exported_at": DATE_TIME, "profile": _ref("Profile"),
                       "balance": _ref("Balance"),
                       "cards": {"type": "array", "items": {"type": "object"}},
                       "history": {"type": "array", "items": _ref("HistoryEntry")},
                       "sessions": {"type": "array", "items": {"type": "object"}},
                       "sms": {"type": "array", "items": {"type": "object"}}}),
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, security: list[dict[str, list[str]]], ok: dict[str, Any],
               errors: str, body: dict[str, Any] | None = None,
               parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One operation; `errors` lists its error statuses, e.g. "401 422"."""
    responses = dict(ok)
    for status in errors.split():
        responses[status] = _json(_ref("Error"), ERROR_STATUSES[status])
    operation: dict[str, Any] = {"summary": summary, "security": security,
                                 "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _image(mimetype: str) -> dict[str, Any]:
    return {"200": {"description": "The image of the customer's card",
                    "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}}}


AUTH_ERRORS = "400 401 415 422 429"
TOKENS = {"200": _json(_ref("Tokens"), "Logged in")}
NO_CONTENT = {"204": {"description": "Done"}}


def _paths() -> dict[str, Any]:
    card_image = "401 404"
    return {
        "/branding": {"get": _operation(
            "App name, colours, logo, currency and the rules the app explains", APP_KEY,
            {"200": _json(_ref("Branding"), "Branding")}, "401")},
        "/promotions": {"get": _operation(
            "Promotions running now", APP_KEY,
            {"200": _json(_object({"promotions": {"type": "array", "items": _ref("Promotion")}}),
                          "Current promotions")}, "401")},
        "/stores": {"get": _operation(
            "Stores, nearest first when lat and lng are given", APP_KEY,
            {"200": _json(_object({"stores": {"type": "array", "items": _ref("Store")}}),
                          "Stores")}, "401 422",
            parameters=[_query("lat", {"type": "number", "minimum": -90, "maximum": 90},
                               "Latitude"),
                        _query("lng", {"type": "number", "minimum": -180, "maximum": 180},
                               "Longitude")])},
        "/auth/register": {"post": _operation(
            "Send a 6-digit code by SMS to the phone (the answer is the same for every phone)",
            APP_KEY, {"202": _json(_ref("CodeSent"), "Code sent")}, AUTH_ERRORS,
            body=_object({"phone": PHONE}))},
        "/auth/verify": {"post": _operation(
            "Check the code and choose a PIN: enrols the phone (with a virtual card) or attaches "
            "to the account a till made", APP_KEY,
            {"201": _json(_ref("Tokens"), "Registered and logged in")}, AUTH_ERRORS,
            body=_object({"phone": PHONE, "code": CODE, "pin": PIN}))},
        "/auth/login": {"post": _operation(
            "Log in with phone and PIN (5 wrong PINs in a row lock the account, till included)",
            APP_KEY, TOKENS, AUTH_ERRORS + " 423", body=_object({"phone": PHONE, "pin": PIN}))},
        "/auth/refresh": {"post": _operation(
            "A new token pair; the refresh token is used up, and using it again ends the session",
            APP_KEY, TOKENS, AUTH_ERRORS, body=_object({"refresh_token": STRING}))},
        "/auth/logout": {"post": _operation("End this session", APP_KEY_AND_TOKEN, NO_CONTENT,
                                            "401")},
        "/auth/pin/reset": {"post": _operation(
            "Forgotten PIN: send {phone} to get a code by SMS (202), then {phone, code, pin} to "
            "set the PIN (200, every other session ends)", APP_KEY,
            {"202": _json(_ref("CodeSent"), "Code sent if the phone is enrolled"), **TOKENS},
            AUTH_ERRORS + " 404",
            body=_object({"phone": PHONE, "code": CODE, "pin": PIN}, ["phone"]))},
        "/me": {
            "get": _operation("The customer's profile", APP_KEY_AND_TOKEN,
                              {"200": _json(_ref("Profile"), "Profile")}, "401"),
            "patch": _operation("Change profile fields (null clears birthday, email, language)",
                                APP_KEY_AND_TOKEN, {"200": _json(_ref("Profile"), "Profile")},
                                "400 401 415 422", body=_ref("ProfileUpdate")),
            "delete": _operation(
                "Erase the customer's personal data and close the account and its cards (the "
                "points ledger is kept, anonymous, for accounting)", APP_KEY_AND_TOKEN,
                NO_CONTENT, "401"),
        },
        "/me/export": {"get": _operation("All personal data kept about the customer",
                                         APP_KEY_AND_TOKEN,
                                         {"200": _json(_ref("Export"), "Export")}, "401")},
        "/me/pin": {"put": _operation(
            "Change the PIN; every other session ends", APP_KEY_AND_TOKEN, NO_CONTENT,
            "400 401 415 422 423", body=_object({"old_pin": PIN, "new_pin": PIN}))},
        "/me/card": {"get": _operation("The card to show at the till, with its image URLs",
                                       APP_KEY_AND_TOKEN, {"200": _json(_ref("Card"), "Card")},
                                       "401 404")},
        "/me/card/barcode.svg": {"get": _operation("Barcode (SVG)", APP_KEY_AND_TOKEN,
                                                   _image("image/svg+xml"), card_image)},
        "/me/card/barcode.png": {"get": _operation("Barcode (PNG, 300 dpi)", APP_KEY_AND_TOKEN,
                                                   _image("image/png"), card_image)},
        "/me/card/qr.svg": {"get": _operation("QR code (SVG)", APP_KEY_AND_TOKEN,
                                              _image("image/svg+xml"), card_image)},
        "/me/card/qr.png": {"get": _operation("QR code (PNG)", APP_KEY_AND_TOKEN,
                                              _image("image/png"), card_image)},
        "/me/cards": {"post": _operation(
            "Link a blank plastic card to the account (201; 200 when already linked to it)",
            APP_KEY_AND_TOKEN, {"201": _json(_ref("LinkedCard"), "Linked"),
                                "200": _json(_ref("LinkedCard"), "Already linked to you")},
            "400 401 404 409 415 422", body=_object({"card_number": STRING}))},
        "/me/balance": {"get": _operation("Points available and pending, their value, the next "
                                          "expiry", APP_KEY_AND_TOKEN,
                                          {"200": _json(_ref("Balance"), "Balance")}, "401")},
        "/me/history": {"get": _operation(
            "Ledger entries, newest first; pass next_cursor back as cursor for the next page",
            APP_KEY_AND_TOKEN, {"200": _json(_ref("HistoryPage"), "A page of history")},
            "401 422",
            parameters=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                               "Entries per page (default 20)"),
                        _query("cursor", {"type": "string", "pattern": "^[0-9]+$"},
                               "next_cursor of the previous page")])},
    }


def mobile_document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "pos-loyalty mobile API", "version": "1",
                 "description": "The JSON API behind a brand's phone app. Errors are "
                                "{\"error\": {\"code\", \"message\", \"details\"}}."},
        "servers": [{"url": "/api/mobile/v1"}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "appKey": {"type": "apiKey", "in": "header", "name": "X-App-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": SCHEMAS,
        },
    }
