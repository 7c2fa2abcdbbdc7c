"""The /api/mobile/v1 endpoints: parse the request, call one service, answer JSON.

Every endpoint but /openapi.json needs the program's app key (X-App-Key); /me and logout also
need an access token (Authorization: Bearer). Everything is scoped to the app key's program and
the token's account, so no request can reach another customer's or another brand's data.
"""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from pos_loyalty import cards
from pos_loyalty.clock import now
from pos_loyalty.errors import InvalidAppKey, InvalidToken, ValidationFailed
from pos_loyalty.notify.texts import language_of
from pos_loyalty.payloads import json_body
from pos_loyalty.rate_limits import limiter
from pos_loyalty.usecases import offers, phone_app, wallets

from mobile_api.limits import auth_limit, code_limit
from mobile_api.openapi import mobile_document
from mobile_api.wallet_views import pkpass_response

bp = Blueprint("mobile_api", __name__, url_prefix="/api/mobile/v1")

NO_APP_KEY = {"mobile_api.openapi_document"}
NO_TOKEN = NO_APP_KEY | {"mobile_api.branding", "mobile_api.promotions", "mobile_api.stores",
                         "mobile_api.register", "mobile_api.verify", "mobile_api.login",
                         "mobile_api.refresh", "mobile_api.reset_pin"}


@bp.before_request
def identify_app_and_customer() -> None:
    if request.endpoint in NO_APP_KEY:
        return
    program = phone_app.program_of_app_key(request.headers.get("X-App-Key", "").strip())
    if program is None:
        raise InvalidAppKey()
    g.program = program
    if request.endpoint in NO_TOKEN:
        return
    g.caller = phone_app.caller_of(g.program, request.headers.get("Authorization", ""), now())


@bp.after_request
def never_cache(response: Response) -> Response:
    """Tokens and personal data must not stay in a shared cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- public ----------------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(mobile_document())


@bp.get("/branding")
def branding() -> Response:
    return jsonify(phone_app.branding(g.program))


@bp.get("/promotions")
def promotions() -> Response:
    return jsonify({"promotions": phone_app.promotions(g.program, now())})


@bp.get("/campaigns")
def campaigns() -> Response:
    """The campaigns running now that this customer can get (their tier, first purchase,
    uses left), at any store: each names its stores."""
    return jsonify({"campaigns": offers.campaigns_for_customer(g.program, g.caller, now(),
                                                               _language())})


def _language() -> str:
    """The customer's language, else the program's."""
    return language_of(g.program, g.caller.account)


@bp.get("/stores")
def stores() -> Response:
    lat = _coordinate("lat", 90)
    lng = _coordinate("lng", 180)
    if (lat is None) != (lng is None):
        raise ValidationFailed("Send both lat and lng, or neither.", field="lat")
    return jsonify({"stores": phone_app.stores(g.program, lat, lng)})


def _coordinate(name: str, bound: float) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise ValidationFailed(f"{name} must be a number between {-bound} and {bound}.",
                               field=name)
    return value


# --- auth ------------------------------------------------------------------------------------

@bp.post("/auth/register")
@limiter.shared_limit(auth_limit, scope="mobile-auth")
@limiter.shared_limit(code_limit, scope="mobile-codes")
def register() -> tuple[Response, int]:
    body = json_body(request)
    phone_app.request_registration_code(g.program, body.get("phone"), now())
    return _code_sent()


def _code_sent() -> tuple[Response, int]:
    return jsonify({"status": "code_sent"}), 202


@bp.post("/auth/verify")
@limiter.shared_limit(auth_limit, scope="mobile-auth")
def verify() -> tuple[Response, int]:
    body = json_body(request)
    pair = phone_app.complete_registration(g.program, body.get("phone"), body.get("code"),
                                           body.get("pin"), now(),
                                           referral_code=body.get("referral_code"))
    return jsonify(pair.to_json()), 201


@bp.post("/auth/login")
@limiter.shared_limit(auth_limit, scope="mobile-auth")
def login() -> Response:
    body = json_body(request)
    pair = phone_app.log_in(g.program, body.get("phone"), body.get("pin"), now(),
                            request.remote_addr or "")
    return jsonify(pair.to_json())


@bp.post("/auth/refresh")
@limiter.shared_limit(auth_limit, scope="mobile-auth")
def refresh() -> Response:
    body = json_body(request)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token or len(token) > 200:
        raise InvalidToken()
    pair = phone_app.refresh(g.program, token, now())
    return jsonify(pair.to_json())


@bp.post("/auth/logout")
def logout() -> tuple[str, int]:
    phone_app.log_out(g.caller, now())
    return "", 204


@bp.post("/auth/pin/reset")
@limiter.shared_limit(auth_limit, scope="mobile-auth")
@limiter.shared_limit(code_limit, scope="mobile-codes")
def reset_pin() -> tuple[Response, int]:
    """Without `code`: send a code by SMS. With `code` and `pin`: set the PIN and log in."""
    body = json_body(request)
    if "code" not in body:
        phone_app.request_pin_reset_code(g.program, body.get("phone"), now())
        return _code_sent()
    pair = phone_app.reset_pin(g.program, body.get("phone"), body.get("code"), body.get("pin"),
                               now())
    return jsonify(pair.to_json()), 200


# --- the customer ----------------------------------------------------------------------------

@bp.get("/me")
def me() -> Response:
    return jsonify(phone_app.profile(g.program, g.caller))


@bp.patch("/me")
def update_me() -> Response:
    body = json_body(request)
    return jsonify(phone_app.update_profile(g.program, g.caller, body, now()))


@bp.delete("/me")
def delete_me() -> tuple[str, int]:
    phone_app.erase(g.program, g.caller, now())
    return "", 204


@bp.get("/me/export")
def export_me() -> Response:
    return jsonify(phone_app.export(g.program, g.caller, now()))


@bp.put("/me/pin")
def change_pin() -> tuple[str, int]:
    body = json_body(request)
    phone_app.change_pin(g.program, g.caller, body.get("old_pin"), body.get("new_pin"), now())
    return "", 204


@bp.get("/me/card")
def my_card() -> Response:
    shown = phone_app.my_card(g.caller, now())
    return jsonify({
        **shown.to_json(),
        "barcode_svg_url": url_for(".card_barcode_svg", _external=True),
        "barcode_png_url": url_for(".card_barcode_png", _external=True),
        "qr_svg_url": url_for(".card_qr_svg", _external=True),
        "qr_png_url": url_for(".card_qr_png", _external=True),
    })


def _card_image(render: Any, mimetype: str) -> Response:
    """The card's barcode or QR code with this moment's live code (Code 128: EAN-13 cannot
    carry the code)."""
    shown = phone_app.my_card(g.caller, now())
    return Response(render(shown.scan_value), mimetype=mimetype,
                    headers={"Cache-Control": "private, no-store"})


@bp.get("/me/card/barcode.svg")
def card_barcode_svg() -> Response:
    return _card_image(cards.render_live_barcode_svg, "image/svg+xml")


@bp.get("/me/card/barcode.png")
def card_barcode_png() -> Response:
    return _card_image(cards.render_live_barcode_png, "image/png")


@bp.get("/me/card/qr.svg")
def card_qr_svg() -> Response:
    return _card_image(cards.render_qr_svg, "image/svg+xml")


@bp.get("/me/card/qr.png")
def card_qr_png() -> Response:
    return _card_image(cards.render_qr_png, "image/png")


@bp.post("/me/cards")
def link_card() -> tuple[Response, int]:
    body = json_body(request)
    card, linked_now = phone_app.link_card(g.program, g.caller, body.get("card_number"), now())
    return jsonify({"card_number": card.number, "symbology": card.symbology,
                    "status": card.status, "kind": card.kind}), 201 if linked_now else 200


@bp.get("/me/balance")
def my_balance() -> Response:
    return jsonify(phone_app.balance(g.program, g.caller, now()))


@bp.get("/me/tier")
def my_tier() -> Response:
    return jsonify(offers.my_tier(g.program, g.caller, now(), _language()))


@bp.get("/me/referral")
def my_referral() -> Response:
    return jsonify(phone_app.referral(g.program, g.caller, now()))


@bp.post("/me/devices")
def register_device() -> tuple[Response, int]:
    body = json_body(request)
    device, created = phone_app.register_device(g.program, g.caller, body.get("platform"),
                                                body.get("token"), body.get("app_version"),
                                                now())
    return jsonify(device), 201 if created else 200


@bp.get("/me/devices")
def list_devices() -> Response:
    return jsonify({"devices": phone_app.list_devices(g.caller)})


@bp.delete("/me/devices/<int:device_id>")
def remove_device(device_id: int) -> tuple[str, int]:
    phone_app.remove_device(g.caller, device_id)
    return "", 204


@bp.get("/me/wallet/apple")
def my_apple_pass() -> Response:
    pkpass = wallets.apple_pass(g.program, g.caller, now())
    response = pkpass_response(g.program.slug, pkpass)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/me/wallet/google")
def my_google_link() -> Response:
    return jsonify(wallets.google_link(g.program, g.caller, now()).to_json())


@bp.get("/me/wallet/link")
def my_wallet_link() -> Response:
    return jsonify(wallets.wallet_link(g.program, g.caller, now()).to_json())


@bp.get("/me/history")
def my_history() -> Response:
    settings = current_app.config["LOYALTY"]["mobile"]
    limit = _positive_int("limit", default=int(settings["history_default_limit"]),
                          maximum=int(settings["history_max_limit"]))
    cursor = _positive_int("cursor", default=None, maximum=2 ** 62)
    return jsonify(phone_app.history(g.caller, limit, cursor))


def _positive_int(name: str, default: int | None, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise ValidationFailed(f"{name} must be a whole number from 1 to {maximum}.", field=name)
    return int(raw)
