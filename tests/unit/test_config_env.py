"""The environment name and the secret key: production never runs on the development secret."""
from __future__ import annotations

import pytest

from pos_loyalty.config import (
    DEVELOPMENT_SECRET_KEY, ConfigError, load_settings, secret_key,
)

STRONG_SECRET = "k" * 32
DATABASE_URL = "postgresql+psycopg://loyalty@db.internal/loyalty"


def production(**extra: str) -> dict[str, str]:
    return {"LOYALTY_ENV": "production", "LOYALTY_SECRET_KEY": STRONG_SECRET,
            "LOYALTY_DATABASE_URL": DATABASE_URL,
            # production refuses rate limits counted per process
            "LOYALTY_SERVICE__RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/7",
            "LOYALTY_PIN_KEY": "test-pin-key-of-at-least-32-chars-x", **extra}


@pytest.mark.parametrize("name", ["Production", "PRODUCTION", "prod", "production ", "staging",
                                  "test", ""])
def test_an_unknown_environment_name_is_refused(name: str):
    with pytest.raises(ConfigError, match="must be one of development, production"):
        load_settings(environ={"LOYALTY_ENV": name, "LOYALTY_SECRET_KEY": STRONG_SECRET})


def test_a_misspelled_production_never_signs_with_the_development_secret():
    """LOYALTY_ENV=Production with no secret used to start, signing with the known secret."""
    with pytest.raises(ConfigError):
        secret_key(load_settings(environ={"LOYALTY_ENV": "Production",
                                          "LOYALTY_DATABASE_URL": DATABASE_URL}))


def test_production_starts_with_a_secret_of_32_bytes_and_signs_with_it():
    settings = load_settings(environ=production())
    assert settings["service"]["env"] == "production"
    assert secret_key(settings) == STRONG_SECRET


@pytest.mark.parametrize("secret", ["k" * 31, "short", DEVELOPMENT_SECRET_KEY])
def test_production_refuses_a_short_or_the_development_secret(secret: str):
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_settings(environ=production(LOYALTY_SECRET_KEY=secret))


def test_the_secret_length_counts_bytes_not_characters():
    # 16 characters, 32 bytes in UTF-8.
    assert secret_key(load_settings(environ=production(LOYALTY_SECRET_KEY="é" * 16))) == "é" * 16


def test_production_still_needs_its_secret_and_database():
    with pytest.raises(ConfigError, match="needs LOYALTY_SECRET_KEY"):
        load_settings(environ=production(LOYALTY_SECRET_KEY=""))
    with pytest.raises(ConfigError, match="needs LOYALTY_DATABASE_URL"):
        load_settings(environ=production(LOYALTY_DATABASE_URL=""))


def test_development_without_a_secret_signs_with_the_development_secret():
    assert secret_key(load_settings(environ={})) == DEVELOPMENT_SECRET_KEY
    assert secret_key(load_settings(environ={"LOYALTY_SECRET_KEY": "mine"})) == "mine"


def test_the_signing_secret_of_a_production_without_one_is_refused_even_unchecked():
    """create_app asks `secret_key`, which refuses on its own, whatever `load_settings` let by."""
    with pytest.raises(ConfigError, match="needs LOYALTY_SECRET_KEY"):
        secret_key({"service": {"env": "production", "secret_key": ""}})
