"""What a load balancer and an operator rely on: /healthz, /readyz, request ids, JSON logs."""
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from pos_loyalty.app import MIGRATIONS_DIR, create_app
from pos_loyalty.db import db
from pos_loyalty.logging_setup import ACCESS_LOG, JsonFormatter, masked, request_id_from
from tests.conftest import test_settings as settings_for

PROJECT = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_asking_the_database(tmp_path):
    unreachable = create_app(settings_for(f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"))
    reply = unreachable.test_client().get("/healthz")
    assert (reply.status_code, reply.get_json()) == (200, {"status": "alive"})
    assert reply.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_at_the_newest_migration(client):
    reply = client.get("/readyz")
    assert reply.status_code == 200
    heads = ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()
    assert reply.get_json() == {"status": "ready", "schema": heads}


def test_readyz_refuses_traffic_while_the_schema_is_behind(app, client):
    with db.engine.begin() as connection:
        head = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
    try:
        reply = client.get("/readyz")
    finally:
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = :head"),
                               {"head": head})
    assert reply.status_code == 503
    assert reply.get_json() == {"status": "not_ready", "reason": "schema_not_at_head",
                                "schema": ["0005"], "expected": [head]}


def test_readyz_refuses_traffic_when_the_database_does_not_answer(database_url, tmp_path):
    broken = (f"sqlite:///{tmp_path}/missing/dir/db.sqlite3" if database_url.startswith("sqlite")
              else sa.make_url(database_url).set(port=1).render_as_string(hide_password=False))
    app = create_app(settings_for(broken))
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    assert reply.get_json()["reason"] == "database_unreachable"


def test_the_caller_s_request_id_comes_back_else_a_new_one(client):
    given = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42:1"})
    assert given.headers["X-Request-Id"] == "lb-7f3a.42:1"
    for insane in ("a b", "x" * 129, "<script>", "id\u00e9"):
        made = client.get("/healthz", headers={"X-Request-Id": insane})
        assert made.headers["X-Request-Id"] != insane
        assert len(made.headers["X-Request-Id"]) == 32
    assert request_id_from(None) != request_id_from(None)


@pytest.fixture
def access_lines():
    """The access log's lines as the JSON formatter writes them."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))
    handler = Collect()
    handler.setFormatter(JsonFormatter())
    level = ACCESS_LOG.level
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    yield lines
    ACCESS_LOG.removeHandler(handler)
    ACCESS_LOG.setLevel(level)


def test_a_request_is_logged_by_its_url_rule_with_its_id(till, access_lines):
    card = till.customer(points=40)
    reply = till.client.get(f"/api/pos/v1/cards/{card}",
                            headers={**till.headers, "X-Request-Id": "till-1"})
    assert reply.status_code == 200
    line = json.loads(access_lines[-1])
    assert line["request_id"] == "till-1" and line["logger"] == "pos_loyalty.access"
    assert line["http"]["route"] == "/api/pos/v1/cards/<card_number>"
    assert (line["http"]["method"], line["http"]["status"]) == ("GET", 200)
    assert card not in "".join(access_lines) and till.last_phone[1:] not in "".join(access_lines)


def test_a_path_no_rule_matches_is_logged_masked(client, access_lines):
    client.get("/api/pos/v1/cards/2900000000018/nothing-here")
    line = json.loads(access_lines[-1])
    assert line["http"] == {**line["http"], "route": "/api/pos/v1/cards/[masked]/nothing-here",
                            "status": 404}


def test_probes_are_not_logged(client, access_lines):
    client.get("/healthz")
    client.get("/readyz")
    assert access_lines == []


def test_log_lines_mask_card_numbers_phones_and_sql_parameters():
    text = ("no card 2900000000018 for +33612345678\n"
            "[parameters: ('+33612345678', 'Camille')]")
    assert masked(text) == "no card [masked] for [masked]\n[parameters masked]"
    assert masked("line 1234 of sales.py") == "line 1234 of sales.py"


LOG_SCRIPT = """
import sys
from alembic.script import ScriptDirectory

from pos_loyalty.app import MIGRATIONS_DIR, create_app
app = create_app()
reply = app.test_client().get("/api/pos/v1/cards/" + sys.argv[1],
                              headers={"Authorization": "Bearer " + sys.argv[2]})
app.logger.warning("done with status %s", reply.status_code)
print(reply.headers["X-Request-Id"])
"""


def test_production_logs_are_json_lines_without_personal_data(till, database_url):
    card = till.customer(points=40, first_name="Philippine")
    environment = {**{k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
                   "LOYALTY_ENV": "production",
                   "LOYALTY_SECRET_KEY": "test-secret-of-at-least-32-bytes-x",
                   "LOYALTY_PIN_KEY": "test-pin-key-of-at-least-32-chars-x",
                   "LOYALTY_DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT),
                   # production refuses per-process counters; Redis database 7 is the tests'
                   "LOYALTY_SERVICE__RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/7"}
    result = subprocess.run([sys.executable, "-c", LOG_SCRIPT, card, till.key], env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    request_id = result.stdout.strip()
    access = [line for line in lines if line["logger"] == "pos_loyalty.access"]
    assert [(line["http"]["route"], line["http"]["status"], line["request_id"])
            for line in access] == [("/api/pos/v1/cards/<card_number>", 200, request_id)]
    assert {"logger": "pos_loyalty.app", "message": "done with status 200"}.items() <= \
        lines[-1].items()
    for secret in (card, till.last_phone, till.last_phone[3:], "Philippine", till.key):
        assert secret not in result.stderr
