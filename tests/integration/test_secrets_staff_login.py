"""Staff logins at the till: one answer for unknown users and wrong passwords, throttled rather
than locked, bounded slow hashing, and sessions that end on the server."""
from __future__ import annotations

import fcntl
import os
import re

import pytest

from pos_loyalty import programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.security import Hasher, app_hasher
from pos_loyalty.slow_hash_slots import SlowHashSlots
from pos_loyalty.usecases import staff

PASSWORD = "right password"


@pytest.fixture
def login(till):
    """A cashier and an admin of the till's store; a browser at the till's login page."""
    run_in_transaction(lambda: [
        programs.create_staff(till.program(), name, role, PASSWORD, till.store_id, app_hasher())
        for name, role in (("lou", "cashier"), ("root", "admin"))])
    till.client.post("/cashier/language", data={"csrf_token": csrf_of(till.client), "lang": "en"})
    return till.client


def csrf_of(client) -> str:
    page = client.get("/cashier/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, username: str, password: str, ip: str = "203.0.113.9"):
    return client.post("/cashier/login", data={
        "csrf_token": csrf_of(client), "username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip})


def error_of(page) -> str:
    return re.search(r'role="alert"[^>]*>([^<]*)<', page.get_data(as_text=True)).group(1).strip()


def test_an_unknown_user_gets_the_wrong_password_answers(login):
    for expected in (401, 401, 401, 401, 401, 429):
        wrong = log_in(login, "lou", "wrong password")
        nobody = log_in(login, "nobody", "wrong password")
        assert (wrong.status_code, error_of(wrong)) == (nobody.status_code, error_of(nobody))
        assert wrong.status_code == expected


def test_wrong_passwords_make_the_address_wait_and_lock_nobody_out(login):
    for _ in range(5):
        assert log_in(login, "root", "guess").status_code == 401
    waiting = log_in(login, "root", PASSWORD)
    assert waiting.status_code == 429
    assert "Too many tries: wait 15 min" in error_of(waiting)
    assert 0 < int(waiting.headers["Retry-After"]) <= 15 * 60
    # The admin at another address is not locked out by the guesser.
    assert log_in(login, "root", PASSWORD, ip="198.51.100.7").status_code == 302


def test_unknown_users_are_throttled_like_known_ones(login):
    for _ in range(5):
        assert log_in(login, "nobody", "guess").status_code == 401
    assert log_in(login, "nobody", "guess").status_code == 429


@pytest.fixture
def one_busy_slot(app, tmp_path):
    """The app's slow hashes share one slot, held by "another worker" for the test."""
    shared = app.extensions["pos_loyalty.hasher"]
    app.extensions["pos_loyalty.hasher"] = Hasher(shared.argon2, shared.pin_key,
                                                  SlowHashSlots(1, 0.05, str(tmp_path)))
    descriptor = os.open(tmp_path / "slot-0.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    yield
    os.close(descriptor)


def test_while_every_slow_hash_slot_is_taken_a_login_answers_busy(login, one_busy_slot):
    busy = log_in(login, "lou", PASSWORD)
    assert busy.status_code == 503
    assert error_of(busy) == "The server is busy checking passwords: try again in a moment."
    # An unknown user is checked against a dummy hash, so it waits for a slot too.
    assert log_in(login, "nobody", "wrong password").status_code == 503


def test_a_cookie_copied_before_logout_no_longer_opens_the_till(login, till):
    assert log_in(login, "lou", PASSWORD).status_code == 302
    copied = login.get_cookie("session").value
    assert login.get("/cashier/").status_code == 200
    page = login.get("/cashier/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert login.post("/cashier/logout", data={"csrf_token": token}).status_code == 302
    thief = till.app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/cashier/").status_code == 302


@pytest.mark.parametrize("end", [
    lambda: staff.set_password("lou", "a new password"),
    lambda: staff.set_active("lou", False),
])
def test_a_new_password_or_deactivation_ends_the_staff_s_sessions(login, end):
    assert log_in(login, "lou", PASSWORD).status_code == 302
    assert login.get("/cashier/").status_code == 200
    end()
    assert login.get("/cashier/").status_code == 302
