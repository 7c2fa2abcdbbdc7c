"""FCM HTTP v1 pushes against the fake Google: the message sent, and each answer FCM's
documentation lists turned into ok, dead, retry or failed."""
from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certificates import issue, make_ca
from google_keys import FCM_EMAIL, PROJECT_ID, ServiceAccountKey, trusted_key
from pos_loyalty.notify.channels import PushResult
from pos_loyalty.notify.fake_google import WALLET_SCOPE, FakeGoogle
from pos_loyalty.notify.fcm import FCM_SCOPE, FcmClient, make_fcm_client, push_result
from pos_loyalty.notify.google_auth import (
    GoogleServiceAccount, GoogleTokenSource, ServiceAccountKeyInvalid,
)

START = dt.datetime(2026, 3, 9, 10, 0)
PHONE = "fcm-token-of-a-pixel"
DATA = {"kind": "balance", "available_points": "120"}


@pytest.fixture
def key(google: FakeGoogle, tmp_path: Path) -> ServiceAccountKey:
    return trusted_key(google, tmp_path, FCM_EMAIL)


@pytest.fixture
def fcm(google: FakeGoogle, key: ServiceAccountKey) -> Iterator[FcmClient]:
    yield client_for(google, key, (FCM_SCOPE,))


def client_for(google: FakeGoogle, key: ServiceAccountKey, scopes: tuple[str, ...],
               base_url: str = "") -> FcmClient:
    http = httpx.Client(timeout=5)
    tokens = GoogleTokenSource(GoogleServiceAccount.from_file(key.path), scopes, client=http,
                               clock=lambda: START)
    return FcmClient(PROJECT_ID, tokens, client=http, base_url=base_url or google.url)


def push_config(google: FakeGoogle, key_path: str | Path, **changes) -> dict:
    return {"fcm_project_id": PROJECT_ID, "fcm_service_account_file": str(key_path),
            "fcm_api_base_url": google.url, "google_token_url": "",
            "token_refresh_margin_seconds": 300, "timeout_seconds": 5, "ca_file": "", **changes}


def send(fcm: FcmClient, token: str = PHONE) -> PushResult:
    return fcm.send(token, "Merci !", "Vous avez 120 points.", DATA)


def test_push_sends_the_notification_with_high_priority(fcm, google) -> None:
    assert send(fcm) == PushResult("ok", provider_id=f"projects/{PROJECT_ID}/messages/1")
    assert google.messages == [{"token": PHONE,
                                "notification": {"title": "Merci !",
                                                 "body": "Vous avez 120 points."},
                                "data": DATA, "android": {"priority": "high"}}]
    [request] = google.calls("POST", "/v1/")
    assert request.path == f"/v1/projects/{PROJECT_ID}/messages:send"
    assert request.authorization == "Bearer ya29.fake-1"


@pytest.mark.parametrize(("answer", "status"), [
    ("unregistered", "dead"), ("invalid", "dead"), ("sender_mismatch", "dead"),
    ("bad_payload", "failed")])
def test_token_the_app_no_longer_holds_is_dead(fcm, google, answer, status) -> None:
    google.fcm_answer(PHONE, answer)
    result = send(fcm)
    assert result.status == status
    assert google.messages == []


def test_unregistered_detail_names_fcms_error_code(fcm, google) -> None:
    google.fcm_answer(PHONE, "unregistered")
    assert send(fcm) == PushResult("dead", "FCM 404 UNREGISTERED: Requested entity was not "
                                           "found.")


@pytest.mark.parametrize(("answer", "retry_after"), [
    ("unavailable", 30.0), ("quota", 30.0), ("internal", None)])
def test_busy_fcm_is_retried_after_its_retry_after(fcm, google, answer, retry_after) -> None:
    google.fcm_answer(PHONE, answer, times=1)
    result = send(fcm)
    assert (result.status, result.retry_after) == ("retry", retry_after)
    assert send(fcm).status == "ok"


def test_data_values_that_are_not_text_are_refused_as_fcm_does(fcm, google) -> None:
    result = fcm.send(PHONE, "Merci !", "+25 points", {"available_points": 145})
    assert result == PushResult("failed", "FCM 400 INVALID_ARGUMENT: Invalid value at "
                                          "'message.data': every value must be a string")


def test_scripted_answer_without_times_lasts(fcm, google) -> None:
    google.fcm_answer(PHONE, "unavailable")
    assert [send(fcm).status for _ in range(3)] == ["retry"] * 3
    assert send(fcm, "another-phone").status == "ok"


def test_expired_access_token_is_renewed_once_and_the_push_goes(fcm, google) -> None:
    assert send(fcm).status == "ok"
    google.expire_tokens()
    assert send(fcm).status == "ok"
    assert google.tokens_issued == 2
    assert [r.status for r in google.calls("POST", "/v1/")] == [200, 401, 200]


def test_token_refused_twice_fails(google, key) -> None:
    fcm = client_for(google, key, (WALLET_SCOPE,))   # a token FCM never accepts
    result = send(fcm)
    assert (result.status, result.detail) == (
        "failed", "FCM 401 UNAUTHENTICATED: Request had invalid authentication credentials. "
                  "Expected OAuth 2 access token.")
    assert google.tokens_issued == 2
    assert google.messages == []


def test_token_endpoint_busy_is_retried_refused_fails(fcm, google) -> None:
    google.token_answer("unavailable")
    assert send(fcm).status == "retry"
    google.token_answer("invalid_grant")
    failed = send(fcm)
    assert (failed.status, failed.detail) == (
        "failed", "Google auth: token endpoint 400: invalid_grant scripted")
    assert google.messages == []


def test_unreachable_fcm_is_retried(google, key) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}"
    fcm = client_for(google, key, (FCM_SCOPE,), base_url=closed)
    result = send(fcm)
    assert result.status == "retry"
    assert result.detail.startswith("network: ")


def fcm_error(status: int, rpc_status: str, message: str, *details: dict,
              headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {
        "code": status, "message": message, "status": rpc_status, "details": list(details)}})


FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def test_invalid_argument_naming_the_token_field_is_dead() -> None:
    answer = fcm_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                       {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
                       {"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "message.token",
                                             "description": "Invalid registration token"}]})
    assert push_result(answer).status == "dead"


def test_invalid_argument_about_the_payload_fails() -> None:
    answer = fcm_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data'",
                       {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
                       {"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "message.data[0].value"}]})
    assert push_result(answer).status == "failed"


def test_not_found_without_unregistered_is_no_dead_token() -> None:
    answer = fcm_error(404, "NOT_FOUND", "Requested entity was not found.")
    assert push_result(answer) == PushResult("failed", "FCM 404 NOT_FOUND: Requested entity "
                                                       "was not found.")


def test_permission_denied_of_the_project_fails_the_message_not_the_device() -> None:
    answer = fcm_error(403, "PERMISSION_DENIED", "Permission denied",
                       {"@type": FCM_ERROR, "errorCode": "PERMISSION_DENIED"})
    assert push_result(answer).status == "failed"


def test_retry_after_header_in_seconds_is_kept() -> None:
    answer = fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded",
                       {"@type": FCM_ERROR, "errorCode": "QUOTA_EXCEEDED"},
                       headers={"Retry-After": "120"})
    assert push_result(answer) == PushResult("retry", "FCM 429 QUOTA_EXCEEDED: Quota exceeded",
                                             120.0)
    dated = fcm_error(503, "UNAVAILABLE", "down",
                      headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"})
    assert push_result(dated) == PushResult("retry", "FCM 503 UNAVAILABLE: down", None)


def test_garbled_gateway_answer_is_retried() -> None:
    answer = httpx.Response(502, text="<html>Bad Gateway</html>")
    assert push_result(answer) == PushResult("retry", "FCM 502: <html>Bad Gateway</html>", None)


def test_no_fcm_client_without_a_project_or_a_key(google, key) -> None:
    assert make_fcm_client(push_config(google, key.path, fcm_project_id="")) is None
    assert make_fcm_client(push_config(google, "")) is None


def test_fcm_client_from_the_push_config_sends(google, key) -> None:
    fcm = make_fcm_client(push_config(google, key.path), clock=lambda: START)
    assert send(fcm).status == "ok"
    fcm.close()


def test_fcm_client_with_an_unreadable_key_refuses_to_start(google, tmp_path: Path) -> None:
    with pytest.raises(ServiceAccountKeyInvalid):
        make_fcm_client(push_config(google, tmp_path / "missing.json"))


def test_fcm_client_trusts_the_configured_ca(tmp_path: Path) -> None:
    ca = make_ca()
    certificate, private_key = issue(ca, "fake google", server_names=("127.0.0.1",)).write(
        tmp_path, "google")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.certificate_pem)
    with FakeGoogle(tls_files=(str(certificate), str(private_key))) as google:
        key = trusted_key(google, tmp_path, FCM_EMAIL)
        fcm = make_fcm_client(push_config(google, key.path, ca_file=str(ca_file)),
                              clock=lambda: START)
        assert send(fcm).status == "ok"
        fcm.close()
        untrusting = make_fcm_client(push_config(google, key.path), clock=lambda: START)
        refused = send(untrusting)
        untrusting.close()
    assert refused.status == "retry"
    assert "CERTIFICATE_VERIFY_FAILED" in refused.detail
