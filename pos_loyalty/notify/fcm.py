"""Pushes to the brand's Android app through Firebase Cloud Messaging's HTTP v1 API.

One call per device token. FCM's answer becomes a `PushResult` as its documentation reads
(firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode): a token the app no longer holds
(UNREGISTERED, a malformed token, another project's token) is dead and its device is
forgotten; throttling and Google's own failures are retried, after Retry-After when given.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx

from pos_loyalty.clock import now as core_clock
from pos_loyalty.notify.channels import PushResult
from pos_loyalty.notify.google_auth import (
    GoogleAuthFailed, GoogleTokenSource, google_http_client, json_object, retry_after_seconds,
    token_source,
)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# FCM's words when the token itself is the invalid argument.
INVALID_TOKEN_TEXT = "not a valid FCM registration token"


class FcmClient:
    def __init__(self, project_id: str, tokens: GoogleTokenSource, *, client: httpx.Client,
                 base_url: str = "https://fcm.googleapis.com") -> None:
        self.tokens, self.client = tokens, client
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"

    def send(self, device_token: str, title: str, body: str, data: dict[str, str],
             collapse_key: str | None = None) -> PushResult:
        """One notification to one phone; a 401 gets a fresh access token and one more try.
        The same `collapse_key` sent again replaces the notification on the phone (a resend
        after a crash shows once)."""
        android: dict[str, Any] = {"priority": "high"}
        if collapse_key:
            android.update(collapse_key=collapse_key, notification={"tag": collapse_key})
        message = {"message": {"token": device_token,
                               "notification": {"title": title, "body": body},
                               "data": data, "android": android}}
        for first_try in (True, False):
            try:
                headers = {"Authorization": f"Bearer {self.tokens.token()}"}
            except GoogleAuthFailed as error:
                return PushResult("retry" if error.retry else "failed",
                                  f"Google auth: {error.message}", error.retry_after)
            try:
                response = self.client.post(self.url, json=message, headers=headers)
            except httpx.HTTPError as error:
                return PushResult("retry", f"network: {error}"[:500])
            if response.status_code == 401 and first_try:
                self.tokens.invalidate()
                continue
            return push_result(response)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()


def push_result(response: httpx.Response) -> PushResult:
    """What FCM's answer to messages:send means for the device and the message."""
    status = response.status_code
    answer = json_object(response)
    if status == 200:
        return PushResult("ok", provider_id=str(answer.get("name") or "") or None)
    error = answer.get("error")
    error = error if isinstance(error, dict) else {}
    code = fcm_error_code(error)
    name = code or error.get("status")
    detail = (f"FCM {status} {name}: {error.get('message', '')}" if name
              else f"FCM {status}: {response.text[:200]}")[:500]
    if status == 404 and code == "UNREGISTERED":
        return PushResult("dead", detail)
    if status == 403 and code == "SENDER_ID_MISMATCH":
        return PushResult("dead", detail)
    if status == 400 and _names_the_token(error):
        return PushResult("dead", detail)
    if status == 429 or status >= 500:
        return PushResult("retry", detail, retry_after_seconds(response))
    return PushResult("failed", detail)


def fcm_error_code(error: dict[str, Any]) -> str:
    """The errorCode of the FcmError among the error's details ("" when none)."""
    for item in _details(error):
        if item.get("@type") == FCM_ERROR_TYPE:
            return str(item.get("errorCode") or "")
    return ""


def _names_the_token(error: dict[str, Any]) -> bool:
    """A 400 about the registration token, not about the payload we built."""
    if INVALID_TOKEN_TEXT in str(error.get("message", "")):
        return True
    return any(violation.get("field") == "message.token"
               for item in _details(error) if item.get("@type") == BAD_REQUEST_TYPE
               for violation in item.get("fieldViolations") or [] if isinstance(violation, dict))


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    return [item for item in details if isinstance(item, dict)] \
        if isinstance(details, list) else []


def make_fcm_client(config: dict[str, Any], *,
                    clock: Callable[[], dt.datetime] = core_clock) -> FcmClient | None:
    """The FCM client of a `push_config(program)`, None when the program has no Firebase
    project or key. A key file that cannot be read raises ServiceAccountKeyInvalid."""
    if not config["fcm_project_id"] or not config["fcm_service_account_file"]:
        return None
    client = google_http_client(config)
    tokens = token_source(config["fcm_service_account_file"], FCM_SCOPE, config, client,
                          clock=clock)
    return FcmClient(config["fcm_project_id"], tokens, client=client,
                     base_url=config["fcm_api_base_url"])
