"""The operator's command line: each command prints what it created on its last line."""
import csv
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from pos_loyalty import cards


def last_line(result):
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_set_up_a_store_from_the_command_line(runner, client):
    assert last_line(runner.invoke(args=["init"])) == "demo"
    store_id = last_line(runner.invoke(args=["stores", "create", "Boulangerie Lyon"]))
    key = last_line(runner.invoke(args=["terminals", "create", "--store", store_id]))
    assert key.startswith("tk_")
    staff_id = last_line(runner.invoke(
        args=["staff", "create", "marie", "--role", "cashier", "--store", store_id,
              "--password-stdin"], input="a long password\n"))
    assert staff_id.isdigit()
    card = last_line(runner.invoke(args=["customers", "create", "--phone", "+33612345678",
                                         "--pin", "1234", "--first-name", "Marie"]))
    assert cards.normalize_card_number(card) == card
    entry_id = last_line(runner.invoke(args=["points", "adjust", card, "150", "--reason",
                                             "welcome gift"]))
    assert entry_id.isdigit()
    reply = client.get(f"/api/pos/v1/cards/{card}", headers={"Authorization": f"Bearer {key}"})
    assert reply.get_json()["account"]["available_points"] == 150
    assert last_line(runner.invoke(args=["verify"])) == "ok: 1 account matches its ledger"


def test_issue_blank_cards_to_csv_then_enrol_one(runner, tmp_path):
    path = tmp_path / "batch.csv"
    result = runner.invoke(args=["cards", "issue", "--count", "3", "--csv", str(path)])
    numbers = result.output.split()
    assert len(numbers) == 3 and len(set(numbers)) == 3
    with path.open() as handle:
        assert [row["card_number"] for row in csv.DictReader(handle)] == numbers
    linked = last_line(runner.invoke(args=["customers", "create", "--phone", "+33612345679",
                                           "--pin", "1234", "--card", numbers[1]]))
    assert linked == numbers[1]


def test_command_errors_are_messages_not_tracebacks(runner):
    runner.invoke(args=["init"])
    result = runner.invoke(args=["customers", "create", "--phone", "12", "--pin", "1234"])
    assert result.exit_code == 2
    assert "phone number" in result.output
    result = runner.invoke(args=["terminals", "create", "--store", "999"])
    assert result.exit_code == 2
    result = runner.invoke(args=["points", "adjust", "2900000000018", "5", "--reason", "x"])
    assert result.exit_code == 2 and "No card" in result.output


def test_console_script_initialises_a_fresh_database(tmp_path):
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    command = [sys.executable, "-m", "pos_loyalty", "init"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "demo"


def test_flask_command_finds_the_app_factory(tmp_path):
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'flask.sqlite3'}"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = subprocess.run([flask, "--app", "pos_loyalty", "init"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "demo"


def _wait_until_served(url: str, server: subprocess.Popen) -> None:
    for _ in range(150):
        assert server.poll() is None, "the server stopped"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_served_log_redirected_to_a_file_has_no_colour_codes(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}"}
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "pos_loyalty", "serve", "--port",
                                   str(port)], env=env, stdout=log, stderr=log)
        try:
            _wait_until_served(f"http://127.0.0.1:{port}/api/pos/v1/openapi.json", server)
        finally:
            server.terminate()
            server.wait(timeout=10)
    text = log_path.read_text()
    assert "GET /api/pos/v1/openapi.json" in text and "development server" in text
    assert "\x1b[" not in text
