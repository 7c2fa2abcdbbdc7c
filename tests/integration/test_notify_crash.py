"""A `pos-loyalty worker` process killed (SIGKILL) while Twilio is answering loses nothing."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

import pos_loyalty
from pos_loyalty import notify
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.fake_twilio import FakeTwilio
from pos_loyalty.notify.senders import make_sender
from pos_loyalty.notify.texts import sms_config
from pos_loyalty.notify.worker import process_round

SMS = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "secret-token",
       "twilio_from": "+15005550006", "quiet_hours_start": "", "lease_seconds": 2,
       "worker_poll_seconds": 0.1}


def worker_environment(database_url: str, twilio_url: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("TWILIO_", "LOYALTY_"))}
    environment.update({f"LOYALTY_SMS__{key.upper()}": str(value) if value != "" else '""'
                        for key, value in SMS.items()})
    project = str(Path(pos_loyalty.__file__).resolve().parents[1])
    environment.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_SECRET_KEY="test",
                       LOYALTY_TWILIO_API_BASE_URL=twilio_url, PYTHONPATH=project)
    return environment


def test_killed_worker_process_loses_nothing_and_resends_only_the_sms_in_flight(
        app, till, database_url):
    app.config["LOYALTY"]["sms"].update(SMS)  # no quiet hours: the rows are due at any hour
    till.customer()
    program = till.program()
    ids = [run_in_transaction(lambda i=i: notify.queue_message(
        program, None, "balance", till.last_phone, f"message {i}", utcnow())).id
        for i in range(6)]
    command = [str(Path(sys.executable).with_name("pos-loyalty")), "worker"]
    with FakeTwilio(reply_delay_seconds=0.5) as twilio:
        with subprocess.Popen(command, env=worker_environment(database_url, twilio.url),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as worker:
            deadline = time.monotonic() + 15
            while (len(twilio.messages()) < 3 and time.monotonic() < deadline
                   and worker.poll() is None):
                threading.Event().wait(0.02)  # not time.sleep: see fake_twilio
            worker.kill()  # SIGKILL while Twilio holds the third message
            _, errors = worker.communicate()
        assert len(twilio.messages()) == 3, errors.decode()
        db.session.expire_all()
        statuses = [db.session.get(OutboxMessage, i).status for i in ids]
        assert statuses == ["sent", "sent", "sending", "sending", "sending", "sending"]

        app.config["LOYALTY"]["sms"].update(twilio_api_base_url=twilio.url)
        twilio.reply_delay_seconds = 0
        later = utcnow() + dt.timedelta(seconds=SMS["lease_seconds"] + 1)
        app.extensions["pos_loyalty.clock"] = lambda: later
        sender = make_sender(sms_config())
        process_round(sender)
        sender.close()
        bodies = Counter(twilio.bodies())
    db.session.expire_all()
    assert set(db.session.scalars(select(OutboxMessage.status))) == {"sent"}
    assert bodies == {"message 0": 1, "message 1": 1, "message 2": 2, "message 3": 1,
                      "message 4": 1, "message 5": 1}
