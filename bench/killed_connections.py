"""Sales while the database kills the app's connections: what the tills get, what is stored.

Run by hand (PostgreSQL only), e.g. `python bench/killed_connections.py --seconds 20`. It starts
the app under gunicorn, drives terminals that each send sales over HTTP, and every
`--kill-every` seconds terminates every connection of the app (pg_terminate_backend from an
admin connection). It prints the answers by status, then resends each refused sale once
with its Idempotency-Key (as a till does) and checks the database: one sale per key answered
201, every sale with its lines and ledger entries, and `pos-loyalty verify`.
`--pythonpath DIR` serves another checkout of the code (to compare before and after a change).
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gunicorn_server import gunicorn  # noqa: E402
from seed import fresh_database, pos_loyalty_command, seed_program, server_environment  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APP_NAME = "loyalty-app"


def sale(port: int, key: str, card: str, receipt: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"card_number": card, "receipt_number": receipt, "total_minor": 2000,
                       "redeem_points": 10, "card_entry": "scanned"})
    connection.request("POST", "/api/pos/v1/sales", body, {
        "Authorization": f"Bearer {key}", "Content-Type": "application/json",
        "Idempotency-Key": f"kill-{receipt}"})
    reply = connection.getresponse()
    answer = reply.read()
    connection.close()
    return reply.status, json.loads(answer) if answer.startswith(b"{") else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--terminals", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=0.25)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--pythonpath", type=Path, default=None)
    args = parser.parse_args()
    with fresh_database("postgresql", args.pg, name="pos_loyalty_killed") as url:
        env = server_environment(url, "k" * 48)
        result = pos_loyalty_command(["init"], env)
        assert result.returncode == 0, result.stderr
        seeded = seed_program(url, args.terminals, 5, 1000)
        app_url = sa.make_url(url).update_query_dict({"application_name": APP_NAME})
        env["LOYALTY_DATABASE_URL"] = app_url.render_as_string(hide_password=False)
        run(args, url, env, seeded)


def run(args: argparse.Namespace, url: str, env: dict, seeded) -> None:  # type: ignore[no-untyped-def]
    answers: dict[str, int] = {}
    statuses: collections.Counter[int] = collections.Counter()
    stop = threading.Event()
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    kills = [0]
    with gunicorn("pos_loyalty.wsgi:app", workers=args.workers, env=env,
                  ready_path="/api/pos/v1/openapi.json", pythonpath=args.pythonpath) as server:
        def terminal(number: int) -> None:
            sent = 0
            while not stop.is_set():
                sent += 1
                receipt = f"T{number}-{sent}"
                cards = seeded.cards_by_terminal[number]
                status, _ = sale(server.port, seeded.terminal_keys[number],
                                 cards[sent % len(cards)], receipt)
                answers[receipt] = status
                statuses[status] += 1

        def killer() -> None:
            while not stop.wait(args.kill_every):
                with admin.connect() as connection:
                    kills[0] += len(connection.execute(sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :app"), {"app": APP_NAME}).all())

        threads = [threading.Thread(target=terminal, args=(n,)) for n in range(args.terminals)]
        threads.append(threading.Thread(target=killer))
        for thread in threads:
            thread.start()
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        print(f"{sum(statuses.values())} sales sent, {kills[0]} connections killed: "
              + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items())))
        retried = collections.Counter()
        for receipt, status in answers.items():
            if status != 201:
                number = int(receipt[1:].split("-")[0])
                cards = seeded.cards_by_terminal[number]
                sent = int(receipt.split("-")[1])
                again, _ = sale(server.port, seeded.terminal_keys[number],
                                cards[sent % len(cards)], receipt)
                answers[receipt] = again
                retried[again] += 1
        print("resent with the same key: "
              + (", ".join(f"{count} x {status}" for status, count in sorted(retried.items()))
                 or "none"))
    check(admin, answers, env)
    admin.dispose()


def check(admin: sa.Engine, answers: dict[str, int], env: dict) -> None:
    with admin.connect() as connection:
        sales = connection.execute(sa.text("SELECT count(*) FROM sale")).scalar_one()
        bare = connection.execute(sa.text(
            "SELECT count(*) FROM sale s WHERE NOT EXISTS (SELECT 1 FROM sale_line l "
            "WHERE l.sale_id = s.id) OR NOT EXISTS (SELECT 1 FROM ledger_entry e "
            "WHERE e.sale_id = s.id)")).scalar_one()
        unanswered = connection.execute(sa.text(
            "SELECT count(*) FROM idempotency_key WHERE response IS NULL")).scalar_one()
    answered = sum(1 for status in answers.values() if status == 201)
    verify = pos_loyalty_command(["verify"], env)
    print(f"stored: {sales} sales for {answered} receipts answered 201; {bare} sales missing "
          f"lines or ledger entries; {unanswered} keys without an answer; "
          f"verify: {verify.stdout.strip() or verify.stderr.strip()}")


if __name__ == "__main__":
    main()
