"""SMS pumping, measured: how many code SMS do attackers get queued in 65 seconds?

Not a test. Starts `gunicorn -w 4` on a fresh database, with the rate limits counted in
`--storage` (Redis database 7 by default, emptied before each attack) and
`[service] trusted_proxies = 1`, then, for each number of attacking addresses, lets one thread
per address post `POST /api/mobile/v1/auth/register` with a new random French mobile number
each time, as fast as the server answers, each thread sending its own `X-Forwarded-For`. It
prints the answers by status and code, the codes queued per address, and the one-time-code rows
found in the outbox afterwards (each is an SMS the program pays for).

    .venv/bin/python bench/attack_sms.py                      # 1 and 20 addresses, Redis
    .venv/bin/python bench/attack_sms.py --storage memory://  # per-worker counters, as before
    .venv/bin/python bench/attack_sms.py --addresses 1,20,100 --seconds 65
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gunicorn_server import gunicorn  # noqa: E402

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/7"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=REDIS_URL,
                        help="[service] rate_limit_storage_url (default: %(default)s)")
    parser.add_argument("--addresses", default="1,20",
                        help="attacking IP addresses per run, comma-separated")
    parser.add_argument("--seconds", type=float, default=65)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--app-setting", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="passed as LOYALTY_SECTION__KEY")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="attack-sms-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'attack.sqlite3'}"
        env = server_env(database_url, options.storage, options.app_setting)
        app_key = prepare(env)
        print(f"storage {options.storage}, gunicorn -w {options.workers}, "
              f"{options.seconds:.0f} s per attack, trusted_proxies = 1")
        for count in (int(n) for n in options.addresses.split(",")):
            empty_storage(options.storage)
            with gunicorn("pos_loyalty.app:create_app()", workers=options.workers, env=env,
                          ready_path="/api/mobile/v1/openapi.json", pythonpath=PROJECT) as server:
                before = codes_queued(database_url)
                answers, per_address = attack(server.port, app_key, count, options.seconds)
                queued = codes_queued(database_url) - before
            report(count, answers, per_address, queued)
    return 0


def server_env(database_url: str, storage: str, settings: list[str]) -> dict[str, str]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url,
           "LOYALTY_SECRET_KEY": secrets.token_urlsafe(48),
           "LOYALTY_SERVICE__RATE_LIMIT_STORAGE_URL": storage,
           "LOYALTY_SERVICE__TRUSTED_PROXIES": "1"}
    for setting in settings:
        name, _, value = setting.partition("=")
        section, _, key = name.partition(".")
        env[f"LOYALTY_{section.upper()}__{key.upper()}"] = value
    return env


def prepare(env: dict[str, str]) -> str:
    """The schema, the default program and an app key for it."""
    command = [sys.executable, "-m", "pos_loyalty"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True, cwd=PROJECT)
    made = subprocess.run([*command, "programs", "app-key", "--label", "attack"], env=env,
                          check=True, capture_output=True, text=True, cwd=PROJECT)
    return made.stdout.strip().splitlines()[-1]


def empty_storage(storage: str) -> None:
    """Each attack starts with no counts (Redis database 7 only; memory:// starts empty)."""
    if storage.startswith("redis"):
        with redis.Redis.from_url(storage) as client:
            client.flushdb()


def codes_queued(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(
            "SELECT count(*) FROM outbox_message WHERE kind = 'otp'")).scalar_one()
    engine.dispose()
    return count


def attack(port: int, app_key: str, addresses: int,
           seconds: float) -> tuple[Counter[str], Counter[str]]:
    """One thread per address, closed loop, until the deadline (monotonic)."""
    answers: Counter[str] = Counter()
    per_address: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def one_address(ip: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            phone = f"+336{random.randrange(10 ** 8):08d}"
            connection.request("POST", "/api/mobile/v1/auth/register",
                               body=json.dumps({"phone": phone}),
                               headers={"Content-Type": "application/json",
                                        "X-App-Key": app_key, "X-Forwarded-For": ip})
            reply = connection.getresponse()
            body = reply.read()
            code = "code_sent" if reply.status == 202 else \
                json.loads(body).get("error", {}).get("code", "?")
            with lock:
                answers[f"{reply.status} {code}"] += 1
                if reply.status == 202:
                    per_address[ip] += 1
        connection.close()

    threads = [threading.Thread(target=one_address, args=(f"203.0.113.{n + 1}",))
               for n in range(addresses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, per_address


def report(addresses: int, answers: Counter[str], per_address: Counter[str],
           queued: int) -> None:
    sent = sum(per_address.values())
    spread = sorted(per_address.values()) or [0]
    print(f"\n{addresses} address(es): {sent} codes accepted (202), {queued} code SMS in the "
          f"outbox; per address min {spread[0]}, max {spread[-1]}")
    for answer, count in sorted(answers.items()):
        print(f"  {count:7d}  {answer}")


if __name__ == "__main__":
    sys.exit(main())
