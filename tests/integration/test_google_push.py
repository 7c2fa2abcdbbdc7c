"""Pushes through FCM with the program's [push] settings, on the core's clock: one access token
serves the hour, a new one is fetched as it nears its end, a phone gone is answered dead."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from google_keys import FCM_EMAIL, PROJECT_ID, trusted_key
from pos_loyalty.notify.channels import PushResult, push_config
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.notify.fcm import FcmClient, make_fcm_client

PHONE = "fcm-token-of-camilles-pixel"


@pytest.fixture
def fcm(app, shop, google: FakeGoogle, tmp_path: Path) -> Iterator[FcmClient]:
    key = trusted_key(google, tmp_path, FCM_EMAIL)
    app.config["LOYALTY"]["push"].update(fcm_project_id=PROJECT_ID,
                                         fcm_service_account_file=str(key.path),
                                         fcm_api_base_url=google.url)
    client = make_fcm_client(push_config(shop.program))
    yield client
    client.close()


def balance_push(fcm: FcmClient, token: str = PHONE) -> PushResult:
    return fcm.send(token, "Demo Boulangerie", "+25 points : vous en avez 145.",
                    {"kind": "balance", "available_points": "145"})


def test_program_without_a_firebase_project_has_no_fcm_client(shop) -> None:
    assert make_fcm_client(push_config(shop.program)) is None


def test_one_access_token_serves_many_pushes(fcm, google) -> None:
    results = [balance_push(fcm, f"{PHONE}-{n}") for n in range(3)]
    assert [r.provider_id for r in results] == [
        f"projects/{PROJECT_ID}/messages/{n}" for n in (1, 2, 3)]
    assert google.tokens_issued == 1
    assert [m["token"] for m in google.messages] == [f"{PHONE}-{n}" for n in range(3)]


def test_access_token_is_renewed_as_the_core_clock_nears_its_end(shop, fcm, google) -> None:
    start = shop.now
    balance_push(fcm)
    shop.now = start + dt.timedelta(seconds=3599 - 300 - 1)   # the margin: 300 s
    balance_push(fcm)
    assert google.tokens_issued == 1
    shop.now = start + dt.timedelta(seconds=3599 - 300)
    assert balance_push(fcm).status == "ok"
    assert google.tokens_issued == 2
    assert [r.authorization for r in google.calls("POST", "/v1/")] == [
        "Bearer ya29.fake-1", "Bearer ya29.fake-1", "Bearer ya29.fake-2"]


def test_token_google_expired_early_is_renewed_and_the_push_goes(fcm, google) -> None:
    balance_push(fcm)
    google.expire_tokens()
    assert balance_push(fcm).status == "ok"
    assert google.tokens_issued == 2
    assert len(google.messages) == 2


def test_phone_that_removed_the_app_is_dead(fcm, google) -> None:
    google.fcm_answer(PHONE, "unregistered")
    assert balance_push(fcm) == PushResult("dead", "FCM 404 UNREGISTERED: Requested entity "
                                                   "was not found.")
    assert balance_push(fcm, "another-phone").status == "ok"


def test_fcm_unavailable_once_is_retried_then_sent(fcm, google) -> None:
    google.fcm_answer(PHONE, "unavailable", times=1)
    assert balance_push(fcm) == PushResult("retry", "FCM 503 UNAVAILABLE: The service is "
                                                    "currently unavailable.", 30.0)
    assert balance_push(fcm).status == "ok"
