"""Balance SMS are written with the ledger change, as numbers, unless opted out; the worker
writes their text when it sends them, in the customer's language then."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty import accounts, adjustments, notify
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, OutboxMessage, PointLot
from pos_loyalty.notify.senders import SendResult
from pos_loyalty.notify.worker import process_round


@pytest.fixture(autouse=True)
def no_quiet_hours(app):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


class AcceptingSender:
    """Takes every SMS, as Twilio does; the texts are read back from the outbox."""

    def __init__(self) -> None:
        self.sids = itertools.count(1)

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        return SendResult(f"SM{next(self.sids)}", "queued")

    def close(self) -> None:
        pass


def sent(kind: str | None = None) -> list[OutboxMessage]:
    """The outbox once the worker has sent what is due, each row with the text it sent."""
    process_round(AcceptingSender())
    return outbox(kind)


def account_of(card_number: str, till) -> Account:
    card = accounts.find_card(till.program(), card_number)
    return db.session.get(Account, card.account_id)


def test_a_sale_writes_its_sms_as_numbers_with_the_sale(till):
    card = till.customer(points=1000)
    reply = till.sell(card, total_minor=2000)
    assert reply.status_code == 201
    message = outbox("balance")[-1]
    assert (message.to_phone, message.status, message.store_id) == \
        (till.last_phone, "queued", till.store_id)
    assert message.payload == {"change": 20, "balance": 1020, "store": "Boulangerie Lyon"}
    assert (message.body, message.segments, message.encoding) == (None, None, None)


def test_the_worker_writes_the_text_when_it_sends_it(till):
    card = till.customer(points=1000)
    till.sell(card, total_minor=2000)
    message = sent("balance")[-1]
    assert message.body == ("Merci ! +20 points chez Boulangerie Lyon. "
                            "Solde : 1 020 points (102,00 €).")
    assert (message.status, message.segments, message.encoding) == ("sent", 1, "GSM-7")


def test_a_customer_who_switches_language_before_the_send_gets_the_new_one(till):
    card = till.customer()
    till.sell(card, total_minor=2000)
    run_in_transaction(lambda: setattr(account_of(card, till), "locale", "en_GB"))
    assert sent("balance")[-1].body == ("Thank you! +20 points at Boulangerie Lyon. "
                                        "Balance: 20 points (€2.00).")


def test_a_refused_sale_writes_no_sms(till):
    card = till.customer(points=50)
    before = len(outbox())
    reply = till.sell(card, total_minor=2000, redeem_points=500)
    assert reply.status_code == 422
    assert len(outbox()) == before


def test_a_sale_that_spends_and_earns_tells_both(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=2000, redeem_points=100)
    assert outbox("balance")[-1].payload == {"change": -90, "balance": 410, "earned": 10,
                                             "spent": 100, "store": "Boulangerie Lyon"}
    message = sent("balance")[-1]
    assert message.body == ("Merci ! +10 points, 100 points utilisés chez Boulangerie Lyon. "
                            "Solde : 410 points (41,00 €).")
    assert (message.segments, message.encoding) == (1, "GSM-7")


def test_a_sale_paid_almost_all_in_points_still_tells_both(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=200, redeem_points=10)
    assert sent("balance")[-1].body == ("Merci ! +1 points, 10 points utilisés chez "
                                        "Boulangerie Lyon. Solde : 491 points (49,10 €).")


def test_return_void_and_adjustment_each_write_an_sms(till):
    card = till.customer(points=100)
    sale_id = till.sell(card, total_minor=5000).get_json()["sale_id"]
    assert till.post(f"/sales/{sale_id}/returns", {"amount_minor": 2000},
                     key="return-1").status_code == 201
    assert till.post(f"/sales/{sale_id}/void", {}, key="void-1").status_code == 200
    bodies = [m.body for m in sent("balance")]
    assert bodies == [
        "Merci ! +100 points chez Demo Boulangerie. Solde : 100 points (10,00 €).",
        "Merci ! +50 points chez Boulangerie Lyon. Solde : 150 points (15,00 €).",
        "-20 points chez Boulangerie Lyon. Solde : 130 points (13,00 €).",
        "-30 points chez Boulangerie Lyon. Solde : 100 points (10,00 €).",
    ]


def test_english_speaking_customer_gets_english(till):
    card = till.customer()
    run_in_transaction(lambda: setattr(account_of(card, till), "locale", "en_GB"))
    till.adjust(card, 1250)
    assert sent("balance")[-1].body == ("Thank you! +1,250 points at Demo Boulangerie. "
                                        "Balance: 1,250 points (€125.00).")


def test_opted_out_customer_and_customer_without_phone_get_nothing(till):
    opted_out, no_phone = till.customer(), till.customer()

    def set_up() -> None:
        account_of(opted_out, till).sms_opt_out = True
        account_of(no_phone, till).phone_e164 = None
    run_in_transaction(set_up)
    till.adjust(opted_out, 10)
    till.sell(no_phone, total_minor=1000)
    assert outbox() == []


def test_merge_window_sends_one_sms_with_the_final_balance(app, till):
    app.config["LOYALTY"]["sms"]["merge_window_seconds"] = 120
    card = till.customer()
    till.adjust(card, 100)
    till.sell(card, total_minor=2500)
    till.sell(card, total_minor=1000, redeem_points=50)
    [message] = outbox("balance")
    assert message.payload == {"change": 100 + 25 - 50 + 5, "balance": 80,
                               "store": "Boulangerie Lyon"}
    assert message.send_after > message.created_at
    app.extensions["pos_loyalty.clock"] = lambda: message.send_after
    [message] = sent("balance")
    assert message.body == "Merci ! +80 points chez Boulangerie Lyon. Solde : 80 points (8,00 €)."


def test_merged_changes_that_cancel_out_send_nothing(app, till):
    app.config["LOYALTY"]["sms"]["merge_window_seconds"] = 120
    card = till.customer()
    sale_id = till.sell(card, total_minor=2500).get_json()["sale_id"]
    till.post(f"/sales/{sale_id}/void", {}, key="void-merge")
    [message] = outbox("balance")
    assert message.status == "cancelled"


def test_program_can_override_a_template(app, till):
    def brand() -> None:
        till.program().branding = {"sms": {"templates": {"fr": {
            "credit": "{store} : +{points} pts, solde {balance}."}}}}
    run_in_transaction(brand)
    card = till.customer()
    till.sell(card, total_minor=1500)
    assert sent("balance")[-1].body == "Boulangerie Lyon : +15 pts, solde 15."


def test_a_template_that_cannot_be_filled_costs_the_sms_not_the_sale(till):
    def brand() -> None:
        till.program().branding = {"sms": {"templates": {"fr": {"credit": "+{points} {oops}"}}}}
    run_in_transaction(brand)
    card = till.customer()
    assert till.sell(card, total_minor=1500).status_code == 201
    [message] = sent("balance")
    assert (message.status, message.body) == ("dead", None)
    assert message.last_error == "cannot write the text: KeyError('oops')"


def test_a_row_written_with_its_text_by_older_code_is_sent_as_it_is(till):
    card = till.customer()
    account_id = account_of(card, till).id
    run_in_transaction(lambda: notify.queue_message(
        till.program(), account_id, "balance", till.last_phone, "Merci ! +5 points (2026).",
        utcnow(), {"change": 5, "balance": 5, "store": None}))
    [message] = sent("balance")
    assert (message.status, message.body) == ("sent", "Merci ! +5 points (2026).")


def test_segments_are_counted_once_the_text_is_written(till):
    def brand() -> None:
        till.program().branding = {"sms": {"templates": {"fr": {
            "credit": "Bonnes fêtes ! +{points} points chez {store}. Solde : {balance} points "
                      "({value})."}}}}
    run_in_transaction(brand)
    card = till.customer()
    till.sell(card, total_minor=1500)
    assert (notify.sms_stats()["queued"], notify.sms_stats()["segments_sent"]) == (1, 0)
    [message] = sent("balance")
    assert (message.encoding, message.segments) == ("UCS-2", 2)  # ê, and 76 characters
    assert notify.sms_stats()["segments_sent"] == 2


def test_the_export_shows_an_sms_not_sent_yet_as_it_would_go_now(mobile: MobileApp, till):
    customer = mobile.register()
    till.sell(customer.card_number, total_minor=2000)
    exported = mobile.get("/me/export", customer.access_token).get_json()
    assert [(m["kind"], m["status"], m["body"]) for m in exported["sms"]] == [
        ("balance", "queued",
         "Merci ! +20 points chez Boulangerie Lyon. Solde : 20 points (2,00 €).")]


def test_erasure_blanks_and_cancels_an_sms_not_sent_yet(mobile: MobileApp, till):
    customer = mobile.register()
    till.sell(customer.card_number, total_minor=2000)
    assert mobile.call("DELETE", "/me", token=customer.access_token).status_code == 204
    [message] = outbox("balance")
    assert (message.status, message.to_phone, message.body, message.payload) == \
        ("cancelled", "", "", None)


def test_long_text_with_accents_beyond_gsm_is_counted_in_ucs2_segments(till):
    program = till.program()
    message = run_in_transaction(lambda: notify.queue_message(
        program, None, "otp", "+33600000001", "Votre code à usage unique : 123456. " + "ê" * 40,
        utcnow()))
    assert (message.encoding, message.segments) == ("UCS-2", 2)


def test_expiry_warning_is_queued_once_per_lot_before_the_points_expire(app, till, runner):
    # 00:30 on 22 December in Paris. The old lot expires twelve months after it was earned:
    # 31 December at 23:30 UTC, which is already 1 January in Paris.
    now = dt.datetime(2026, 12, 21, 23, 30)
    app.extensions["pos_loyalty.clock"] = lambda: now
    card = till.customer()
    program = till.program()
    run_in_transaction(lambda: adjustments.adjust_points(
        program, card, 300, "old points", "tests", dt.datetime(2025, 12, 31, 23, 30)))
    run_in_transaction(lambda: adjustments.adjust_points(
        program, card, 40, "new points", "tests", now))
    result = runner.invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    [warning] = outbox("expiry")  # the 40 points expire in a year: no warning yet
    assert warning.payload == {"points": 300, "date": "2027-01-01", "balance": 340}
    [warning] = sent("expiry")
    assert warning.body == ("Demo Boulangerie : 300 points expirent le 1 janvier 2027. "
                            "Solde : 340 points (34,00 €).")
    lot = db.session.scalar(select(PointLot).where(PointLot.points == 300))
    assert lot.expiry_warned_at == now
    assert runner.invoke(args=["expire"]).exit_code == 0
    assert len(outbox("expiry")) == 1


def test_twilio_variables_fill_the_sms_settings():
    from pos_loyalty.config import load_settings
    settings = load_settings(environ={"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "1234",
                                      "LOYALTY_TWILIO_API_BASE_URL": "http://127.0.0.1:1"})
    sms = settings["sms"]
    assert (sms["twilio_account_sid"], sms["twilio_auth_token"],
            sms["twilio_api_base_url"]) == ("AC1", "1234", "http://127.0.0.1:1")