"""What bench/scale_figures measures on one database: sequential requests to a running
server (card look-up, /me/balance, /me/history), the jobs as child processes (wall time
and peak RSS), and the dashboard's measures in process."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from scale_world import terminal_key

# Accounts the requests go round: the app's members (they have a PIN) with the most lots.
ACCOUNTS = 10
HEAVIEST_APP_MEMBERS = sa.text(
    "SELECT a.id, a.phone_e164, (SELECT min(c.number) FROM card c WHERE c.account_id = a.id) "
    "FROM account a JOIN (SELECT account_id, count(*) AS lots FROM point_lot "
    "GROUP BY account_id ORDER BY count(*) DESC LIMIT 2000) heavy ON heavy.account_id = a.id "
    "WHERE a.pin_hash IS NOT NULL ORDER BY heavy.lots DESC, a.id LIMIT :n")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank, as bench/load.py."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Targets:
    """Whom the requests are about on one database, and the keys they need."""
    terminal_keys: tuple[str, ...]
    members: tuple[tuple[int, str, str], ...]    # (account id, phone, a card number)
    lots: tuple[int, ...]                         # lots of each member, for the report


def targets(url: str, seed: int) -> Targets:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        tills = connection.execute(sa.text(
            "SELECT id FROM terminal ORDER BY id LIMIT 20")).scalars().all()
        members = [tuple(row) for row in connection.execute(HEAVIEST_APP_MEMBERS,
                                                            {"n": ACCOUNTS})]
        lots = tuple(connection.execute(sa.text(
            "SELECT count(*) FROM point_lot WHERE account_id = :id"), {"id": m[0]}).scalar_one()
            for m in members)
    engine.dispose()
    return Targets(tuple(terminal_key(seed, till) for till in tills), tuple(members), lots)


class Client:
    """One keep-alive connection; each request timed from send to the last byte read."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, headers: Mapping[str, str],
             body: dict | None = None) -> tuple[int, bytes, float]:
        payload = json.dumps(body).encode() if body is not None else None
        sent_headers = {**headers, **({"Content-Type": "application/json"} if payload else {})}
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=sent_headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connection.request(method, path, body=payload, headers=sent_headers)
            response = self.connection.getresponse()
        answer = response.read()
        return response.status, answer, (time.perf_counter() - started) * 1000


def request_figures(port: int, found: Targets, app_key: str, requests: int,
                    pin: str) -> dict[str, tuple[float, float, int]]:
    """(p50, p99, errors) in ms of each path, `requests` sequential calls each, going round
    the members; logins first (not timed)."""
    client = Client(port)
    tokens = []
    for _, phone, _ in found.members:
        status, answer, _ = client.call("POST", "/api/mobile/v1/auth/login",
                                        {"X-App-Key": app_key}, {"phone": phone, "pin": pin})
        if status != 200:
            raise RuntimeError(f"login of {phone} answered {status}: {answer[:200]!r}")
        tokens.append(json.loads(answer)["access_token"])
    paths = {
        "card lookup": lambda n: ("GET", f"/api/pos/v1/cards/{found.members[n][2]}",
                                  {"Authorization": "Bearer " + found.terminal_keys[
                                      n % len(found.terminal_keys)]}),
        "/me/balance": lambda n: ("GET", "/api/mobile/v1/me/balance",
                                  {"X-App-Key": app_key, "Authorization": "Bearer " + tokens[n]}),
        "/me/history": lambda n: ("GET", "/api/mobile/v1/me/history",
                                  {"X-App-Key": app_key, "Authorization": "Bearer " + tokens[n]}),
    }
    figures = {}
    for name, make in paths.items():
        latencies, errors = [], 0
        for number in range(requests):
            method, path, headers = make(number % len(found.members))
            status, _, elapsed = client.call(method, path, headers)
            latencies.append(elapsed)
            errors += status != 200
        figures[name] = (percentile(latencies, 50), percentile(latencies, 99), errors)
    return figures


@dataclass(frozen=True)
class JobRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    last_line: str


def run_job(args: Sequence[str], env: Mapping[str, str]) -> JobRun:
    """`pos-loyalty ARGS` as a child; its own peak RSS (wait4), not that of every child."""
    executable = os.path.join(os.path.dirname(sys.executable), "pos-loyalty")
    started = time.monotonic()
    process = subprocess.Popen([executable, *args], env=dict(env), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in output.splitlines() if line.strip()]
    return JobRun(time.monotonic() - started, usage.ru_maxrss / 1024, process.returncode,
                  lines[-1][:160] if lines else "")


def measure_figures(program_id: int, now: dt.datetime, store_id: int,
                    times: int) -> dict[str, tuple[float, float]]:
    """p95 (ms) of every registered dashboard measure over the last 12 months, for every
    store and for one; in the current app context."""
    from pos_loyalty import analytics
    from pos_loyalty.db import db
    from pos_loyalty.models import Program
    from pos_loyalty.programs import local_day

    program = db.session.get(Program, program_id)
    last = local_day(program, now).replace(day=1)
    first = dt.date(last.year - 1 + (last.month == 12), last.month % 12 + 1, 1)
    figures = {}
    for key, _, function in analytics.measures_in_order():
        seconds: dict[str, list[float]] = {"all": [], "store": []}
        for _ in range(times):
            for label, store in (("all", None), ("store", store_id)):
                started = time.perf_counter()
                function(analytics.Filters(program, first, last, store, now))
                seconds[label].append((time.perf_counter() - started) * 1000)
                db.session.rollback()
        figures[key] = (percentile(seconds["all"], 95), percentile(seconds["store"], 95))
    return figures
