"""Prometheus metrics: business events counted once, requests by URL rule, the outbox read at
scrape time, /metrics for the monitoring system only, and every gunicorn worker counted."""
import datetime as dt
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bench.gunicorn_server import free_port
from pos_loyalty import notify, programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import InvalidLogin, TooManyTries
from pos_loyalty.notify.senders import ConsoleSender
from pos_loyalty.notify.worker import process_round
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import staff as staff_usecases

PROJECT = Path(__file__).resolve().parents[2]
MIDDAY = dt.datetime(2026, 1, 15, 12, 0)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counted:
    """Counter values now, to compare with later ones (the registry is the process's)."""

    def __init__(self, *series: tuple[str, dict[str, str]]) -> None:
        self.series = series
        self.before = [sample(name, **labels) for name, labels in series]

    def added(self) -> list[float]:
        return [sample(name, **labels) - before
                for (name, labels), before in zip(self.series, self.before)]


SALE_SERIES = (("pos_loyalty_sales_total", {}),
               ("pos_loyalty_points_issued_total", {"source": "sale"}),
               ("pos_loyalty_points_spent_total", {"source": "sale"}))


def test_a_sale_is_counted_once_even_when_its_key_is_replayed(till):
    card = till.customer(points=200)
    counted = Counted(*SALE_SERIES)
    first = till.sell(card, total_minor=2500, redeem_points=100, key="sale-1")
    replay = till.sell(card, total_minor=2500, redeem_points=100, key="sale-1",
                       receipt=first.get_json()["receipt_number"])
    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert counted.added() == [1, 15, 100]


def test_a_refused_sale_counts_nothing(till):
    card = till.customer(points=10)
    counted = Counted(*SALE_SERIES)
    assert till.sell(card, total_minor=2500, redeem_points=100).status_code == 422
    assert counted.added() == [0, 0, 0]


def test_adjustments_count_as_points_issued_or_spent(till, runner):
    card = till.customer()
    counted = Counted(("pos_loyalty_points_issued_total", {"source": "adjustment"}),
                      ("pos_loyalty_points_spent_total", {"source": "adjustment"}))
    for points in ("150", "-40"):
        result = runner.invoke(args=["points", "adjust", "--reason", "gift", "--", card, points])
        assert result.exit_code == 0, result.output
    assert counted.added() == [150, 40]


def test_each_try_refused_for_too_many_wrong_pins_is_counted(till):
    till.customer(pin="4321")
    counted = Counted(("pos_loyalty_lockouts_total", {"who": "customer"}))
    statuses = [till.post("/identify", {"phone": till.last_phone, "pin": "0000"}).status_code
                for _ in range(7)]
    assert statuses == [401] * 5 + [429, 429]
    assert counted.added() == [2]


def test_each_staff_login_refused_for_too_many_wrong_passwords_is_counted(till):
    run_in_transaction(lambda: programs.create_staff(till.program(), "marie", "cashier",
                                                     "a long password", till.store_id,
                                                     app_hasher()))
    counted = Counted(("pos_loyalty_lockouts_total", {"who": "staff"}))
    refused = []
    for _ in range(7):
        try:
            staff_usecases.open_web_till("marie", "wrong password", None, MIDDAY, "192.0.2.1")
        except (InvalidLogin, TooManyTries) as error:
            refused.append(type(error).__name__)
    assert refused == ["InvalidLogin"] * 5 + ["TooManyTries"] * 2
    assert counted.added() == [2]


def test_sms_outcomes_are_counted_by_status(app, till):
    app.config["LOYALTY"]["sms"].update(quiet_hours_start="", quiet_hours_end="")
    card = till.customer()
    till.sell(card, total_minor=1500)
    counted = Counted(("pos_loyalty_sms_total", {"outcome": "sent"}))
    assert process_round(ConsoleSender()).sent == 1
    assert counted.added() == [1]


def scrape(client, **kwargs) -> dict[str, dict[tuple, float]]:
    reply = client.get("/metrics", **kwargs)
    assert reply.status_code == 200, reply.data
    return {family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
            for family in text_string_to_metric_families(reply.data.decode())}


def test_requests_are_counted_by_url_rule_never_by_card_number(till):
    card = till.customer()
    rule = "/api/pos/v1/cards/<card_number>"
    counted = Counted(("pos_loyalty_http_requests_total",
                       {"endpoint": rule, "method": "GET", "status": "200"}))
    assert till.get(f"/cards/{card}").status_code == 200
    till.client.get("/api/pos/v1/cards/2900000000018/nothing-here")
    assert counted.added() == [1]
    text = till.client.get("/metrics").data.decode()
    assert f'endpoint="{rule}"' in text and 'endpoint="<unmatched>"' in text
    assert card not in text and "2900000000018" not in text


def test_the_outbox_depth_and_oldest_age_are_read_at_scrape_time(app, till, client):
    app.extensions["pos_loyalty.clock"] = lambda: MIDDAY
    till.customer()
    program = till.program()
    for minutes in (0, 1, 2):
        run_in_transaction(lambda m=minutes: notify.queue_message(
            program, None, "balance", till.last_phone, "hello",
            MIDDAY + dt.timedelta(minutes=m)))
    app.extensions["pos_loyalty.clock"] = lambda: MIDDAY + dt.timedelta(minutes=5)
    families = scrape(client)
    assert families["pos_loyalty_outbox_depth"] == {(("status", "queued"),): 3,
                                                    (("status", "sending"),): 0}
    assert families["pos_loyalty_outbox_oldest_age_seconds"] == {(): 300.0}
    assert families["pos_loyalty_outbox_readable"] == {(): 1.0}


def test_metrics_are_for_this_machine_only_by_default(client):
    assert client.get("/metrics").status_code == 200               # the test client: 127.0.0.1
    outsider = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outsider.status_code == 403
    assert outsider.get_json()["error"]["code"] == "forbidden"


def test_with_a_token_metrics_need_it_from_anywhere(app, client):
    app.config["LOYALTY"]["service"]["metrics_token"] = "s3cret-scrape"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    reply = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert reply.status_code == 200


# --- gunicorn, for real ---------------------------------------------------------------------

def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def wait_until(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.1)


def workers_of(master: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def healthz_count(port: int) -> float:
    status, text = get(port, "/metrics")
    assert status == 200, text
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == "pos_loyalty_http_requests_total"
               and s.labels["endpoint"] == "/healthz")


@pytest.fixture
def served(database_url, tmp_path):
    """gunicorn with config/gunicorn.conf.py, two workers, on a free port, with no
    PROMETHEUS_MULTIPROC_DIR: the config must choose one before prometheus_client loads."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    environment = {**{k: v for k, v in os.environ.items()
                      if not k.startswith(("LOYALTY_", "PROMETHEUS_", "TMPDIR"))},
                   "LOYALTY_DATABASE_URL": database_url,
                   "LOYALTY_SECRET_KEY": "test-secret-of-at-least-32-bytes-x",
                   "LOYALTY_PIN_KEY": "test-pin-key-of-at-least-32-chars-x",
                   "LOYALTY_ENV": "production", "GUNICORN_WORKERS": "2",
                   # production refuses per-process counters; Redis database 7 is the tests'
                   "LOYALTY_SERVICE__RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/7",
                   "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_GRACEFUL_TIMEOUT": "5",
                   "TMPDIR": str(tmp_path), "PYTHONPATH": str(PROJECT)}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(PROJECT / "config/gunicorn.conf.py")],
            env=environment, cwd=tempfile.gettempdir(), stdout=log, stderr=log,
            start_new_session=True)
    try:
        wait_until(lambda: server.poll() is None and len(workers_of(server.pid)) == 2
                   and _answers(port), "gunicorn to start")
        yield port, server.pid, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:
        return False


def counter_files(tmp_path, pid: int | None = None) -> list:
    return list(tmp_path.glob(f"pos-loyalty-metrics-*/counter_{pid or '*'}.db"))


def serve_on_both_workers(port: int, tmp_path, seconds: float = 30) -> int:
    """Send /healthz until both workers have answered some; returns how many were sent.

    The kernel may hand every sequential request to the same idle worker, so a half-sent
    request holds one sync worker busy while ten go to the other; rounds repeat until the
    held worker has been each of the two."""
    sent, deadline = 0, time.monotonic() + seconds
    while len(counter_files(tmp_path)) < 2:
        assert time.monotonic() < deadline, "one gunicorn worker answered every request"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line yet
            threading.Event().wait(0.2)                # let a worker take it and block on it
            for _ in range(10):
                assert get(port, "/healthz")[0] == 200
                sent += 1
    return sent


def test_gunicorn_workers_are_all_counted_even_after_one_dies(served, tmp_path):
    port, master, log_path = served
    start = healthz_count(port)
    sent = serve_on_both_workers(port, tmp_path)
    assert healthz_count(port) == start + sent
    # The config made the multiprocess folder (TMPDIR here); each worker writes its own file.
    victim = min(workers_of(master))
    assert counter_files(tmp_path, victim)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in workers_of(master) and len(workers_of(master)) == 2,
               "gunicorn to replace the killed worker")
    assert healthz_count(port) == start + sent   # the dead worker's counts stay counted
    status, body = get(port, "/readyz", {"X-Request-Id": "probe-1"})
    assert status == 200, body
    wait_until(lambda: "request_id=probe-1" in log_path.read_text(), "the access log line")
    line = next(line for line in log_path.read_text().splitlines() if "probe-1" in line)
    assert line.startswith('"GET" 200 ') and "/readyz" not in line
