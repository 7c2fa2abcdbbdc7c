"""A balance change reaches the customer by push when one of their phones takes it, by SMS
otherwise, through the outbox and the worker (FCM answered by a local fake Google)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from google_keys import FCM_EMAIL, PROJECT_ID, trusted_key
from pos_loyalty import accounts, devices
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, OutboxMessage, PushDevice
from pos_loyalty.notify.channels import PUSH
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.notify.push_sender import PushSender
from pos_loyalty.notify.senders import ConsoleSender
from pos_loyalty.notify.worker import process_round

PIXEL = "fcm-token-of-camilles-pixel"
OLD_PIXEL = "fcm-token-of-a-phone-long-gone"


@pytest.fixture
def google(app, shop, tmp_path: Path) -> Iterator[FakeGoogle]:
    """FCM configured for the demo program, and no quiet hours (a sale at any test hour)."""
    with FakeGoogle() as fake:
        key = trusted_key(fake, tmp_path, FCM_EMAIL)
        app.config["LOYALTY"]["push"].update(fcm_project_id=PROJECT_ID,
                                             fcm_service_account_file=str(key.path),
                                             fcm_api_base_url=fake.url)
        app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
        yield fake


def account_of(shop, card_number: str) -> Account:
    return run_in_transaction(lambda: accounts.account_of_card(
        accounts.find_card(shop.program, card_number)))


def with_phone(shop, card_number: str, *tokens: str, channel: str = "auto") -> int:
    account = account_of(shop, card_number)

    def register() -> None:
        for token in tokens:
            devices.register_device(shop.program, account, None, "android", token, "3.2.0",
                                    shop.now)
        db.session.get(Account, account.id).notify_channel = channel
    run_in_transaction(register)
    return account.id


def rows(account_id: int) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return [(row.channel, row.kind, row.status) for row in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.account_id == account_id)
        .order_by(OutboxMessage.id))]


def send_round():
    sender = PushSender()
    try:
        return process_round(ConsoleSender(), channels={PUSH: sender})
    finally:
        sender.close()


def test_a_sale_pushes_to_the_customer_s_phone_instead_of_a_paid_sms(shop, google):
    card = shop.customer(first_name="Camille")
    account_id = with_phone(shop, card, PIXEL)
    shop.sell(card, total_minor=2500)
    assert rows(account_id) == [("push", "balance", "queued")]
    report = send_round()
    assert (report.sent, report.fell_back) == (1, 0)
    assert rows(account_id) == [("push", "balance", "sent")]
    [message] = google.messages
    assert message["token"] == PIXEL
    assert message["notification"]["title"] == "Demo Boulangerie"
    assert "25" in message["notification"]["body"]
    assert message["data"]["kind"] == "balance" and message["data"]["balance"] == "25"
    assert message["android"]["collapse_key"] == f"loyalty-{message['data']['outbox_id']}"


def test_without_a_phone_the_sale_texts_as_before(shop, google):
    card = shop.customer()
    account_id = account_of(shop, card).id
    shop.sell(card, total_minor=2500)
    assert rows(account_id) == [("sms", "balance", "queued")]


def test_both_pushes_and_texts_and_none_says_nothing(shop, google):
    both, silent = shop.customer(), shop.customer()
    both_id = with_phone(shop, both, PIXEL, channel="both")
    silent_id = with_phone(shop, silent, OLD_PIXEL, channel="none")
    shop.sell(both, total_minor=1000)
    shop.sell(silent, total_minor=1000)
    assert sorted(rows(both_id)) == [("push", "balance", "queued"), ("sms", "balance", "queued")]
    assert rows(silent_id) == []


def test_a_phone_whose_app_is_gone_is_forgotten_and_the_sms_goes_instead(shop, google, capsys):
    card = shop.customer()
    account_id = with_phone(shop, card, OLD_PIXEL)
    google.fcm_answer(OLD_PIXEL, "unregistered")
    shop.sell(card, total_minor=2500)
    report = send_round()
    assert report.fell_back == 1
    assert rows(account_id) == [("sms", "balance", "queued")]
    db.session.expire_all()
    assert db.session.get(Account, account_id).push_devices == 0
    assert db.session.scalars(select(PushDevice)).all() == []
    send_round()
    assert rows(account_id) == [("sms", "balance", "sent")]
    assert "+25 points" in capsys.readouterr().out


def test_one_phone_that_takes_it_is_enough_and_the_dead_one_is_dropped(shop, google):
    card = shop.customer()
    account_id = with_phone(shop, card, OLD_PIXEL, PIXEL)
    google.fcm_answer(OLD_PIXEL, "unregistered")
    shop.sell(card, total_minor=2500)
    assert send_round().sent == 1
    assert rows(account_id) == [("push", "balance", "sent")]
    assert [device.token for device in devices_of(account_id)] == [PIXEL]


def devices_of(account_id: int) -> list[PushDevice]:
    db.session.expire_all()
    return run_in_transaction(lambda: devices.devices_of(account_id))


def test_fcm_unavailable_retries_later_and_then_sends(shop, google):
    card = shop.customer()
    account_id = with_phone(shop, card, PIXEL)
    google.fcm_answer(PIXEL, "unavailable", times=1)
    shop.sell(card, total_minor=2500)
    assert send_round().retried == 1
    db.session.expire_all()
    row = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.account_id == account_id)).one()
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.send_after >= shop.now
    shop.now = row.send_after
    assert send_round().sent == 1
    assert rows(account_id) == [("push", "balance", "sent")]
    assert len(google.messages) == 1


def test_a_customer_who_chose_sms_since_gets_no_push(shop, google):
    card = shop.customer()
    account_id = with_phone(shop, card, PIXEL)
    shop.sell(card, total_minor=2500)
    run_in_transaction(lambda: setattr(db.session.get(Account, account_id),
                                       "notify_channel", "sms"))
    assert send_round().cancelled == 1
    assert rows(account_id) == [("push", "balance", "cancelled")]
    assert google.messages == []


def test_the_worker_refuses_to_start_on_push_settings_it_cannot_use(app, till, runner,
                                                                    tmp_path):
    app.config["LOYALTY"]["sms"].update(twilio_account_sid="AC" + "0" * 32,
                                        twilio_auth_token="secret-token",
                                        twilio_from="+15005550006")
    app.config["LOYALTY"]["push"].update(fcm_project_id=PROJECT_ID,
                                         fcm_service_account_file=str(tmp_path / "none.json"))
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 2
    assert "the push or wallet settings cannot be used" in result.output
    assert "program demo" in result.output and "none.json" in result.output
