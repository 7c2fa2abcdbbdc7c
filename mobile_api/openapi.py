"""The OpenAPI 3.1 document of the mobile API, served at /api/mobile/v1/openapi.json.

Each operation has a stable operationId (the name generated clients give it) and lists the
errors it can answer as error classes; tests/integration/test_mobile_openapi.py fuzzes the API
against it and checks real flows with openapi-core.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug import exceptions as http

from pos_loyalty import errors as e
from pos_loyalty.models.account import NOTIFY_CHANNELS
from pos_loyalty.models.devices import PLATFORMS, WALLETS
from pos_loyalty.openapi_schemas import (
    OPENAPI_VERSION, ErrorClass, Schema, card_number, error_responses, error_schemas,
    json_content, nullable, phone, ref,
)

Errors = Iterable[ErrorClass]

APP_KEY = [{"appKey": []}]
APP_KEY_AND_TOKEN = [{"appKey": [], "bearer": []}]
CARD_STATUSES = ["blank", "active", "blocked", "lost", "replaced", "closed"]
REFRESH_TOKEN_MAX_LENGTH = 200  # views.refresh: a longer one is not ours (401 invalid_token)
NOTIFY_CHANNEL = {"type": "string", "enum": list(NOTIFY_CHANNELS),
                  "description": "How the customer hears about their points: auto (push when "
                                 "a phone of theirs takes pushes, else SMS), push, sms, both, "
                                 "none."}


def _object(properties: Schema, required: list[str] | None = None) -> Schema:
    """An object whose fields are all required unless `required` says which are."""
    schema: Schema = {"type": "object", "properties": properties}
    required = list(properties) if required is None else required
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
PHONE = phone()
PIN = {"type": "string", "pattern": "^[0-9]{4,8}$", "example": "1234",
       "description": "4 to 8 digits."}
CODE = {"type": "string", "pattern": "^[0-9]{6}$", "example": "123456",
        "description": "The 6 digits sent by SMS."}
REFERRAL_CODE = {"type": ["string", "null"], "maxLength": 32, "example": "K7MPX2QD",
                 "description": "Optional: the referral code a customer gave the newcomer (8 "
                                "letters and digits; case, spaces and dashes do not matter). "
                                "A code that cannot be taken refuses the whole registration "
                                "(422 referral_code_unknown, referral_self, "
                                "referral_not_newcomer): send it again without the code."}

# --- tiers and campaigns ----------------------------------------------------------------------

LOCAL_TIME = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$",
              "example": "2026-03-14T00:00",
              "description": "In the program's time zone (branding.timezone), no offset."}
TIER_MEASURES = ["points", "money"]
OFFER_SCHEMAS: dict[str, Schema] = {
    "Tier": _object({
        "key": STRING, "name": {**STRING, "description": "In the customer's language, else "
                                                       "the program's."},
        "threshold": {**INTEGER, "description": "The measure that reaches it: points, or "
                                                "minor units of money paid (Ladder.measure)."},
        "multiplier": {**STRING, "example": "1.5",
                       "description": "A decimal: the sale's base points times this."},
        "perks": {**STRING, "description": "What else it gives, in words; may be empty."}}),
    "Ladder": _object({
        "measure": {"type": "string", "enum": TIER_MEASURES},
        "period_months": {**INTEGER, "description": "The rolling qualification window in "
                                                    "months; 0 means the calendar year."},
        "tiers": {"type": "array", "items": ref("Tier"),
                  "description": "Lowest first; empty when the program has no tiers."}}),
    "TierProgress": _object({
        "tier": {**nullable(ref("Tier")), "description": "null below the first tier."},
        "measure": {**INTEGER, "description": "What counts so far in the qualification "
                                              "window (points, or minor units of money)."},
        "measure_kind": {"type": "string", "enum": TIER_MEASURES},
        "next_tier": {**nullable(ref("Tier")), "description": "null at the top."},
        "to_next": {**nullable(INTEGER), "description": "What the next tier still needs, in "
                                                       "measure_kind units; null at the top."},
        "requalify_on": {**nullable(DATE), "description": "The day the tier is judged again "
                                                         "(kept, or lowered if the measure "
                                                         "falls short); null without a tier."}}),
    "Campaign": _object({
        "id": INTEGER, "name": STRING,
        "label": {**STRING, "description": "What to call it, in the customer's language (the "
                                           "program's on public answers), else its name."},
        "status": {"type": "string", "enum": ["scheduled", "running", "spent", "ended"]},
        "starts_at": LOCAL_TIME,
        "ends_at": {**LOCAL_TIME, "description": "Excluded, in the program's time zone: a "
                                                 "campaign through 31 March ends "
                                                 "2026-04-01T00:00."},
        "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7},
                     "description": "ISO weekdays, 1 = Monday; empty: every day."},
        "hours": {**nullable(STRING), "example": "18:00-20:00",
                  "description": "Local hours within those days; null: all day."},
        "store_ids": {"type": "array", "items": INTEGER,
                      "description": "The stores where it applies; empty: every store."},
        "categories": {"type": "array", "items": STRING,
                       "description": "The product categories it rewards; empty with no skus: "
                                      "the whole basket."},
        "skus": {"type": "array", "items": STRING},
        "tiers": {"type": "array", "items": STRING,
                  "description": "Tier keys it is for; empty: every customer."},
        "min_basket_minor": INTEGER, "first_purchase_only": {"type": "boolean"},
        "effect": {"type": "string", "enum": ["multiplier", "fixed"]},
        "multiplier": {**nullable(STRING), "description": "For effect multiplier: the base "
                                                          "points times this (\"2\" = double)."},
        "bonus_points": {**INTEGER, "description": "For effect fixed: points per receipt."},
        "per_customer_limit": {**INTEGER, "description": "Times one customer may get it; 0: "
                                                         "no limit."},
        "budget_points": {**INTEGER, "description": "Points it may give in all; 0: no budget."},
        "points_given": INTEGER}),
}

SCHEMAS: dict[str, Schema] = {
    "RegistrationRequest": _object({"phone": PHONE}),
    "VerificationRequest": _object({"phone": PHONE, "code": CODE, "pin": PIN,
                                    "referral_code": REFERRAL_CODE},
                                   ["phone", "code", "pin"]),
    "LoginRequest": _object({"phone": PHONE, "pin": PIN}),
    "RefreshRequest": _object({"refresh_token": {
        "type": "string", "minLength": 1, "maxLength": REFRESH_TOKEN_MAX_LENGTH}}),
    "PinResetRequest": {**_object({"phone": PHONE, "code": CODE, "pin": PIN}, ["phone"]),
                        "description": "{phone} asks for a code; {phone, code, pin} sets the "
                                       "PIN."},
    "PinChange": _object({"old_pin": PIN, "new_pin": PIN}),
    "CardLink": _object({"card_number": card_number()}),
    "CodeSent": _object({"status": {"type": "string", "enum": ["code_sent"]}}),
    "Tokens": _object({"access_token": STRING, "refresh_token": STRING,
                       "token_type": {"type": "string", "enum": ["Bearer"]},
                       "expires_in": INTEGER}),
    "Profile": _object({
        "id": INTEGER, "program": STRING, "phone": nullable(STRING), "first_name": STRING,
        "birthday": nullable(DATE), "email": nullable(STRING), "language": nullable(STRING),
        "sms_notifications": {"type": "boolean"},
        "notify_channel": NOTIFY_CHANNEL, "push_devices": INTEGER,
        "status": {"type": "string", "enum": ["active", "blocked", "closed"]},
        "created_at": DATE_TIME}),
    "ProfileUpdate": {"type": "object", "additionalProperties": False, "properties": {
        "first_name": {"type": "string", "maxLength": 100},
        "birthday": nullable(DATE),
        "email": nullable({"type": "string", "format": "email", "maxLength": 254}),
        "language": nullable({"type": "string", "pattern": "^[a-z]{2}(_[A-Z]{2})?$"}),
        "sms_notifications": {"type": "boolean"},
        "notify_channel": NOTIFY_CHANNEL}},
    "DeviceRegistration": {"type": "object", "additionalProperties": False,
                           "required": ["platform", "token"], "properties": {
                               "platform": {"type": "string", "enum": list(PLATFORMS)},
                               "token": {"type": "string", "minLength": 1, "maxLength": 512,
                                         "description": "The FCM registration token "
                                                        "(android) or the APNs device token "
                                                        "in hex (ios)."},
                               "app_version": nullable({"type": "string", "maxLength": 40})}},
    "Device": _object({"id": INTEGER, "platform": {"type": "string", "enum": list(PLATFORMS)},
                       "app_version": nullable(STRING), "created_at": DATE_TIME,
                       "last_seen_at": DATE_TIME}),
    "WalletLink": _object({"url": STRING, "expires_at": DATE_TIME}),
    "Card": _object({
        "card_number": STRING,
        "symbology": {"type": "string", "enum": ["ean13", "code128"],
                      "description": "The symbology of the card number as printed on plastic "
                                     "cards; the phone's own barcode is always Code 128."},
        "status": {"type": "string", "enum": CARD_STATUSES},
        "live_code": {"type": "string", "pattern": "^[0-9]{6}$",
                      "description": "Changes every 30 seconds; the till needs it to spend "
                                     "points, so a screenshot of the card stops working."},
        "scan_value": {"type": "string", "example": "2904815162343-123456",
                       "description": "What the till scans: <card_number>-<live_code>. The "
                                      "images carry it (Code 128 barcode, QR code); an app "
                                      "drawing its own barcode draws this, as Code 128 or QR."},
        "live_code_expires_at": {**DATE_TIME, "description": "When the next code replaces "
                                                             "this one: fetch the card (and "
                                                             "its images) again then."},
        "refresh_in_seconds": {"type": "integer", "minimum": 1,
                               "description": "Seconds until live_code_expires_at."},
        "barcode_svg_url": STRING, "barcode_png_url": STRING,
        "qr_svg_url": STRING, "qr_png_url": STRING}),
    "LinkedCard": _object({"card_number": STRING,
                           "symbology": {"type": "string", "enum": ["ean13", "code128"]},
                           "status": {"type": "string", "enum": CARD_STATUSES},
                           "kind": {"type": "string", "enum": ["plastic", "virtual"]}}),
    "Expiry": _object({"date": DATE, "points": INTEGER}),
    "Balance": _object({
        "available_points": INTEGER, "pending_points": INTEGER,
        "value_minor": {"type": "integer", "description": "What the available points pay, "
                                                         "in minor units of the currency"},
        "currency": STRING, "lifetime_earned": INTEGER,
        "next_expiry": {**nullable(ref("Expiry")),
                        "description": "The first day some points expire, or null"}}),
    "HistoryEntry": _object({
        "id": INTEGER, "created_at": DATE_TIME,
        "kind": {"type": "string", "description": "earn, redeem, bonus, adjust, expire, "
                                                 "release, return_reverse, campaign, signup, "
                                                 "birthday, referral, ..."},
        "label": {"type": "string", "description": "What to show for the entry, in the "
                                                  "customer's language: \"Achat\", "
                                                  "\"Bonus d'anniversaire\", a campaign's "
                                                  "label"},
        "points": {"type": "integer", "description": "Change of available points"},
        "pending_points": {"type": "integer", "description": "Change of pending points"},
        "balance_after": INTEGER, "pending_after": INTEGER, "store_name": nullable(STRING)}),
    "Referral": _object({
        "code": {"type": "string", "pattern": "^[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{8}$",
                 "example": "K7MPX2QD",
                 "description": "The customer's referral code, the same every time"},
        "share_text": {"type": "string", "description": "An invitation to send friends, in "
                                                        "the customer's language"},
        "referrer_points": {"type": "integer", "description": "Points the customer gets per "
                                                              "friend's first purchase"},
        "newcomer_points": {"type": "integer", "description": "Points the friend gets"},
        "min_basket_minor": {"type": "integer", "description": "The least first purchase "
                                                               "that counts, minor units"},
        "currency": STRING,
        "rewarded_this_month": {"type": "integer", "description": "Referrals rewarded this "
                                                                  "calendar month"},
        "max_per_month": {"type": "integer", "description": "Rewarded referrals a month at "
                                                            "most (0: no limit)"}}),
    "HistoryPage": _object({"entries": {"type": "array", "items": ref("HistoryEntry")},
                            "next_cursor": nullable(STRING)}),
    "Branding": _object({
        "program": _object({"slug": STRING, "name": STRING}), "app_name": STRING,
        "colors": _object({"primary": STRING, "secondary": STRING}), "logo_url": STRING,
        "currency": STRING, "currency_exponent": INTEGER, "locale": STRING, "timezone": STRING,
        "point_value": _object({"points": STRING, "value_minor": INTEGER}),
        "rules": _object({"earn_points_per_unit": STRING, "redeem_points_per_unit": STRING,
                          "min_cash_minor": INTEGER, "max_redeem_share": STRING,
                          "pending_days": INTEGER, "expiry_months": INTEGER,
                          "excluded_categories": {"type": "array", "items": STRING}}),
        "tiers": ref("Ladder")}),
    "Store": _object({"id": INTEGER, "name": STRING, "address": STRING, "phone": STRING,
                      "opening_hours": STRING, "latitude": nullable({"type": "number"}),
                      "longitude": nullable({"type": "number"}),
                      "distance_m": nullable(INTEGER)}),
    "Promotion": _object({"id": INTEGER, "title": STRING, "body": STRING, "image_url": STRING,
                          "starts_at": DATE_TIME, "ends_at": DATE_TIME,
                          "campaign": {**nullable(ref("Campaign")),
                                       "description": "The campaign the promotion announces, "
                                                      "with its real terms; null if none."}}),
    **OFFER_SCHEMAS,
    "ExportedCard": _object({"card_number": STRING, "kind": STRING,
                             "status": {"type": "string", "enum": CARD_STATUSES},
                             "linked_at": nullable(DATE_TIME)}),
    "ExportedSession": _object({"created_at": DATE_TIME, "revoked_at": nullable(DATE_TIME)}),
    "ExportedSms": _object({"kind": STRING, "to_phone": STRING, "body": STRING,
                            "status": STRING, "created_at": DATE_TIME}),
    "ExportedPush": _object({"kind": STRING, "body": STRING, "status": STRING,
                             "created_at": DATE_TIME}),
    "ExportedWalletPass": _object({"wallet": {"type": "string", "enum": list(WALLETS)},
                                   "created_at": DATE_TIME}),
    "Export": _object({"exported_at": DATE_TIME, "profile": ref("Profile"),
                       "balance": ref("Balance"),
                       "cards": {"type": "array", "items": ref("ExportedCard")},
                       "history": {"type": "array", "items": ref("HistoryEntry")},
                       "sessions": {"type": "array", "items": ref("ExportedSession")},
                       "sms": {"type": "array", "items": ref("ExportedSms")},
                       "pushes": {"type": "array", "items": ref("ExportedPush")},
                       "devices": {"type": "array", "items": ref("Device")},
                       "wallet_passes": {"type": "array",
                                         "items": ref("ExportedWalletPass")}}),
}


# --- operations -----------------------------------------------------------------------------

APP_ERRORS: Errors = [e.InvalidAppKey]
CUSTOMER_ERRORS: Errors = [e.InvalidAppKey, e.InvalidToken]
# Any JSON body: not JSON, too large (the app's MAX_CONTENT_LENGTH), not an object.
BODY_ERRORS: Errors = [e.MalformedRequest, http.RequestEntityTooLarge, e.UnsupportedMediaType]
# The /auth endpoints have per-IP rate limits (Flask-Limiter's 429).
AUTH_ERRORS: Errors = [*APP_ERRORS, *BODY_ERRORS, http.TooManyRequests]
CODE_ERRORS: Errors = [e.CodeExpired, e.InvalidCode, e.TooManyAttempts]
CARD_IMAGE_ERRORS: Errors = [*CUSTOMER_ERRORS, e.CardNotFound]
REFERRAL_ERRORS: Errors = [e.ReferralCodeUnknown, e.ReferralSelf, e.ReferralNotNewcomer]


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": json_content(schema)}


def _operation(operation_id: str, summary: str, security: list[dict[str, list[str]]],
               ok: dict[str, Schema], errors: Errors, body: str | None = None,
               parameters: list[Schema] | None = None) -> Schema:
    operation: Schema = {"operationId": operation_id, "summary": summary, "security": security,
                         "responses": {**ok, **error_responses([*errors, e.DatabaseUnavailable])}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": json_content(ref(body))}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _image(operation_id: str, summary: str, mimetype: str) -> Schema:
    ok = {"200": {"description": "The image of the customer's card: scan_value (the card "
                                 "number and the live code of this moment)",
                  "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}}}}
    return {"get": _operation(operation_id, summary, APP_KEY_AND_TOKEN, ok, CARD_IMAGE_ERRORS)}


TOKENS = {"200": _json(ref("Tokens"), "Logged in")}
NO_CONTENT = {"204": {"description": "Done"}}


def _paths() -> Schema:
    return {
        "/openapi.json": {"get": _operation(
            "openapi_document", "This document", [],
            {"200": _json({"type": "object"}, "OpenAPI 3.1 document")}, [])},
        "/branding": {"get": _operation(
            "get_branding", "App name, colours, logo, currency and the rules the app explains",
            APP_KEY, {"200": _json(ref("Branding"), "Branding")}, APP_ERRORS)},
        "/promotions": {"get": _operation(
            "list_promotions", "Promotions running now", APP_KEY,
            {"200": _json(_object({"promotions": {"type": "array", "items": ref("Promotion")}}),
                          "Current promotions")}, APP_ERRORS)},
        "/campaigns": {"get": _operation(
            "list_campaigns", "The campaigns running now that this customer can get (their "
            "tier, first purchase, uses left), at any store (store_ids says where)",
            APP_KEY_AND_TOKEN,
            {"200": _json(_object({"campaigns": {"type": "array", "items": ref("Campaign")}}),
                          "Campaigns for this customer now")}, CUSTOMER_ERRORS)},
        "/stores": {"get": _operation(
            "list_stores", "Stores, nearest first when lat and lng are given", APP_KEY,
            {"200": _json(_object({"stores": {"type": "array", "items": ref("Store")}}),
                          "Stores")}, [*APP_ERRORS, e.ValidationFailed],
            parameters=[_query("lat", {"type": "number", "minimum": -90, "maximum": 90},
                               "Latitude"),
                        _query("lng", {"type": "number", "minimum": -180, "maximum": 180},
                               "Longitude")])},
        "/auth/register": {"post": _operation(
            "request_registration_code",
            "Send a 6-digit code by SMS to the phone (the answer is the same for every phone)",
            APP_KEY, {"202": _json(ref("CodeSent"), "Code sent")},
            [*AUTH_ERRORS, e.ValidationFailed, e.PhoneCountryNotAllowed, e.TooManyCodes],
            body="RegistrationRequest")},
        "/auth/verify": {"post": _operation(
            "complete_registration",
            "Check the code and choose a PIN: enrols the phone (with a virtual card) or attaches "
            "to the account a till made", APP_KEY,
            {"201": _json(ref("Tokens"), "Registered and logged in")},
            [*AUTH_ERRORS, e.ValidationFailed, e.PhoneCountryNotAllowed, *CODE_ERRORS,
             *REFERRAL_ERRORS], body="VerificationRequest")},
        "/auth/login": {"post": _operation(
            "log_in",
            "Log in with phone and PIN. An unknown phone answers as a wrong PIN; wrong PINs are "
            "throttled per account (the till's count too), per account from this address and "
            "per address (429 too_many_tries, Retry-After)",
            APP_KEY, TOKENS, [*AUTH_ERRORS, e.ValidationFailed, e.InvalidPin, e.TooManyTries,
                              e.ServerBusy],
            body="LoginRequest")},
        "/auth/refresh": {"post": _operation(
            "refresh_tokens",
            "A new token pair; the refresh token is used up, and using it again ends the session",
            APP_KEY, TOKENS, [*AUTH_ERRORS, e.InvalidToken, e.TokenReused],
            body="RefreshRequest")},
        "/auth/logout": {"post": _operation(
            "log_out", "End this session", APP_KEY_AND_TOKEN, NO_CONTENT, CUSTOMER_ERRORS)},
        "/auth/pin/reset": {"post": _operation(
            "reset_pin",
            "Forgotten PIN: send {phone} to get a code by SMS (202), then {phone, code, pin} to "
            "set the PIN (200, every other session ends)", APP_KEY,
            {"202": _json(ref("CodeSent"), "Code sent if the phone is enrolled"), **TOKENS},
            [*AUTH_ERRORS, e.ValidationFailed, e.PhoneCountryNotAllowed, *CODE_ERRORS,
             e.TooManyCodes, e.AccountNotFound], body="PinResetRequest")},
        "/me": {
            "get": _operation("get_profile", "The customer's profile", APP_KEY_AND_TOKEN,
                              {"200": _json(ref("Profile"), "Profile")}, CUSTOMER_ERRORS),
            "patch": _operation(
                "update_profile", "Change profile fields (null clears birthday, email, "
                "language)", APP_KEY_AND_TOKEN, {"200": _json(ref("Profile"), "Profile")},
                [*CUSTOMER_ERRORS, *BODY_ERRORS, e.ValidationFailed], body="ProfileUpdate"),
            "delete": _operation(
                "erase_account",
                "Erase the customer's personal data and close the account and its cards (the "
                "points ledger is kept, anonymous, for accounting)", APP_KEY_AND_TOKEN,
                NO_CONTENT, CUSTOMER_ERRORS),
        },
        "/me/export": {"get": _operation(
            "export_personal_data", "All personal data kept about the customer",
            APP_KEY_AND_TOKEN, {"200": _json(ref("Export"), "Export")}, CUSTOMER_ERRORS)},
        "/me/pin": {"put": _operation(
            "change_pin", "Change the PIN; every other session ends", APP_KEY_AND_TOKEN,
            NO_CONTENT, [*CUSTOMER_ERRORS, *BODY_ERRORS, e.ValidationFailed, e.InvalidPin,
                         e.TooManyTries, e.ServerBusy], body="PinChange")},
        "/me/card": {"get": _operation(
            "get_card", "The card to show at the till, with its live code (a new one every "
            "30 seconds: refresh at live_code_expires_at) and its image URLs",
            APP_KEY_AND_TOKEN, {"200": _json(ref("Card"), "Card")}, CARD_IMAGE_ERRORS)},
        "/me/card/barcode.svg": _image("get_card_barcode_svg", "Code 128 barcode (SVG)",
                                       "image/svg+xml"),
        "/me/card/barcode.png": _image("get_card_barcode_png",
                                       "Code 128 barcode (PNG, 300 dpi)", "image/png"),
        "/me/card/qr.svg": _image("get_card_qr_svg", "QR code (SVG)", "image/svg+xml"),
        "/me/card/qr.png": _image("get_card_qr_png", "QR code (PNG)", "image/png"),
        "/me/cards": {"post": _operation(
            "link_card",
            "Link a blank plastic card to the account (201; 200 when already linked to it). "
            "An unknown number and another customer's card are both 404 card_not_found; an "
            "account holds a limited number of cards (409 card_limit_reached) and may try a "
            "limited number of links per hour (429 too_many_requests, Retry-After)",
            APP_KEY_AND_TOKEN, {"201": _json(ref("LinkedCard"), "Linked"),
                                "200": _json(ref("LinkedCard"), "Already linked to you")},
            [*CUSTOMER_ERRORS, *BODY_ERRORS, e.InvalidCardNumber, e.CardNotFound,
             e.CardLimitReached, e.TooManyRequests], body="CardLink")},
        "/me/balance": {"get": _operation(
            "get_balance", "Points available and pending, their value, the next expiry",
            APP_KEY_AND_TOKEN, {"200": _json(ref("Balance"), "Balance")}, CUSTOMER_ERRORS)},
        "/me/tier": {"get": _operation(
            "get_tier", "The customer's tier, the measure so far, what the next tier needs "
            "and the day the tier is judged again", APP_KEY_AND_TOKEN,
            {"200": _json(ref("TierProgress"), "Where the customer stands")},
            CUSTOMER_ERRORS)},
        "/me/referral": {"get": _operation(
            "get_referral", "The customer's referral code (made the first time it is asked "
            "for), an invitation to share, what each side gets after the friend's first "
            "purchase, and this month's rewarded referrals against the limit",
            APP_KEY_AND_TOKEN, {"200": _json(ref("Referral"), "Referral")}, CUSTOMER_ERRORS)},
        "/me/devices": {"post": _operation(
            "register_device",
            "Register this phone's push token (201; 200 when this token was known: it moves "
            "to this customer and this login). Logging out, or erasing the account, removes "
            "it; so does the push service saying the token is gone",
            APP_KEY_AND_TOKEN, {"201": _json(ref("Device"), "Registered"),
                                "200": _json(ref("Device"), "Already registered")},
            [*CUSTOMER_ERRORS, *BODY_ERRORS, e.ValidationFailed], body="DeviceRegistration"),
            "get": _operation(
                "list_devices", "The customer's phones that take pushes", APP_KEY_AND_TOKEN,
                {"200": _json(_object({"devices": {"type": "array", "items": ref("Device")}}),
                              "Devices")}, CUSTOMER_ERRORS)},
        "/me/devices/{device_id}": {"delete": _operation(
            "remove_device", "Stop pushes to this phone", APP_KEY_AND_TOKEN, NO_CONTENT,
            [*CUSTOMER_ERRORS, e.DeviceNotFound, e.NotFound],
            parameters=[{"name": "device_id", "in": "path", "required": True,
                         "schema": {"type": "integer", "minimum": 1,
                                    "maximum": 2 ** 31 - 1}}])},
        "/me/wallet/apple": {"get": _operation(
            "get_apple_wallet_pass",
            "The card as an Apple Wallet pass (.pkpass): its balance updates by itself",
            APP_KEY_AND_TOKEN,
            {"200": {"description": "The signed pass",
                     "content": {"application/vnd.apple.pkpass": {
                         "schema": {"type": "string", "format": "binary"}}}}},
            [*CUSTOMER_ERRORS, e.WalletNotConfigured, e.CardNotFound])},
        "/me/wallet/google": {"get": _operation(
            "get_google_wallet_link",
            "The \"Save to Google Wallet\" link for the card: its balance updates by itself",
            APP_KEY_AND_TOKEN, {"200": _json(ref("WalletLink"), "The link")},
            [*CUSTOMER_ERRORS, e.WalletNotConfigured, e.CardNotFound])},
        "/me/wallet/link": {"get": _operation(
            "get_wallet_link",
            "A signed link to a page that adds the card to Apple or Google Wallet, valid "
            "[wallet] link_hours (for a message, or another phone)",
            APP_KEY_AND_TOKEN, {"200": _json(ref("WalletLink"), "The link")},
            [*CUSTOMER_ERRORS, e.WalletNotConfigured])},
        "/me/history": {"get": _operation(
            "get_history",
            "Ledger entries, newest first; pass next_cursor back as cursor for the next page",
            APP_KEY_AND_TOKEN, {"200": _json(ref("HistoryPage"), "A page of history")},
            [*CUSTOMER_ERRORS, e.ValidationFailed],
            parameters=[_query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                               "Entries per page (default 20)"),
                        _query("cursor", {"type": "string", "pattern": "^[0-9]+$"},
                               "next_cursor of the previous page")])},
    }


def mobile_document() -> dict[str, Any]:
    paths = _paths()
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "pos-loyalty mobile API", "version": "1",
                 "description": "The JSON API behind a brand's phone app. Errors are "
                                "{\"error\": {\"code\", \"message\", \"details\"?}}; each "
                                "operation names the codes it may answer."},
        "servers": [{"url": "/api/mobile/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "appKey": {"type": "apiKey", "in": "header", "name": "X-App-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {**SCHEMAS, **error_schemas(paths)},
        },
    }
