"""Balance SMS are written with the ledger change, in the customer's language, unless opted out."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pos_loyalty import accounts, adjustments, notify
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, OutboxMessage, PointLot


@pytest.fixture(autouse=True)
def no_quiet_hours(app):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def account_of(card_number: str, till) -> Account:
    card = accounts.find_card(till.program(), card_number)
    return db.session.get(Account, card.account_id)


def test_sale_writes_the_balance_sms_with_the_sale(till):
    card = till.customer(points=1000)
    reply = till.sell(card, total_minor=2000)
    assert reply.status_code == 201
    message = outbox("balance")[-1]
    assert message.body == ("Merci ! +20 points chez Boulangerie Lyon. "
                            "Solde : 1 020 points (102,00 €).")
    assert (message.to_phone, message.status, message.segments, message.encoding) == \
        (till.last_phone, "queued", 1, "GSM-7")
    assert message.payload == {"change": 20, "balance": 1020, "store": "Boulangerie Lyon"}


def test_a_refused_sale_writes_no_sms(till):
    card = till.customer(points=50)
    before = len(outbox())
    reply = till.sell(card, total_minor=2000, redeem_points=500)
    assert reply.status_code == 422
    assert len(outbox()) == before


def test_a_sale_that_spends_and_earns_tells_both(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=2000, redeem_points=100)
    message = outbox("balance")[-1]
    assert message.body == ("Merci ! +10 points, 100 points utilisés chez Boulangerie Lyon. "
                            "Solde : 410 points (41,00 €).")
    assert (message.segments, message.encoding) == (1, "GSM-7")


def test_a_sale_paid_almost_all_in_points_still_tells_both(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=200, redeem_points=10)
    assert outbox("balance")[-1].body == ("Merci ! +1 points, 10 points utilisés chez "
                                          "Boulangerie Lyon. Solde : 491 points (49,10 €).")


def test_return_void_and_adjustment_each_write_an_sms(till):
    card = till.customer(points=100)
    sale_id = till.sell(card, total_minor=5000).get_json()["sale_id"]
    assert till.post(f"/sales/{sale_id}/returns", {"amount_minor": 2000},
                     key="return-1").status_code == 201
    assert till.post(f"/sales/{sale_id}/void", {}, key="void-1").status_code == 200
    bodies = [m.body for m in outbox("balance")]
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
    assert outbox("balance")[-1].body == ("Thank you! +1,250 points at Demo Boulangerie. "
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
    assert message.payload["change"] == 100 + 25 - 50 + 5
    assert message.body == "Merci ! +80 points chez Boulangerie Lyon. Solde : 80 points (8,00 €)."
    assert message.send_after > message.created_at


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
    assert outbox("balance")[-1].body == "Boulangerie Lyon : +15 pts, solde 15."


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