"""Secrets: PINs (keyed hash), staff passwords (argon2id, a bounded number at once), terminal keys.

A PIN has 4 to 8 digits: 10^4 to 10^8 values, which no slow hash protects once the hashes
leak, and a slow hash per wrong try lets a login flood starve the tills. So a PIN is stored as
HMAC-SHA256 with a key that is not in the database (`[security] pin_key`): a stolen database
alone does not reveal PINs, and a check costs microseconds. Online guessing is held back by
`throttles`. PIN hashes written before (argon2) still match and are replaced by the keyed hash
at the next right PIN. Staff passwords stay argon2id, with at most `max_concurrent_slow_hashes`
running at once on a machine (`slow_hash_slots`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pos_loyalty.config import ConfigError
from pos_loyalty.slow_hash_slots import SlowHashSlots

TERMINAL_KEY_PREFIX = "tk_"
PIN_HASH_SCHEME = "hmac-sha256"


class Hasher:
    """Hashes and checks PINs (keyed, fast) and staff passwords (argon2id, slow, bounded)."""

    def __init__(self, argon2: PasswordHasher, pin_key: bytes, slots: SlowHashSlots) -> None:
        self.argon2, self.pin_key, self.slots = argon2, pin_key, slots
        self._dummy_password_hash = ""

    def hash_pin(self, pin: str) -> str:
        salt = secrets.token_bytes(16)
        return f"{PIN_HASH_SCHEME}${_b64(salt)}${_b64(self._pin_digest(salt, pin))}"

    def check_pin(self, stored: str | None, pin: str) -> tuple[bool, str | None]:
        """(matches, the hash to store instead): an old argon2 hash that matches is replaced.
        No stored hash is checked against a made-up one, so it takes the same time."""
        if stored and stored.startswith("$argon2"):
            matches = self._slow_verify(stored, pin)
            return matches, (self.hash_pin(pin) if matches else None)
        scheme, _, rest = (stored or "").partition("$")
        salt, _, digest = rest.partition("$")
        if scheme != PIN_HASH_SCHEME or not salt or not digest:
            hmac.compare_digest(self._pin_digest(b"\0" * 16, pin), b"\0" * 32)
            return False, None
        expected = self._pin_digest(_unb64(salt), pin)
        return hmac.compare_digest(expected, _unb64(digest)), None

    def hash_password(self, password: str) -> str:
        with self.slots.slot():
            return self.argon2.hash(password)

    def check_password(self, stored: str | None, password: str) -> bool:
        """True when `password` matches. No stored hash (an unknown login) is checked against a
        dummy hash of the same cost, so the answer takes as long and holds a slot alike."""
        if not stored:
            self._slow_verify(self._dummy_hash(), password)
            return False
        return self._slow_verify(stored, password)

    def _slow_verify(self, stored: str, secret: str) -> bool:
        with self.slots.slot():
            try:
                return self.argon2.verify(stored, secret)
            except (VerificationError, InvalidHashError):
                return False

    def _dummy_hash(self) -> str:
        if not self._dummy_password_hash:
            with self.slots.slot():
                self._dummy_password_hash = self.argon2.hash(secrets.token_urlsafe(16))
        return self._dummy_password_hash

    def _pin_digest(self, salt: bytes, pin: str) -> bytes:
        return hmac.new(self.pin_key, salt + pin.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


def make_hasher(settings: dict[str, Any], secret_key: str) -> Hasher:
    """The app's hasher from [security]; production refuses to start without a PIN key."""
    security = settings["security"]
    argon2 = PasswordHasher(time_cost=int(security["argon2_time_cost"]),
                            memory_cost=int(security["argon2_memory_kib"]),
                            parallelism=int(security["argon2_parallelism"]))
    slots = SlowHashSlots(int(security["max_concurrent_slow_hashes"]),
                          float(security["slow_hash_wait_seconds"]),
                          str(security["slow_hash_lock_dir"]),
                          float(security["slow_hash_busy_share"]),
                          float(security["slow_hash_burst_seconds"]))
    return Hasher(argon2, pin_key(settings, secret_key), slots)


def pin_key(settings: dict[str, Any], secret_key: str) -> bytes:
    """[security] pin_key (LOYALTY_PIN_KEY; config.py checks it); outside production, when it
    is not set, a key derived from the app's secret key (HKDF), so development and tests need
    no setting."""
    configured = str(settings["security"]["pin_key"] or "")
    if configured:
        return configured.encode()
    if settings["service"]["env"] == "production":   # config.py refuses this first
        raise ConfigError("production needs LOYALTY_PIN_KEY")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"pos-loyalty pin hash").derive(secret_key.encode())


def new_terminal_key() -> str:
    return TERMINAL_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Keys carry 256 random bits, so SHA-256 is enough and lets us look a key up by hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def app_hasher() -> Hasher:
    """The running app's hasher, built once from [security] by create_app()."""
    from flask import current_app
    return current_app.extensions["pos_loyalty.hasher"]
