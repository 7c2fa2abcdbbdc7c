"""The APNs client against the local fake APNs: HTTP/2 over TLS, Apple's headers, its provider
token and pass certificate, each of Apple's answers as the outbox sees it, and the clients
built from [push] and [wallet] as an operator sets them (LOYALTY_PUSH__*, LOYALTY_WALLET__*)."""
from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pos_loyalty.config import load_settings
from pos_loyalty.notify.apns import (ApnsClient, ApnsCredentialError, ApnsTokenSigner,
                                     make_app_client, make_pass_client)
from pos_loyalty.notify.channels import PushResult
from pos_loyalty.notify.fake_apns import FakeApns

from apns_fixtures import (APP_TOPIC, KEY_ID, PASS_TYPE_ID, START, START_SECONDS, TEAM,
                           ApnsFiles, pkcs8, write_apns_files)
from certificates import issue, make_ca
from clocks import Clock

DEVICE = "7c5e8a0f3b"
APP_SETTINGS = ("APNS_TEAM_ID", "APNS_KEY_ID", "APNS_KEY_FILE", "APNS_TOPIC")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> ApnsFiles:
    return write_apns_files(tmp_path_factory.mktemp("apns"))


@pytest.fixture(scope="module")
def apple_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def signer(apple_key, clock) -> ApnsTokenSigner:
    return ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), clock=clock)


@pytest.fixture
def apple(files, apple_key, clock) -> Iterator[FakeApns]:
    """The fake APNs in token mode: it verifies the app's JWTs by Apple's rules."""
    with FakeApns(files.server_certificate, files.server_key,
                  token_keys={KEY_ID: apple_key.public_key()}, team_id=TEAM,
                  clock=clock) as fake:
        yield fake


@pytest.fixture
def wallet_apple(files) -> Iterator[FakeApns]:
    """The fake APNs in pass-certificate mode: no TLS without a client certificate of the CA."""
    with FakeApns(files.server_certificate, files.server_key,
                  client_ca_file=files.ca_file) as fake:
        yield fake


@pytest.fixture
def app_pushes(apple, signer, files) -> Iterator[ApnsClient]:
    client = ApnsClient(apple.url, signer=signer, ca_file=files.ca_file)
    yield client
    client.close()


def bearer(request) -> str:
    return request.headers["authorization"].removeprefix("bearer ")


def test_apns_alert_goes_with_apples_headers_and_a_token_that_verifies(apple, app_pushes,
                                                                       apple_key):
    result = app_pushes.send_alert(DEVICE, title="Café Lumière", body="You have 120 points",
                                   data={"kind": "balance", "points": "120"}, topic=APP_TOPIC,
                                   collapse_id="balance")
    [request] = apple.requests
    assert result == PushResult("ok", provider_id=request.apns_id)
    assert (request.method, request.path, request.status) == ("POST", f"/3/device/{DEVICE}", 200)
    assert {name: request.headers.get(name) for name in (
        "apns-topic", "apns-push-type", "apns-priority", "apns-collapse-id", "apns-expiration",
        "content-type")} == {
        "apns-topic": APP_TOPIC, "apns-push-type": "alert", "apns-priority": "10",
        "apns-collapse-id": "balance", "apns-expiration": None,
        "content-type": "application/json"}
    assert request.body == {"aps": {"alert": {"title": "Café Lumière",
                                              "body": "You have 120 points"},
                                    "sound": "default"},
                            "kind": "balance", "points": "120"}
    token = bearer(request)
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID}
    assert jwt.decode(token, apple_key.public_key(), algorithms=["ES256"],
                      options={"verify_iat": False}) == {"iss": TEAM, "iat": START_SECONDS}


def test_apns_connection_is_http2_over_tls(apple, app_pushes, files):
    app_pushes.send(DEVICE, {"aps": {"badge": 1}}, topic=APP_TOPIC)
    [request] = apple.requests
    assert request.alpn == "h2"
    http1 = httpx.Client(verify=ssl.create_default_context(cafile=files.ca_file))
    with http1, pytest.raises(httpx.RemoteProtocolError):
        http1.post(f"{apple.url}/3/device/{DEVICE}", json={})
    assert apple.refused_connections == ["ALPN none: APNs speaks only h2"]
    assert len(apple.requests) == 1


def test_apns_expiration_and_push_type_headers_are_sent_as_given(apple, app_pushes):
    result = app_pushes.send(DEVICE, {"aps": {"content-available": 1}}, topic=APP_TOPIC,
                             push_type="background", priority=5, expiration=1898600400)
    [request] = apple.requests
    assert result.status == "ok"
    assert (request.headers["apns-push-type"], request.headers["apns-priority"],
            request.headers["apns-expiration"]) == ("background", "5", "1898600400")
    assert "apns-collapse-id" not in request.headers


def test_apns_token_is_reused_within_refresh_minutes_and_renewed_after(apple, app_pushes,
                                                                       clock):
    app_pushes.send(DEVICE, {}, topic=APP_TOPIC)
    clock.advance(minutes=49)
    app_pushes.send(DEVICE, {}, topic=APP_TOPIC)
    clock.advance(minutes=1)
    app_pushes.send(DEVICE, {}, topic=APP_TOPIC)
    first, second, third = (bearer(request) for request in apple.requests)
    assert first == second != third
    assert jwt.decode(third, options={"verify_signature": False})["iat"] == \
        START_SECONDS + 50 * 60
    assert [request.status for request in apple.requests] == [200, 200, 200]


def test_apns_expired_provider_token_is_renewed_and_the_push_sent_once_more(apple,
                                                                            app_pushes,
                                                                            signer):
    apple.answer(DEVICE, "expired_provider_token", times=1)
    result = app_pushes.send_alert(DEVICE, title="Points", body="+12", data={},
                                   topic=APP_TOPIC)
    refused, accepted = apple.requests
    assert (refused.status, refused.reason, accepted.status) == (
        403, "ExpiredProviderToken", 200)
    assert result == PushResult("ok", provider_id=accepted.apns_id)
    assert bearer(refused) != bearer(accepted) == signer.token()


def test_apns_expired_provider_token_twice_fails_after_one_retry(apple, app_pushes):
    apple.answer(DEVICE, "expired_provider_token")
    result = app_pushes.send(DEVICE, {}, topic=APP_TOPIC)
    assert result == PushResult("failed", "APNs 403 ExpiredProviderToken")
    assert [request.reason for request in apple.requests] == ["ExpiredProviderToken"] * 2


def test_apns_token_older_than_an_hour_by_apples_clock_is_refused(apple, files, apple_key,
                                                                  clock):
    late_signer = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(apple_key), clock=Clock(clock.moment))
    clock.advance(minutes=61)
    with ApnsClient(apple.url, signer=late_signer, ca_file=files.ca_file) as late:
        result = late.send(DEVICE, {}, topic=APP_TOPIC)
    assert result == PushResult("failed", "APNs 403 ExpiredProviderToken")
    assert [request.reason for request in apple.requests] == ["ExpiredProviderToken"] * 2


def test_apns_token_signed_by_another_key_is_refused_without_retry(apple, files, clock):
    stranger = ApnsTokenSigner(TEAM, KEY_ID, pkcs8(ec.generate_private_key(ec.SECP256R1())),
                               clock=clock)
    with ApnsClient(apple.url, signer=stranger, ca_file=files.ca_file) as client:
        result = client.send(DEVICE, {}, topic=APP_TOPIC)
    assert result == PushResult("failed", "APNs 403 InvalidProviderToken")
    assert len(apple.requests) == 1


def test_apns_token_of_another_team_is_refused(apple, files, apple_key, clock):
    other_team = ApnsTokenSigner("OTHERTEAM1", KEY_ID, pkcs8(apple_key), clock=clock)
    with ApnsClient(apple.url, signer=other_team, ca_file=files.ca_file) as client:
        assert client.send(DEVICE, {}, topic=APP_TOPIC) == \
            PushResult("failed", "APNs 403 InvalidProviderToken")


def test_apns_push_without_a_token_is_refused(apple, files):
    certificate = (files.pass_certificate, files.pass_key, None)
    with ApnsClient(apple.url, client_certificate=certificate, ca_file=files.ca_file) as client:
        assert client.send(DEVICE, {}, topic=APP_TOPIC) == \
            PushResult("failed", "APNs 403 MissingProviderToken")


@pytest.mark.parametrize("answer, detail", [
    ("unregistered", "APNs 410 Unregistered"),
    ("bad_token", "APNs 400 BadDeviceToken"),
    ("not_for_topic", "APNs 400 DeviceTokenNotForTopic"),
])
def test_apns_device_token_apple_no_longer_knows_is_dead(apple, app_pushes, answer, detail):
    apple.answer(DEVICE, answer)
    assert app_pushes.send(DEVICE, {}, topic=APP_TOPIC) == PushResult("dead", detail)


def test_apns_device_token_cannot_leave_its_path(apple, app_pushes):
    assert app_pushes.send("../../2/x", {}, topic=APP_TOPIC) == \
        PushResult("dead", "APNs 400 BadDeviceToken")
    assert apple.requests[0].path == "/3/device/..%2F..%2F2%2Fx"


def test_apns_client_takes_exactly_one_way_to_authenticate(signer, files):
    certificate = (files.pass_certificate, files.pass_key, None)
    for ways in ({}, {"signer": signer, "client_certificate": certificate}):
        with pytest.raises(ValueError, match="^an APNs client takes exactly one of a signer"):
            ApnsClient("https://127.0.0.1:1", **ways)


def test_apns_missing_ca_file_says_which_setting_to_fix(signer, tmp_path: Path):
    with pytest.raises(ApnsCredentialError, match=r"^the CA file .*ca\.pem cannot be used .*"
                                                  r": \[push\] ca_file \(LOYALTY_PUSH__CA_FILE\)"):
        ApnsClient("https://127.0.0.1:1", signer=signer, ca_file=str(tmp_path / "ca.pem"))


def test_apns_unavailable_is_retried_after_apples_retry_after(apple, app_pushes):
    apple.answer(DEVICE, "unavailable", times=1, retry_after=30)
    assert app_pushes.send(DEVICE, {}, topic=APP_TOPIC) == \
        PushResult("retry", "APNs 503 ServiceUnavailable", retry_after=30.0)
    assert app_pushes.send(DEVICE, {}, topic=APP_TOPIC).status == "ok"


@pytest.mark.parametrize("answer, detail", [
    ("throttled", "APNs 429 TooManyRequests"),
    ("shutdown", "APNs 503 Shutdown"),
])
def test_apns_busy_answers_are_retried_at_the_callers_pace(apple, app_pushes, answer, detail):
    apple.answer(DEVICE, answer)
    assert app_pushes.send(DEVICE, {}, topic=APP_TOPIC) == PushResult("retry", detail)


def test_apns_other_refusal_fails_with_apples_reason(apple, app_pushes):
    assert app_pushes.send(DEVICE, {}, topic="") == PushResult("failed", "APNs 400 MissingTopic")


def test_apns_unreachable_server_is_retried(files, signer):
    with FakeApns(files.server_certificate, files.server_key) as gone:
        pass
    with ApnsClient(gone.url, signer=signer, ca_file=files.ca_file) as client:
        result = client.send(DEVICE, {}, topic=APP_TOPIC)
    assert result.status == "retry"
    assert result.detail.startswith("network: ConnectError: ")


def test_apns_server_certificate_not_trusted_fails(apple, signer):
    with ApnsClient(apple.url, signer=signer) as client:
        assert client.send(DEVICE, {}, topic=APP_TOPIC) == PushResult(
            "failed", "APNs TLS refused a certificate: CERTIFICATE_VERIFY_FAILED")
    assert apple.requests == []


def test_apns_pass_update_goes_with_the_pass_certificate(wallet_apple, files):
    certificate = (files.pass_certificate, files.pass_key, None)
    with ApnsClient(wallet_apple.url, client_certificate=certificate,
                    ca_file=files.ca_file) as wallet:
        result = wallet.send_pass_update(DEVICE, pass_type_id=PASS_TYPE_ID)
    [request] = wallet_apple.requests
    assert result == PushResult("ok", provider_id=request.apns_id)
    assert request.client_subject == f"O=pos-loyalty tests,CN={PASS_TYPE_ID}"
    assert request.client_subject == files.pass_issued.certificate.subject.rfc4514_string()
    assert (request.path, request.body) == (f"/3/device/{DEVICE}", {})
    assert (request.headers["apns-topic"], request.headers["apns-push-type"],
            request.headers["apns-priority"]) == (PASS_TYPE_ID, "background", "5")
    assert "authorization" not in request.headers


def test_apns_pass_key_with_a_password_is_opened(wallet_apple, files, tmp_path: Path):
    locked_key = tmp_path / "pass-locked.key"
    locked_key.write_bytes(pkcs8(files.pass_issued.key, password=b"wallet secret"))
    certificate = (files.pass_certificate, str(locked_key), "wallet secret")
    with ApnsClient(wallet_apple.url, client_certificate=certificate,
                    ca_file=files.ca_file) as wallet:
        assert wallet.send_pass_update(DEVICE, pass_type_id=PASS_TYPE_ID).status == "ok"
    assert wallet_apple.requests[0].client_subject == f"O=pos-loyalty tests,CN={PASS_TYPE_ID}"


def test_apns_connection_without_client_certificate_fails_in_pass_mode(wallet_apple, files,
                                                                       signer):
    """Failed, not retry: the TLS alert says the certificate is missing, which no later try
    with the same settings mends; the operator must fix the configuration."""
    with ApnsClient(wallet_apple.url, signer=signer, ca_file=files.ca_file) as client:
        result = client.send_pass_update(DEVICE, pass_type_id=PASS_TYPE_ID)
    assert result == PushResult(
        "failed", "APNs TLS refused a certificate: TLSV13_ALERT_CERTIFICATE_REQUIRED")
    assert wallet_apple.requests == []
    [refusal] = wallet_apple.refusals(1)
    assert refusal.startswith("TLS handshake: [SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE]")


def test_apns_client_certificate_of_another_ca_fails_in_pass_mode(wallet_apple, files,
                                                                  tmp_path: Path):
    stranger_certificate, stranger_key = issue(make_ca("another CA"), PASS_TYPE_ID,
                                               client=True).write(tmp_path, "stranger")
    certificate = (str(stranger_certificate), str(stranger_key), None)
    with ApnsClient(wallet_apple.url, client_certificate=certificate,
                    ca_file=files.ca_file) as client:
        result = client.send_pass_update(DEVICE, pass_type_id=PASS_TYPE_ID)
    assert result == PushResult("failed", "APNs TLS refused a certificate: TLSV1_ALERT_UNKNOWN_CA")
    assert wallet_apple.requests == []


@pytest.fixture
def app_environment(apple, apple_key, files, tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / f"AuthKey_{KEY_ID}.p8"
    key_file.write_bytes(pkcs8(apple_key))
    return {"LOYALTY_PUSH__APNS_TEAM_ID": TEAM, "LOYALTY_PUSH__APNS_KEY_ID": KEY_ID,
            "LOYALTY_PUSH__APNS_KEY_FILE": str(key_file),
            "LOYALTY_PUSH__APNS_TOPIC": APP_TOPIC, "LOYALTY_PUSH__APNS_BASE_URL": apple.url,
            "LOYALTY_PUSH__APNS_TOKEN_REFRESH_MINUTES": "30",
            "LOYALTY_PUSH__TIMEOUT_SECONDS": "4", "LOYALTY_PUSH__CA_FILE": files.ca_file}


@pytest.fixture
def wallet_environment(wallet_apple, files) -> dict[str, str]:
    return {"LOYALTY_WALLET__APPLE_PASS_CERTIFICATE_FILE": files.pass_certificate,
            "LOYALTY_WALLET__APPLE_PASS_KEY_FILE": files.pass_key,
            "LOYALTY_WALLET__APPLE_APNS_BASE_URL": wallet_apple.url,
            "LOYALTY_WALLET__APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
            "LOYALTY_PUSH__CA_FILE": files.ca_file}


def test_apns_default_settings_build_no_client():
    settings = load_settings(environ={})
    assert make_app_client(settings["push"]) is None
    assert make_pass_client(settings["wallet"], settings["push"]) is None


@pytest.mark.parametrize("unset", APP_SETTINGS)
def test_apns_app_client_needs_team_key_id_key_file_and_topic(app_environment, unset):
    del app_environment[f"LOYALTY_PUSH__{unset}"]
    assert make_app_client(load_settings(environ=app_environment)["push"]) is None


def test_apns_app_client_from_environment_pushes_to_apple(app_environment, apple, clock):
    push = load_settings(environ=app_environment)["push"]
    with make_app_client(push, clock=clock) as client:
        result = client.send_alert(DEVICE, title="Points", body="+12", data={},
                                   topic=push["apns_topic"])
        assert client.signer.refresh == dt.timedelta(minutes=30)
        assert client.http.timeout.read == 4
    [request] = apple.requests
    assert result == PushResult("ok", provider_id=request.apns_id)
    assert request.headers["apns-topic"] == APP_TOPIC


def test_apns_all_digit_team_id_from_environment_stays_text(app_environment, clock):
    app_environment["LOYALTY_PUSH__APNS_TEAM_ID"] = "1234567890"
    with make_app_client(load_settings(environ=app_environment)["push"],
                         clock=clock) as client:
        assert client.signer.team_id == "1234567890"


@pytest.mark.parametrize("unset", ["APPLE_PASS_CERTIFICATE_FILE", "APPLE_PASS_KEY_FILE",
                                   "APPLE_PASS_TYPE_ID"])
def test_apns_pass_client_needs_certificate_key_and_pass_type(wallet_environment, unset):
    del wallet_environment[f"LOYALTY_WALLET__{unset}"]
    settings = load_settings(environ=wallet_environment)
    assert make_pass_client(settings["wallet"], settings["push"]) is None


def test_apns_pass_client_from_environment_pushes_with_the_pass_certificate(
        wallet_environment, wallet_apple, files):
    settings = load_settings(environ=wallet_environment)
    with make_pass_client(settings["wallet"], settings["push"]) as client:
        result = client.send_pass_update(
            DEVICE, pass_type_id=settings["wallet"]["apple_pass_type_id"])
    [request] = wallet_apple.requests
    assert result == PushResult("ok", provider_id=request.apns_id)
    assert request.client_subject == files.pass_issued.certificate.subject.rfc4514_string()


def test_apns_pass_client_with_a_missing_certificate_file_says_what_to_fix(
        wallet_environment, tmp_path: Path):
    missing = str(tmp_path / "pass.pem")
    wallet_environment["LOYALTY_WALLET__APPLE_PASS_CERTIFICATE_FILE"] = missing
    settings = load_settings(environ=wallet_environment)
    with pytest.raises(ApnsCredentialError) as raised:
        make_pass_client(settings["wallet"], settings["push"])
    assert str(raised.value).startswith(f"the pass certificate {missing} with key ")
    assert str(raised.value).endswith(
        ": [wallet] apple_pass_certificate_file, apple_pass_key_file and "
        "apple_pass_key_password must name the PEM files of the Pass Type ID certificate")
