"""The worker sends the outbox through the real twilio library to a local fake Twilio."""
from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from pos_loyalty import notify
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, OutboxMessage
from pos_loyalty.notify.fake_twilio import FakeTwilio
from pos_loyalty.notify.senders import ConsoleSender, SendResult, TwilioSender, make_sender
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.notify.worker import process_round, run_worker, start_background_worker

from clocks import Clock

ACCOUNT_SID = "AC" + "0" * 32
PUBLIC = "https://loyalty.example.com"
# Where the core's clock starts: 13:00 in Paris, whatever the hour the tests run at.
MIDDAY = dt.datetime(2026, 1, 15, 12, 0)


@pytest.fixture
def clock(app) -> Clock:
    frozen = Clock(MIDDAY)
    app.extensions["pos_loyalty.clock"] = frozen
    return frozen


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def twilio(app, fake_twilio, clock) -> Iterator[TwilioSender]:
    app.config["LOYALTY"]["sms"].update(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token="secret-token",
        twilio_from="+15005550006", twilio_api_base_url=fake_twilio.url, public_base_url=PUBLIC,
        quiet_hours_start="", quiet_hours_end="")
    sender = make_sender(sms_config())
    assert isinstance(sender, TwilioSender)
    yield sender
    sender.close()


def queue(till, count: int = 1, kind: str = "balance") -> list[int]:
    """`count` SMS to the till's last customer, each with its own text."""
    program, customer = till.program(), account(till)
    moment = till.app.extensions.get("pos_loyalty.clock", utcnow)()
    return [run_in_transaction(lambda i=i: notify.queue_message(
        program, customer.id, kind, till.last_phone, f"message {i}", moment)).id
        for i in range(count)]


def rows() -> dict[int, OutboxMessage]:
    db.session.expire_all()
    return {m.id: m for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))}


def account(till) -> Account:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.phone_e164 == till.last_phone))


def test_worker_sends_each_row_once_through_twilio(till, twilio, fake_twilio):
    card = till.customer()
    till.sell(card, total_minor=1500)
    report = process_round(twilio)
    assert (report.claimed, report.sent) == (1, 1)
    [request] = fake_twilio.messages()
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.authorization == "Basic " + base64.b64encode(
        f"{ACCOUNT_SID}:secret-token".encode()).decode()
    [message] = rows().values()
    assert request.form == {
        "To": till.last_phone, "From": "+15005550006", "Body": message.body,
        "StatusCallback": f"{PUBLIC}/webhooks/twilio/status?outbox_id={message.id}"}
    assert (message.status, message.attempts) == ("sent", 1)
    assert message.provider_sid.startswith("SM") and message.sent_at is not None
    assert process_round(twilio).claimed == 0
    assert len(fake_twilio.messages()) == 1


def test_messaging_service_sid_is_used_when_configured(app, till, twilio, fake_twilio):
    app.config["LOYALTY"]["sms"]["twilio_messaging_service_sid"] = "MG" + "1" * 32
    sender = make_sender(sms_config())
    till.customer()
    queue(till)
    process_round(sender)
    sender.close()
    form = fake_twilio.messages()[0].form
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form


@pytest.mark.parametrize("answer", ["rate_limited", "server_error"])
def test_429_and_5xx_are_retried_later_with_backoff(till, twilio, fake_twilio, clock, answer):
    till.customer()
    [row_id] = queue(till)
    fake_twilio.answer(till.last_phone, answer, answer)
    assert process_round(twilio).retried == 1
    first = rows()[row_id]
    assert first.status == "queued" and first.error_code in (20429, 20500)
    first_wait = first.send_after - clock.moment
    assert dt.timedelta(seconds=15) <= first_wait <= dt.timedelta(seconds=30)
    assert process_round(twilio).claimed == 0  # not due yet
    clock.moment = first.send_after
    assert process_round(twilio).retried == 1
    second_wait = rows()[row_id].send_after - clock.moment
    assert dt.timedelta(seconds=30) <= second_wait <= dt.timedelta(seconds=60)
    clock.moment = rows()[row_id].send_after
    assert process_round(twilio).sent == 1
    assert (rows()[row_id].status, rows()[row_id].attempts) == ("sent", 3)


def test_a_retry_sends_the_text_written_for_the_first_try(till, twilio, fake_twilio, clock):
    card = till.customer()
    till.sell(card, total_minor=1500)
    fake_twilio.answer(till.last_phone, "server_error")
    assert process_round(twilio).retried == 1
    run_in_transaction(lambda: setattr(account(till), "locale", "en_GB"))
    [row] = rows().values()
    clock.moment = row.send_after
    assert process_round(twilio).sent == 1
    assert fake_twilio.bodies() == ["Merci ! +15 points chez Boulangerie Lyon. "
                                    "Solde : 15 points (1,50 €)."] * 2


def test_a_row_is_dead_once_its_attempts_are_used_up(app, till, twilio, fake_twilio, clock):
    app.config["LOYALTY"]["sms"]["max_attempts"] = 3
    till.customer()
    [row_id] = queue(till)
    fake_twilio.answer(till.last_phone, *["server_error"] * 5)
    for _ in range(3):
        process_round(twilio)
        clock.advance(hours=1)
    assert process_round(twilio).claimed == 0
    assert (rows()[row_id].status, rows()[row_id].attempts) == ("dead", 3)
    assert len(fake_twilio.messages()) == 3


def test_network_errors_are_retried(app, till, clock):
    app.config["LOYALTY"]["sms"].update(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token="t", twilio_from="+15005550006",
        twilio_api_base_url="http://127.0.0.1:9", twilio_timeout_seconds=2,
        quiet_hours_start="")
    sender = make_sender(sms_config())
    till.customer()
    [row_id] = queue(till)
    assert process_round(sender).retried == 1
    sender.close()
    assert rows()[row_id].last_error.startswith("network:")


def test_21610_opts_the_customer_out_and_drops_their_queued_sms(till, twilio, fake_twilio):
    card = till.customer()
    first, second = queue(till, 2)
    fake_twilio.answer(till.last_phone, "opted_out")
    report = process_round(twilio)
    assert report.outcomes[first] == "dead"
    assert report.outcomes[second] == "cancelled"  # checked again at claim time
    assert account(till).sms_opt_out is True
    assert rows()[first].error_code == 21610
    otp = queue(till, 1, kind="otp")[0]  # (a code queued with them would have gone first)
    assert process_round(twilio).outcomes[otp] == "sent"  # codes still go: Twilio refuses
    till.sell(card, total_minor=1000)
    assert len(rows()) == 3  # no new balance SMS


@pytest.mark.parametrize("answer, code", [("invalid", 21211), ("not_mobile", 21614)])
def test_invalid_numbers_are_dead_at_once_and_flagged(till, twilio, fake_twilio, answer, code):
    till.customer()
    [row_id] = queue(till)
    fake_twilio.answer(till.last_phone, answer)
    assert process_round(twilio).dead == 1
    assert (rows()[row_id].status, rows()[row_id].error_code) == ("dead", code)
    assert account(till).sms_invalid is True
    assert len(fake_twilio.messages()) == 1


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except-clause catches it."""


class DiesAfterSending:
    def __init__(self, sender: TwilioSender, die_on: int) -> None:
        self.sender, self.die_on, self.sent = sender, die_on, 0

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        result = self.sender.send(to, body, status_callback)
        self.sent += 1
        if self.sent == self.die_on:
            raise WorkerKilled()
        return result

    def close(self) -> None:
        pass


def test_worker_killed_mid_batch_loses_nothing_and_resends_only_the_sms_in_flight(
        till, twilio, fake_twilio, clock):
    till.customer()
    ids = queue(till, 5)
    with pytest.raises(WorkerKilled):
        process_round(DiesAfterSending(twilio, die_on=3))
    db.session.rollback()
    statuses = {i: rows()[i].status for i in ids}
    assert list(statuses.values()) == ["sent", "sent", "sending", "sending", "sending"]
    assert process_round(twilio).claimed == 0  # leases still run
    clock.advance(seconds=sms_config()["lease_seconds"] + 1)
    assert process_round(twilio).sent == 3
    assert all(rows()[i].status == "sent" for i in ids)
    sends = Counter(fake_twilio.bodies())
    # Twilio had accepted "message 2" when the worker died, before the worker could record it:
    # that one goes twice (at-least-once); every other one exactly once.
    assert sends == {"message 0": 1, "message 1": 1, "message 2": 2, "message 3": 1,
                     "message 4": 1}


def test_concurrent_workers_send_each_row_once(app, till, twilio, fake_twilio):
    till.customer()
    ids = queue(till, 30)
    app.config["LOYALTY"]["sms"]["worker_batch_size"] = 4
    stop = threading.Event()
    senders = [make_sender(sms_config()) for _ in range(3)]
    threads = [threading.Thread(target=run_worker, args=(app, sender, stop),
                                kwargs={"poll_seconds": 0.05}) for sender in senders]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(fake_twilio.messages()) < len(ids) and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    for sender in senders:
        sender.close()
    assert not any(thread.is_alive() for thread in threads)
    assert Counter(fake_twilio.bodies()) == {f"message {i}": 1 for i in range(30)}
    assert {m.status for m in rows().values()} == {"sent"}


def test_quiet_hours_hold_balance_sms_until_morning_but_never_codes(app, till, twilio, clock):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="21:00", quiet_hours_end="08:00")
    card = till.customer()
    clock.moment = dt.datetime(2026, 1, 15, 21, 30)  # 22:30 in Paris (UTC+1 in winter)
    till.sell(card, total_minor=1500)
    otp = queue(till, 1, kind="otp")[0]
    report = process_round(twilio)
    assert report.outcomes == {otp: "sent"}
    balance = next(m for m in rows().values() if m.kind == "balance")
    morning = dt.datetime(2026, 1, 16, 7, 0)  # 08:00 in Paris
    assert (balance.status, balance.send_after) == ("queued", morning)
    clock.moment = morning - dt.timedelta(minutes=1)
    assert process_round(twilio).claimed == 0
    clock.moment = morning
    assert process_round(twilio).outcomes == {balance.id: "sent"}


def test_a_row_due_during_quiet_hours_is_put_back_not_sent(app, till, twilio, clock):
    till.customer()
    [row_id] = queue(till)  # written with quiet hours off
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="00:00", quiet_hours_end="23:59")
    report = process_round(twilio)
    assert report.outcomes == {row_id: "deferred"}
    assert (rows()[row_id].status, rows()[row_id].attempts) == ("queued", 0)


def test_stale_balance_sms_is_dead_not_sent(till, twilio, clock):
    till.customer()
    [row_id] = queue(till)
    clock.advance(hours=25)
    assert process_round(twilio).outcomes == {row_id: "dead"}
    assert rows()[row_id].last_error.startswith("stale")


CODE_TEXT = "Boulangerie Lyon: your code is 482913. It expires in 10 minutes."


def queue_code(till) -> int:
    program, customer = till.program(), account(till)
    moment = till.app.extensions.get("pos_loyalty.clock", utcnow)()
    return run_in_transaction(lambda: notify.queue_message(
        program, customer.id, "otp", till.last_phone, CODE_TEXT, moment)).id


def test_a_sent_one_time_code_is_no_longer_readable_in_the_outbox(till, twilio, fake_twilio):
    till.customer()
    [balance] = queue(till)
    code = queue_code(till)
    assert process_round(twilio).outcomes == {balance: "sent", code: "sent"}
    assert sorted(fake_twilio.bodies()) == sorted([CODE_TEXT, "message 0"])
    sent = rows()
    assert sent[code].body == "[one-time code removed after sending]"
    assert (sent[code].status, sent[code].segments, sent[code].encoding) == ("sent", 1, "GSM-7")
    assert sent[balance].body == "message 0"


@pytest.mark.parametrize("answer", ["invalid", "opted_out"])
def test_a_one_time_code_twilio_refuses_is_dead_and_no_longer_readable(
        till, twilio, fake_twilio, answer):
    till.customer()
    code = queue_code(till)
    fake_twilio.answer(till.last_phone, answer)
    assert process_round(twilio).outcomes == {code: "dead"}
    assert rows()[code].body == "[one-time code removed after sending]"


def test_a_stale_one_time_code_is_dead_unsent_and_no_longer_readable(till, twilio, fake_twilio,
                                                                    clock):
    till.customer()
    code = queue_code(till)
    clock.advance(minutes=sms_config()["urgent_stale_after_minutes"] + 1)
    assert process_round(twilio).outcomes == {code: "dead"}
    assert rows()[code].body == "[one-time code removed after sending]"
    assert fake_twilio.messages() == []


def test_a_one_time_code_waiting_for_a_retry_keeps_its_text(till, twilio, fake_twilio, clock):
    till.customer()
    code = queue_code(till)
    fake_twilio.answer(till.last_phone, "server_error")
    assert process_round(twilio).outcomes == {code: "retried"}
    assert rows()[code].body == CODE_TEXT
    clock.moment = rows()[code].send_after
    assert process_round(twilio).outcomes == {code: "sent"}
    assert fake_twilio.bodies() == [CODE_TEXT, CODE_TEXT]
    assert rows()[code].body == "[one-time code removed after sending]"


def test_the_console_sender_prints_a_code_before_it_is_removed(till, capsys):
    till.customer()
    code = queue_code(till)
    process_round(ConsoleSender())
    assert capsys.readouterr().out.endswith(f"SMS to {till.last_phone}: {CODE_TEXT}\n")
    assert rows()[code].body == "[one-time code removed after sending]"


def test_the_console_sender_asked_for_prints(app, till, capsys, monkeypatch):
    for variable in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="")
    sender = make_sender(sms_config(), console=True)
    assert isinstance(sender, ConsoleSender)
    card = till.customer()
    till.sell(card, total_minor=1500)
    process_round(sender)
    assert capsys.readouterr().out.endswith(
        f"SMS to {till.last_phone}: Merci ! +15 points chez Boulangerie Lyon. "
        "Solde : 15 points (1,50 €).\n")


def test_demo_worker_prints_a_sale_within_a_second(app, till, capsys):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="")
    thread, stop = start_background_worker(app, ConsoleSender(), poll_seconds=0.05)
    try:
        card = till.customer()
        till.sell(card, total_minor=1500)
        deadline = time.monotonic() + 1
        while "+15 points" not in capsys.readouterr().out:
            assert time.monotonic() < deadline
            threading.Event().wait(0.02)
    finally:
        stop.set()
        thread.join()


def test_sms_stats_command_counts_rows_per_status(till, twilio, fake_twilio, runner):
    till.customer()
    queue(till, 3)
    fake_twilio.answer(till.last_phone, "ok", "invalid")
    process_round(twilio)
    result = runner.invoke(args=["sms", "stats"])
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.output.splitlines())
    assert (lines["sent"], lines["dead"], lines["cancelled"], lines["queued"]) == \
        ("1", "1", "1", "0")


def test_sms_stats_command_counts_one_stores_sms(till, runner):
    card = till.customer(points=100)   # an adjustment outside any store: no store
    till.sell(card, 1000)              # the till's store
    counts = {}
    for args in (["sms", "stats"], ["sms", "stats", "--store", str(till.store_id)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        counts[len(args)] = dict(line.split() for line in result.output.splitlines())["queued"]
    assert counts == {2: "2", 4: "1"}


def test_worker_command_runs_once(till, runner, app, monkeypatch):
    for variable in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="")
    till.customer()
    queue(till, 2)
    result = runner.invoke(args=["worker", "--once", "--console"])
    assert result.exit_code == 0, result.output
    assert result.output.count("SMS to ") == 2
    assert {m.status for m in rows().values()} == {"sent"}
