"""The Wallet API client against the fake Google: classes and objects written whether or not
Google knows them yet, and Google's failures answered as retry or failed."""
from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from google_keys import WALLET_EMAIL, ServiceAccountKey, trusted_key
from pos_loyalty.notify.channels import PushResult
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.notify.google_auth import GoogleServiceAccount, GoogleTokenSource
from pos_loyalty.wallet.google_wallet import (
    WALLET_SCOPE, GoogleWalletClient, make_google_wallet_client,
)

START = dt.datetime(2026, 3, 9, 10, 0)
ISSUER = "3388000000022100000"
CLASS = {"id": f"{ISSUER}.paul", "issuerName": "Paul SAS", "programName": "Paul",
         "hexBackgroundColor": "#7a1f2b", "reviewStatus": "UNDER_REVIEW"}
CARD = {"id": f"{ISSUER}.0a1b2c", "classId": f"{ISSUER}.paul", "state": "ACTIVE",
        "accountId": "2900000012344", "loyaltyPoints": {"label": "Points",
                                                        "balance": {"int": 120}}}
CLASS_PATH = f"/walletobjects/v1/loyaltyClass/{ISSUER}.paul"


@pytest.fixture
def key(google: FakeGoogle, tmp_path: Path) -> ServiceAccountKey:
    return trusted_key(google, tmp_path, WALLET_EMAIL)


def client_for(key: ServiceAccountKey, base_url: str) -> GoogleWalletClient:
    http = httpx.Client(timeout=5)
    tokens = GoogleTokenSource(GoogleServiceAccount.from_file(key.path), (WALLET_SCOPE,),
                               client=http, clock=lambda: START)
    return GoogleWalletClient(tokens, client=http, base_url=base_url)


@pytest.fixture
def wallet(google: FakeGoogle, key: ServiceAccountKey) -> Iterator[GoogleWalletClient]:
    client = client_for(key, google.url)
    yield client
    client.close()


def steps(google: FakeGoogle) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in google.requests if r.path != "/token"]


def test_new_class_is_inserted_after_googles_404(wallet, google) -> None:
    assert wallet.upsert_class(CLASS) == PushResult("ok", provider_id=CLASS["id"])
    assert google.classes == {CLASS["id"]: CLASS}
    assert steps(google) == [("PUT", CLASS_PATH, 404),
                             ("POST", "/walletobjects/v1/loyaltyClass", 200)]


def test_known_object_is_replaced_in_one_put(wallet, google) -> None:
    wallet.upsert_class(CLASS)
    wallet.upsert_object(CARD)
    richer = {**CARD, "loyaltyPoints": {"label": "Points", "balance": {"int": 150}}}
    assert wallet.upsert_object(richer).status == "ok"
    assert google.objects[CARD["id"]]["loyaltyPoints"]["balance"] == {"int": 150}
    assert steps(google)[-1] == ("PUT", f"/walletobjects/v1/loyaltyObject/{CARD['id']}", 200)
    assert google.tokens_issued == 1


def test_insert_that_finds_it_made_meanwhile_puts_again(wallet, google) -> None:
    wallet.upsert_class(CLASS)
    google.wallet_answer("not_found")
    changed = {**CLASS, "programName": "Paul & fils"}
    assert wallet.upsert_class(changed).status == "ok"
    assert google.classes[CLASS["id"]] == changed
    assert steps(google)[2:] == [("PUT", CLASS_PATH, 404),
                                 ("POST", "/walletobjects/v1/loyaltyClass", 409),
                                 ("PUT", CLASS_PATH, 200)]


def test_unavailable_wallet_api_is_retried_after_its_retry_after(wallet, google) -> None:
    google.wallet_answer("unavailable")
    assert wallet.upsert_class(CLASS) == PushResult("retry", "Google Wallet 503: scripted",
                                                    30.0)
    assert google.classes == {}
    assert wallet.upsert_class(CLASS).status == "ok"


def test_object_of_an_unknown_class_is_refused(wallet, google) -> None:
    result = wallet.upsert_object(CARD)
    assert result == PushResult("failed", f"Google Wallet 400: Class {ISSUER}.paul not found")


def test_expired_access_token_is_renewed_once(wallet, google) -> None:
    wallet.upsert_class(CLASS)
    google.expire_tokens()
    assert wallet.upsert_class(CLASS).status == "ok"
    assert google.tokens_issued == 2
    assert steps(google)[2:] == [("PUT", CLASS_PATH, 401), ("PUT", CLASS_PATH, 200)]


def test_class_is_written_once_per_client_until_it_changes(wallet, google) -> None:
    assert wallet.ensure_class(CLASS).status == "ok"
    assert wallet.ensure_class(dict(CLASS)) == PushResult("ok", "class already written",
                                                          provider_id=CLASS["id"])
    assert len(steps(google)) == 2
    assert wallet.ensure_class({**CLASS, "hexBackgroundColor": "#000000"}).status == "ok"
    assert google.classes[CLASS["id"]]["hexBackgroundColor"] == "#000000"
    assert len(steps(google)) == 3


def test_class_not_written_is_tried_again(wallet, google) -> None:
    google.wallet_answer("unavailable")
    assert wallet.ensure_class(CLASS).status == "retry"
    assert wallet.ensure_class(CLASS).status == "ok"
    assert google.classes == {CLASS["id"]: CLASS}


def test_unreachable_wallet_api_is_retried(google, key) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}"
    client = client_for(key, closed)
    result = client.upsert_class(CLASS)
    client.close()
    assert result.status == "retry" and result.detail.startswith("network: ")


def test_no_wallet_client_without_an_issuer_or_a_key(google, key) -> None:
    push = {"google_token_url": "", "token_refresh_margin_seconds": 300,
            "timeout_seconds": 5, "ca_file": ""}
    wallet = {"google_issuer_id": ISSUER, "google_service_account_file": str(key.path),
              "google_wallet_api_base_url": google.url}
    assert make_google_wallet_client({**wallet, "google_issuer_id": ""}, push) is None
    assert make_google_wallet_client({**wallet, "google_service_account_file": ""},
                                     push) is None
    client = make_google_wallet_client(wallet, push, clock=lambda: START)
    assert client.upsert_class(CLASS).status == "ok"
    client.close()
