"""A service account's access token: read from its key, got by the JWT-bearer grant from the
fake Google, kept until shortly before it expires, on a clock the tests move."""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from clocks import Clock
from google_keys import FCM_EMAIL, PROJECT_ID, ServiceAccountKey, key_file, trusted_key
from pos_loyalty.config import ConfigError
from pos_loyalty.notify.fake_google import FCM_SCOPE, WALLET_SCOPE, FakeGoogle
from pos_loyalty.notify.google_auth import (
    JWT_BEARER_GRANT, GoogleAuthFailed, GoogleServiceAccount, GoogleTokenSource,
    ServiceAccountKeyInvalid,
)

START = dt.datetime(2026, 3, 9, 10, 0)
START_SECONDS = 1773050400   # START as a Unix time


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def key(google: FakeGoogle, tmp_path: Path) -> ServiceAccountKey:
    return trusted_key(google, tmp_path, FCM_EMAIL)


def source(key: ServiceAccountKey, http: httpx.Client, clock: Clock, **options) -> \
        GoogleTokenSource:
    return GoogleTokenSource(GoogleServiceAccount.from_file(key.path), (FCM_SCOPE,),
                             client=http, clock=clock, **options)


def closed_port_url() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}/token"


def test_key_file_gives_the_account(key: ServiceAccountKey, google: FakeGoogle) -> None:
    account = GoogleServiceAccount.from_file(key.path)
    assert (account.client_email, account.token_uri, account.project_id) == \
        (FCM_EMAIL, google.token_url, PROJECT_ID)
    assert account.private_key_pem == key.private_key_pem
    assert "PRIVATE KEY" not in repr(account)


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceAccountKeyInvalid, match="cannot be read") as refused:
        GoogleServiceAccount.from_file(tmp_path / "nowhere.json")
    assert isinstance(refused.value, ConfigError)


@pytest.mark.parametrize("missing", ["client_email", "private_key", "token_uri", "project_id"])
def test_key_without_a_field_is_refused_naming_it(tmp_path: Path, missing: str) -> None:
    key = key_file(tmp_path, FCM_EMAIL, "http://127.0.0.1/token")
    fields = json.loads(key.path.read_text())
    del fields[missing]
    key.path.write_text(json.dumps(fields))
    with pytest.raises(ServiceAccountKeyInvalid, match=f"lacks {missing}"):
        GoogleServiceAccount.from_file(key.path)


def test_key_that_is_not_json_or_not_a_key_is_refused(tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json")
    with pytest.raises(ServiceAccountKeyInvalid, match="cannot be read"):
        GoogleServiceAccount.from_file(garbled)
    key = key_file(tmp_path, FCM_EMAIL, "http://127.0.0.1/token")
    fields = json.loads(key.path.read_text())
    key.path.write_text(json.dumps({**fields, "private_key": "-----BEGIN PRIVATE KEY-----"}))
    with pytest.raises(ServiceAccountKeyInvalid, match="not a PEM key"):
        GoogleServiceAccount.from_file(key.path)


def test_token_comes_from_a_signed_jwt_bearer_grant(key, google, http) -> None:
    assert source(key, http, Clock(START)).token() == "ya29.fake-1"
    [request] = google.calls("POST", "/token")
    assert request.body["grant_type"] == JWT_BEARER_GRANT
    claims = jwt.decode(request.body["assertion"], key.public_key_pem, algorithms=["RS256"],
                        audience=google.token_url, options={"verify_exp": False})
    assert claims == {"iss": FCM_EMAIL, "scope": FCM_SCOPE, "aud": google.token_url,
                      "iat": START_SECONDS, "exp": START_SECONDS + 3600}


def test_scopes_are_joined_by_spaces(key, google, http) -> None:
    tokens = GoogleTokenSource(GoogleServiceAccount.from_file(key.path),
                               (FCM_SCOPE, WALLET_SCOPE), client=http, clock=Clock(START))
    tokens.token()
    assertion = google.calls("POST", "/token")[0].body["assertion"]
    assert jwt.decode(assertion, options={"verify_signature": False})["scope"] == \
        f"{FCM_SCOPE} {WALLET_SCOPE}"


def test_token_is_kept_until_the_margin_before_it_expires(key, google, http) -> None:
    clock = Clock(START)
    tokens = source(key, http, clock, margin_seconds=300)
    assert tokens.token() == "ya29.fake-1"
    clock.advance(seconds=3599 - 300 - 1)
    assert tokens.token() == "ya29.fake-1"
    assert google.tokens_issued == 1
    clock.advance(seconds=1)
    assert tokens.token() == "ya29.fake-2"
    assert tokens.token() == "ya29.fake-2"
    assert google.tokens_issued == 2
    renewal = google.calls("POST", "/token")[1].body["assertion"]
    assert jwt.decode(renewal, options={"verify_signature": False})["iat"] == \
        START_SECONDS + 3299


def test_invalidated_token_is_fetched_again(key, google, http) -> None:
    tokens = source(key, http, Clock(START))
    tokens.token()
    tokens.invalidate()
    assert tokens.token() == "ya29.fake-2"
    assert google.tokens_issued == 2


def test_threads_sharing_a_source_ask_google_once(key, google, http) -> None:
    tokens = source(key, http, Clock(START))
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(tokens.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["ya29.fake-1"] * 8
    assert google.tokens_issued == 1


def test_token_url_replaces_the_keys_token_uri(google, http, tmp_path: Path) -> None:
    key = key_file(tmp_path, FCM_EMAIL, closed_port_url())
    google.trust(FCM_EMAIL, key.public_key_pem)
    tokens = source(key, http, Clock(START), token_url=google.token_url)
    assert tokens.token() == "ya29.fake-1"


def test_unreachable_token_endpoint_may_be_retried(http, tmp_path: Path) -> None:
    key = key_file(tmp_path, FCM_EMAIL, closed_port_url())
    with pytest.raises(GoogleAuthFailed, match="unreachable") as failed:
        source(key, http, Clock(START)).token()
    assert failed.value.retry is True


def test_key_google_does_not_know_is_refused_for_good(google, http, tmp_path: Path) -> None:
    key = key_file(tmp_path, FCM_EMAIL, google.token_url)   # never trusted
    with pytest.raises(GoogleAuthFailed, match="400: invalid_grant") as failed:
        source(key, http, Clock(START)).token()
    assert failed.value.retry is False


def test_busy_token_endpoint_may_be_retried_then_answers(key, google, http) -> None:
    google.token_answer("unavailable")
    tokens = source(key, http, Clock(START))
    with pytest.raises(GoogleAuthFailed, match="503") as failed:
        tokens.token()
    assert failed.value.retry is True
    assert tokens.token() == "ya29.fake-1"
