"""PIN hashes are keyed and fast; staff passwords are argon2 with a bound on how many at once."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from pos_loyalty.config import ConfigError, load_settings
from pos_loyalty.errors import ServerBusy
from pos_loyalty.security import Hasher, make_hasher
from pos_loyalty.slow_hash_slots import SlowHashSlots

CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def hasher(tmp_path: Path, key: bytes = b"k" * 32, wait: float = 0.05) -> Hasher:
    return Hasher(CHEAP_ARGON2, key, SlowHashSlots(1, wait, str(tmp_path)))


def hold_the_slot(tmp_path: Path) -> int:
    """Take the only slot as another worker process busy hashing would."""
    descriptor = os.open(tmp_path / "slot-0.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def test_a_pin_hash_is_keyed_and_salted(tmp_path):
    pins = hasher(tmp_path)
    first, second = pins.hash_pin("1234"), pins.hash_pin("1234")
    assert first.startswith("hmac-sha256$") and first != second
    assert pins.check_pin(first, "1234") == (True, None)
    assert pins.check_pin(first, "1235") == (False, None)


def test_without_the_key_a_stolen_pin_hash_matches_nothing(tmp_path):
    stored = hasher(tmp_path, b"a" * 32).hash_pin("1234")
    assert hasher(tmp_path, b"b" * 32).check_pin(stored, "1234") == (False, None)


def test_an_old_argon2_pin_hash_still_matches_and_comes_back_keyed(tmp_path):
    pins = hasher(tmp_path)
    matches, rehashed = pins.check_pin(CHEAP_ARGON2.hash("2468"), "2468")
    assert matches and rehashed.startswith("hmac-sha256$")
    assert pins.check_pin(rehashed, "2468") == (True, None)
    assert pins.check_pin(CHEAP_ARGON2.hash("2468"), "0000") == (False, None)


def test_checking_a_pin_needs_no_slow_hash_slot(tmp_path):
    pins = hasher(tmp_path)
    stored = pins.hash_pin("1234")
    held = hold_the_slot(tmp_path)
    try:
        assert pins.check_pin(stored, "1234") == (True, None)
    finally:
        os.close(held)


def test_a_password_check_waits_for_a_free_slot_then_answers_busy(tmp_path):
    passwords = hasher(tmp_path)
    stored = passwords.hash_password("right password")
    held = hold_the_slot(tmp_path)
    try:
        with pytest.raises(ServerBusy):
            passwords.check_password(stored, "right password")
        # An unknown login is checked against a dummy hash: it needs a slot just the same.
        with pytest.raises(ServerBusy):
            passwords.check_password(None, "any password")
    finally:
        os.close(held)
    assert passwords.check_password(stored, "right password")
    assert not passwords.check_password(None, "any password")


def test_production_refuses_to_start_without_a_pin_key(monkeypatch):
    monkeypatch.delenv("LOYALTY_PIN_KEY", raising=False)
    production = {"service": {"env": "production", "secret_key": "s" * 40,
                              "database_url": "sqlite://",
                              "rate_limit_storage_url": "redis://127.0.0.1:6379/7"}}
    with pytest.raises(ConfigError, match="LOYALTY_PIN_KEY"):
        load_settings(production)
    monkeypatch.setenv("LOYALTY_PIN_KEY", "too short")
    with pytest.raises(ConfigError, match="32 characters"):
        load_settings(production)
    monkeypatch.setenv("LOYALTY_PIN_KEY", "p" * 32)
    assert make_hasher(load_settings(production), "s" * 40).pin_key == b"p" * 32


def test_outside_production_the_pin_key_comes_from_the_secret_key(monkeypatch):
    monkeypatch.delenv("LOYALTY_PIN_KEY", raising=False)
    settings = load_settings({})
    assert make_hasher(settings, "one").pin_key == make_hasher(settings, "one").pin_key
    assert make_hasher(settings, "one").pin_key != make_hasher(settings, "two").pin_key


def test_a_slot_owing_more_rest_than_its_burst_rests_so_a_flood_gets_only_its_share(tmp_path):
    # Each hash owes a billion times as long a rest: far more than the 60 s burst allowed.
    resting = Hasher(CHEAP_ARGON2, b"k" * 32, SlowHashSlots(1, 0.0, str(tmp_path), 1e-9, 60))
    stored = resting.hash_password("right password")
    with pytest.raises(ServerBusy):
        resting.check_password(stored, "right password")


def test_a_few_hashes_in_a_row_fit_in_the_burst(tmp_path):
    # A hash of this cost takes well under a millisecond: three owe far less than 60 s of rest.
    bursting = Hasher(CHEAP_ARGON2, b"k" * 32, SlowHashSlots(1, 0.0, str(tmp_path), 0.25, 60))
    stored = bursting.hash_password("right password")
    assert bursting.check_password(stored, "right password")
    assert not bursting.check_password(stored, "wrong password")
