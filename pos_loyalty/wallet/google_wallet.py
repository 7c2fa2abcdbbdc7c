"""The card as Google Wallet holds it: a loyalty class per program, a loyalty object per account,
the signed "Save to Google Wallet" JWT that offers both, and the Wallet API client that keeps
them up to date (developers.google.com/wallet/retail/loyalty-cards).

Ids are `{issuer id}.{suffix}`, the suffix of letters, digits, ".", "_" and "-" only: the
program's slug for the class, the pass's random serial (never the card number) for the object.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import jwt

from pos_loyalty.cards import ean13_check_digit
from pos_loyalty.clock import now as core_clock
from pos_loyalty.notify.channels import PushResult
from pos_loyalty.notify.google_auth import (
    GoogleAuthFailed, GoogleServiceAccount, GoogleTokenSource, google_http_client, json_object,
    retry_after_seconds, token_source,
)
from pos_loyalty.wallet.content import PassContent

WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
API_PATH = "/walletobjects/v1"
# What the card's fields are called, in the customer's language (English for any but French).
LABELS = {
    "fr": {"points": "Points", "value": "Valeur", "tier": "Niveau"},
    "en": {"points": "Points", "value": "Worth", "tier": "Tier"},
}
NOT_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]")


def labels_for(language: str) -> dict[str, str]:
    return LABELS["fr"] if language == "fr" else LABELS["en"]


def class_id(issuer_id: str, slug: str) -> str:
    return f"{issuer_id}.{NOT_ID_CHARACTERS.sub('_', slug)}"


def object_id(issuer_id: str, serial: str) -> str:
    return f"{issuer_id}.{NOT_ID_CHARACTERS.sub('_', serial)}"


def barcode_type(card_number: str) -> str:
    """EAN_13 for a 13-digit number whose check digit is right (as the plastic card prints
    it), CODE_128 for any other number: both scan at the till as the card does."""
    if re.fullmatch(r"[0-9]{13}", card_number) \
            and ean13_check_digit(card_number[:12]) == card_number[12]:
        return "EAN_13"
    return "CODE_128"


def public_logo_uri(logo_url: str, public_base_url: str) -> str | None:
    """The brand's logo as Google fetches it: an https address, a path made absolute with
    the service's public address; None when Google could not reach it."""
    if logo_url.startswith("/") and public_base_url:
        logo_url = public_base_url.rstrip("/") + logo_url
    return logo_url if logo_url.startswith("https://") else None


def loyalty_class(class_id: str, content: PassContent, issuer_name: str,
                  logo_uri: str | None) -> dict[str, Any]:
    """The program's card design, shared by every customer's object."""
    resource: dict[str, Any] = {
        "id": class_id, "issuerName": issuer_name, "programName": content.program_name,
        "hexBackgroundColor": content.background_color, "reviewStatus": "UNDER_REVIEW"}
    if logo_uri:
        resource["programLogo"] = {
            "sourceUri": {"uri": logo_uri},
            "contentDescription": {"defaultValue": {"language": content.language,
                                                    "value": content.program_name}}}
    return resource


def loyalty_object(object_id: str, class_id: str, content: PassContent) -> dict[str, Any]:
    """One customer's card: the balance, what it is worth, the tier and the card's barcode."""
    labels = labels_for(content.language)
    resource: dict[str, Any] = {
        "id": object_id, "classId": class_id, "state": "ACTIVE",
        "accountId": content.card_number,
        "loyaltyPoints": {"label": labels["points"],
                          "balance": {"int": content.available_points}},
        "secondaryLoyaltyPoints": {"label": labels["value"],
                                   "balance": {"string": content.points_value}},
        "barcode": {"type": barcode_type(content.card_number), "value": content.card_number,
                    "alternateText": content.card_number}}
    if content.first_name:
        resource["accountName"] = content.first_name
    if content.tier_name:
        resource["textModulesData"] = [{"id": "tier", "header": labels["tier"],
                                        "body": content.tier_name}]
    return resource


def save_jwt(account: GoogleServiceAccount, loyalty_class: dict[str, Any],
             loyalty_object: dict[str, Any], now: dt.datetime) -> str:
    """The signed offer behind a "Save to Google Wallet" link: Google creates the class and
    the object from it when they do not exist yet."""
    claims = {"iss": account.client_email, "aud": "google", "typ": "savetowallet",
              "iat": int(now.replace(tzinfo=dt.timezone.utc).timestamp()), "origins": [],
              "payload": {"loyaltyClasses": [loyalty_class],
                          "loyaltyObjects": [loyalty_object]}}
    return jwt.encode(claims, account.private_key_pem, algorithm="RS256")


class _Stopped(Exception):
    """A call that got no answer worth reading (network, access token)."""

    def __init__(self, result: PushResult) -> None:
        super().__init__(result.detail)
        self.result = result


class GoogleWalletClient:
    """Writes loyalty classes and objects through the Wallet API, whether or not they exist:
    PUT replaces one, POST inserts it when Google does not know it yet."""

    def __init__(self, tokens: GoogleTokenSource, *, client: httpx.Client,
                 base_url: str = "https://walletobjects.googleapis.com") -> None:
        self.tokens, self.client = tokens, client
        self.api = base_url.rstrip("/") + API_PATH
        # class id -> the class last written: each program's is written once per client, and
        # again only when the brand changed it.
        self._classes_written: dict[str, dict[str, Any]] = {}

    def upsert_class(self, cls: dict[str, Any]) -> PushResult:
        return self._upsert("loyaltyClass", cls)

    def upsert_object(self, obj: dict[str, Any]) -> PushResult:
        return self._upsert("loyaltyObject", obj)

    def ensure_class(self, cls: dict[str, Any]) -> PushResult:
        """`upsert_class` unless this client already wrote this very class."""
        if self._classes_written.get(cls["id"]) == cls:
            return PushResult("ok", "class already written", provider_id=cls["id"])
        result = self.upsert_class(cls)
        if result.status == "ok":
            self._classes_written[cls["id"]] = cls
        return result

    def close(self) -> None:
        self.client.close()

    def _upsert(self, kind: str, resource: dict[str, Any]) -> PushResult:
        url = f"{self.api}/{kind}/{quote(resource['id'], safe='')}"
        try:
            response = self._call("PUT", url, resource)
            if response.status_code == 404:
                response = self._call("POST", f"{self.api}/{kind}", resource)
                if response.status_code == 409:   # inserted meanwhile (a save, a worker)
                    response = self._call("PUT", url, resource)
        except _Stopped as stopped:
            return stopped.result
        return wallet_result(response)

    def _call(self, method: str, url: str, resource: dict[str, Any]) -> httpx.Response:
        """One request; a 401 gets a fresh access token and one more try."""
        for first_try in (True, False):
            try:
                headers = {"Authorization": f"Bearer {self.tokens.token()}"}
            except GoogleAuthFailed as error:
                raise _Stopped(PushResult("retry" if error.retry else "failed",
                                          f"Google auth: {error.message}",
                                          error.retry_after)) from error
            try:
                response = self.client.request(method, url, json=resource, headers=headers)
            except httpx.HTTPError as error:
                raise _Stopped(PushResult("retry", f"network: {error}"[:500])) from error
            if response.status_code == 401 and first_try:
                self.tokens.invalidate()
                continue
            return response
        raise AssertionError("unreachable")


def wallet_result(response: httpx.Response) -> PushResult:
    status = response.status_code
    answer = json_object(response)
    if status == 200:
        return PushResult("ok", provider_id=answer.get("id"))
    error = answer.get("error")
    message = error.get("message", "") if isinstance(error, dict) else response.text[:200]
    detail = f"Google Wallet {status}: {message}"[:500]
    if status == 429 or status >= 500:
        return PushResult("retry", detail, retry_after_seconds(response))
    return PushResult("failed", detail)


def make_google_wallet_client(wallet: dict[str, Any], push: dict[str, Any], *,
                              clock: Callable[[], dt.datetime] = core_clock,
                              ) -> GoogleWalletClient | None:
    """The client of a program's `wallet_config` (issuer, key, API address) and `push_config`
    (token URL, refresh margin, timeout, CA file); None without an issuer id or a key."""
    if not wallet["google_issuer_id"] or not wallet["google_service_account_file"]:
        return None
    client = google_http_client(push)
    tokens = token_source(wallet["google_service_account_file"], WALLET_SCOPE, push, client,
                          clock=clock)
    return GoogleWalletClient(tokens, client=client,
                              base_url=wallet["google_wallet_api_base_url"])
