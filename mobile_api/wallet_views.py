"""The wallets' endpoints: Apple's pass web service (/api/wallet/apple/v1/...), which Wallet
calls to register a device and fetch a changed pass, and the signed "add to wallet" links
(/wallet/<token>) a receipt or an SMS carries.

Thin: parse, one use case in one transaction, answer. Errors answer JSON under /api/ (the
app's handler) and an HTML page under /wallet/.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, url_for

from cashier_ui.page_headers import protect_page
from pos_loyalty.clock import now
from pos_loyalty.db import db
from pos_loyalty.errors import LoyaltyError, WalletNotConfigured
from pos_loyalty.payloads import json_body
from pos_loyalty.usecases import wallets

from mobile_api.wallet_page import error_page, wallet_page

bp = Blueprint("wallet", __name__)

APPLE = "/api/wallet/apple/v1"
PKPASS = "application/vnd.apple.pkpass"


@bp.after_request
def never_cache(response: Response) -> Response:
    """Passes and tokens must not stay in a shared cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(LoyaltyError)
def loyalty_error(error: LoyaltyError) -> Any:
    db.session.rollback()
    if request.path.startswith("/api/"):
        return jsonify(error.to_json()), error.status, error.http_headers()
    html, policy = error_page("unavailable" if isinstance(error, WalletNotConfigured)
                              else "invalid")
    return _page(html, policy, error.status)


# --- Apple's pass web service ----------------------------------------------------------------

def _apple_token() -> str:
    """The token of `Authorization: ApplePass <token>`, "" without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme == "ApplePass" else ""


@bp.post(f"{APPLE}/devices/<device_id>/registrations/<pass_type_id>/<serial>")
def register_device(device_id: str, pass_type_id: str, serial: str) -> Response:
    token, push_token = _apple_token(), json_body(request).get("pushToken")
    created = wallets.register_pass_device(pass_type_id, serial, token, device_id, push_token,
                                           now())
    return Response(status=201 if created else 200)


@bp.delete(f"{APPLE}/devices/<device_id>/registrations/<pass_type_id>/<serial>")
def unregister_device(device_id: str, pass_type_id: str, serial: str) -> Response:
    token = _apple_token()
    wallets.unregister_pass_device(pass_type_id, serial, token, device_id)
    return Response(status=200)


@bp.get(f"{APPLE}/devices/<device_id>/registrations/<pass_type_id>")
def updated_serials(device_id: str, pass_type_id: str) -> Any:
    since = request.args.get("passesUpdatedSince")
    found = wallets.updated_serials(device_id, pass_type_id, since)
    if found is None:
        return Response(status=204)
    serials, tag = found
    return jsonify({"serialNumbers": serials, "lastUpdated": tag})


@bp.get(f"{APPLE}/passes/<pass_type_id>/<serial>")
def latest_pass(pass_type_id: str, serial: str) -> Response:
    token, since = _apple_token(), _naive_utc(request.if_modified_since)
    latest = wallets.latest_pass(pass_type_id, serial, token, since, now())
    response = (Response(status=304) if latest.pkpass is None
                else Response(latest.pkpass, 200, mimetype=PKPASS))
    response.last_modified = latest.last_modified.replace(tzinfo=dt.UTC)
    return response


@bp.post(f"{APPLE}/log")
def log() -> Response:
    wallets.log_pass_messages(json_body(request).get("logs"))
    return Response(status=200)


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment is not None else None


# --- the signed links ------------------------------------------------------------------------

@bp.get("/wallet/<token>")
def wallet_link_page(token: str) -> Response:
    program, account = wallets.link_page(token, now())
    html, policy = wallet_page(program, account, url_for("wallet.apple_pkpass", token=token),
                               url_for("wallet.google_save", token=token))
    return _page(html, policy, 200)


@bp.get("/wallet/<token>/apple.pkpass")
def apple_pkpass(token: str) -> Response:
    slug, pkpass = wallets.apple_pass_of_link(token, now())
    return pkpass_response(slug, pkpass)


def pkpass_response(slug: str, pkpass: bytes) -> Response:
    response = Response(pkpass, 200, mimetype=PKPASS)
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}.pkpass"'
    return response


@bp.get("/wallet/<token>/google")
def google_save(token: str) -> Response:
    """On to Google's own page, which saves the card in the customer's Google Wallet."""
    return redirect(wallets.google_link_of_link(token, now()), 303)


def _page(html: str, policy: str, status: int) -> Response:
    response = Response(html, status, mimetype="text/html")
    return protect_page(response, policy, "")
