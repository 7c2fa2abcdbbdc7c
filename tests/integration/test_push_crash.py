"""A `pos-loyalty worker` process killed (SIGKILL) while FCM holds a push loses nothing, and
the one push it sends again replaces the first on the phone (same collapse key)."""
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
from google_keys import FCM_EMAIL, PROJECT_ID, trusted_key
from pos_loyalty import accounts, devices
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.channels import PUSH
from pos_loyalty.notify.fake_google import FakeGoogle
from pos_loyalty.notify.push_sender import PushSender
from pos_loyalty.notify.senders import ConsoleSender
from pos_loyalty.notify.worker import process_round

SMS = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "secret-token",
       "twilio_from": "+15005550006", "twilio_api_base_url": "http://127.0.0.1:9",
       "quiet_hours_start": "", "quiet_hours_end": "", "lease_seconds": 2,
       "worker_poll_seconds": 0.1}


def worker_environment(database_url: str, push: dict[str, str]) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("TWILIO_", "LOYALTY_"))}
    environment.update({f"LOYALTY_SMS__{key.upper()}": str(value) if value != "" else '""'
                        for key, value in SMS.items()})
    environment.update({f"LOYALTY_PUSH__{key.upper()}": value for key, value in push.items()})
    project = str(Path(pos_loyalty.__file__).resolve().parents[1])
    environment.update(LOYALTY_DATABASE_URL=database_url, LOYALTY_SECRET_KEY="test",
                       PYTHONPATH=project)
    return environment


def test_killed_worker_loses_no_push_and_the_one_in_flight_shows_once(
        app, shop, database_url, tmp_path):
    # The worker process runs on the real clock, so the sales are made on it too (no quiet
    # hours, a lease of 2 seconds: nothing here depends on the hour of the day).
    app.config["LOYALTY"]["sms"].update(SMS)
    shop.now = utcnow()
    card = shop.customer()
    account = run_in_transaction(lambda: accounts.account_of_card(
        accounts.find_card(shop.program, card)))
    run_in_transaction(lambda: devices.register_device(
        shop.program, account, None, "android", "crash-test-phone", None, shop.now))
    with FakeGoogle(fcm_delay_seconds=0.5) as google:
        key = trusted_key(google, tmp_path, FCM_EMAIL)
        push = {"fcm_project_id": PROJECT_ID, "fcm_service_account_file": str(key.path),
                "fcm_api_base_url": google.url}
        app.config["LOYALTY"]["push"].update(push)
        for _ in range(6):
            shop.sell(card, total_minor=1000)
        ids = run_in_transaction(lambda: list(db.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.channel == "push").order_by(OutboxMessage.id))))
        command = [str(Path(sys.executable).with_name("pos-loyalty")), "worker"]
        with subprocess.Popen(command, env=worker_environment(database_url, push),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as worker:
            deadline = time.monotonic() + 20
            while (len(google.messages) < 3 and time.monotonic() < deadline
                   and worker.poll() is None):
                threading.Event().wait(0.02)
            worker.kill()   # SIGKILL while FCM holds the third push
            _, errors = worker.communicate()
        assert len(google.messages) == 3, errors.decode()
        db.session.expire_all()
        assert [db.session.get(OutboxMessage, i).status for i in ids] == \
            ["sent", "sent", "sending", "sending", "sending", "sending"]

        google.fcm_delay_seconds = 0
        shop.now = utcnow() + dt.timedelta(seconds=SMS["lease_seconds"] + 1)
        sender = PushSender()
        process_round(ConsoleSender(), channels={PUSH: sender})
        sender.close()
        shown = Counter(message["android"]["collapse_key"] for message in google.messages)
    db.session.expire_all()
    assert [db.session.get(OutboxMessage, i).status for i in ids] == ["sent"] * 6
    assert set(shown) == {f"loyalty-{i}" for i in ids}
    assert shown[f"loyalty-{ids[2]}"] == 2 and sum(shown.values()) == 7
