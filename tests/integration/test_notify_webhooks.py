"""Twilio's callbacks: accepted only when signed with the account's token, for the public URL."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from pos_loyalty import notify
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, OutboxMessage
from pos_loyalty.notify.senders import SendResult
from pos_loyalty.notify.worker import process_round

TOKEN = "secret-token"
PUBLIC = "https://loyalty.example.com"


@pytest.fixture(autouse=True)
def twilio_settings(app):
    app.config["LOYALTY"]["sms"].update(
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token=TOKEN, twilio_from="+15005550006",
        public_base_url=PUBLIC, quiet_hours_start="", quiet_hours_end="")


def signed_post(client, path: str, form: dict[str, str], url: str | None = None,
                token: str = TOKEN, headers: dict[str, str] | None = None):
    signature = RequestValidator(token).compute_signature(url or PUBLIC + path, form)
    return client.post(path, data=form,
                       headers={"X-Twilio-Signature": signature, **(headers or {})})


def sent_message(till) -> OutboxMessage:
    def write() -> OutboxMessage:
        message = notify.queue_message(till.program(), None, "balance", till.last_phone,
                                       "hello", utcnow())
        message.status, message.provider_sid, message.sent_at = "sent", "SM123", utcnow()
        return message
    return run_in_transaction(write)


def reload(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def customer_account(till) -> Account:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.phone_e164 == till.last_phone))


def test_signed_status_callback_marks_the_sms_delivered(client, till):
    till.customer()
    message = sent_message(till)
    path = f"/webhooks/twilio/status?outbox_id={message.id}"
    reply = signed_post(client, path, {"MessageSid": "SM123", "MessageStatus": "delivered",
                                       "AccountSid": "AC" + "0" * 32})
    assert reply.status_code == 204
    stored = reload(message.id)
    assert (stored.status, stored.provider_status) == ("delivered", "delivered")
    assert stored.delivered_at is not None


def test_status_callback_never_moves_a_status_backwards(client, till):
    till.customer()
    message = sent_message(till)
    path = f"/webhooks/twilio/status?outbox_id={message.id}"
    signed_post(client, path, {"MessageSid": "SM123", "MessageStatus": "undelivered",
                               "ErrorCode": "30003"})
    signed_post(client, path, {"MessageSid": "SM123", "MessageStatus": "sent"})
    stored = reload(message.id)
    assert (stored.status, stored.error_code) == ("undelivered", 30003)


def test_status_callback_found_by_sid_without_outbox_id(client, till):
    till.customer()
    message = sent_message(till)
    reply = signed_post(client, "/webhooks/twilio/status",
                        {"MessageSid": "SM123", "MessageStatus": "failed"})
    assert reply.status_code == 204
    assert reload(message.id).status == "failed"


@pytest.mark.parametrize("how", ["no signature", "wrong token", "other URL", "changed form"])
def test_unsigned_or_tampered_callbacks_are_refused(client, till, how):
    till.customer()
    message = sent_message(till)
    path = f"/webhooks/twilio/status?outbox_id={message.id}"
    form = {"MessageSid": "SM123", "MessageStatus": "delivered"}
    if how == "no signature":
        reply = client.post(path, data=form)
    elif how == "wrong token":
        reply = signed_post(client, path, form, token="not-the-token")
    elif how == "other URL":
        reply = signed_post(client, path, form, url=f"{PUBLIC}/webhooks/twilio/status?outbox_id=9")
    else:
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
        reply = client.post(path, data={**form, "MessageStatus": "failed"},
                            headers={"X-Twilio-Signature": signature})
    assert reply.status_code == 403
    assert reply.get_json()["error"]["code"] == "forbidden"
    assert reload(message.id).status == "sent"


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(app, client, till):
    """[service] trusted_proxies = 0: X-Forwarded-* are the client's own word; the signature
    must cover the URL the request came to (tests/integration/test_proxies.py has the
    proxy's side)."""
    app.config["LOYALTY"]["sms"]["public_base_url"] = ""
    till.customer()
    message = sent_message(till)
    path = f"/webhooks/twilio/status?outbox_id={message.id}"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.org",
                 "X-Forwarded-Prefix": "/loyalty"}
    form = {"MessageSid": "SM123", "MessageStatus": "delivered"}
    forged = signed_post(client, path, form, url=f"https://shop.example.org/loyalty{path}",
                         headers=forwarded)
    assert forged.status_code == 403
    reply = signed_post(client, path, form, url=f"http://localhost{path}", headers=forwarded)
    assert reply.status_code == 204
    assert reload(message.id).status == "delivered"


def test_without_a_twilio_token_webhooks_refuse_everything(app, client):
    app.config["LOYALTY"]["sms"]["twilio_auth_token"] = ""
    reply = signed_post(client, "/webhooks/twilio/inbound", {"From": "+33600000000",
                                                             "Body": "SOLDE"}, token="x")
    assert reply.status_code == 403


@pytest.mark.parametrize("word", ["SOLDE", "balance", " Solde "])
def test_texting_balance_gets_the_balance_back(client, till, word):
    till.customer(points=1250)
    reply = signed_post(client, "/webhooks/twilio/inbound",
                        {"From": till.last_phone, "Body": word, "To": "+15005550006"})
    assert reply.status_code == 200
    assert reply.mimetype == "application/xml"
    assert reply.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        "Demo Boulangerie : votre solde est de 1 250 points (125,00 €)."
        "</Message></Response>")


def test_unknown_sender_gets_the_help_text(client, till):
    reply = signed_post(client, "/webhooks/twilio/inbound",
                        {"From": "+33699999999", "Body": "SOLDE"})
    assert "envoyez SOLDE pour recevoir votre solde" in reply.get_data(as_text=True)


def test_stop_and_start_follow_twilio_opt_out(client, till):
    card = till.customer()
    reply = signed_post(client, "/webhooks/twilio/inbound",
                        {"From": till.last_phone, "Body": "STOP", "OptOutType": "STOP"})
    assert reply.get_data(as_text=True).endswith("<Response />")
    assert customer_account(till).sms_opt_out is True
    till.adjust(card, 10)
    assert db.session.scalar(select(OutboxMessage.id)) is None
    signed_post(client, "/webhooks/twilio/inbound", {"From": till.last_phone, "Body": "start"})
    assert customer_account(till).sms_opt_out is False


def test_french_arret_with_accent_opts_out_too(client, till):
    till.customer()
    signed_post(client, "/webhooks/twilio/inbound", {"From": till.last_phone, "Body": "Arrêt"})
    assert customer_account(till).sms_opt_out is True


def test_stop_cancels_balance_sms_not_sent_yet(client, till):
    card = till.customer()
    till.adjust(card, 10)
    signed_post(client, "/webhooks/twilio/inbound", {"From": till.last_phone, "Body": "STOP"})
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMessage.status)) == "cancelled"


def test_a_callback_that_beats_the_worker_is_kept(client, till):
    """Twilio may call back before the worker has recorded the send: 'delivered' stays."""
    class CallsBackAtOnce:
        def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
            path = status_callback.removeprefix(PUBLIC)
            assert signed_post(client, path, {"MessageSid": "SM9", "MessageStatus": "delivered"}
                               ).status_code == 204
            return SendResult("SM9", "queued")

        def close(self) -> None:
            pass

    till.customer()
    message = run_in_transaction(lambda: notify.queue_message(
        till.program(), None, "balance", till.last_phone, "hello", utcnow()))
    assert process_round(CallsBackAtOnce()).sent == 1
    stored = reload(message.id)
    assert (stored.status, stored.provider_sid, stored.locked_until) == ("delivered", "SM9", None)
