"""Production refuses settings under which limits or webhook signatures mean less than they say:
per-worker rate-limit counters, and Twilio without the public URL its signatures cover."""
from __future__ import annotations

from typing import Any

import pytest

from pos_loyalty.config import ConfigError, load_settings

SECRET = "s" * 48
REDIS = "redis://127.0.0.1:6379/0"


def production(**sections: dict[str, Any]) -> dict[str, Any]:
    service = {"env": "production", "secret_key": SECRET,
               "database_url": "postgresql+psycopg://loyalty@db/loyalty",
               "rate_limit_storage_url": REDIS, **sections.pop("service", {})}
    security = {"pin_key": "p" * 32, **sections.pop("security", {})}
    return load_settings({"service": service, "security": security, **sections}, environ={})


@pytest.mark.parametrize("storage", ["memory://", ""])
def test_production_refuses_per_worker_rate_limit_counters(storage):
    with pytest.raises(ConfigError, match="rate_limit_storage_url"):
        production(service={"rate_limit_storage_url": storage})


def test_production_accepts_redis_for_rate_limits():
    assert production()["service"]["rate_limit_storage_url"] == REDIS


def test_development_may_count_in_memory():
    settings = load_settings({"service": {"rate_limit_storage_url": "memory://"}}, environ={})
    assert settings["service"]["rate_limit_storage_url"] == "memory://"


@pytest.mark.parametrize("twilio", [{"twilio_account_sid": "AC" + "0" * 32},
                                    {"twilio_auth_token": "token"}])
def test_production_with_twilio_needs_the_public_base_url(twilio):
    with pytest.raises(ConfigError, match="public_base_url"):
        production(sms=twilio)


def test_production_with_twilio_and_its_public_base_url_starts():
    sms = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "token",
           "public_base_url": "https://loyalty.example.com"}
    assert production(sms=sms)["sms"]["public_base_url"] == "https://loyalty.example.com"


def test_production_without_twilio_needs_no_public_base_url():
    assert production()["sms"]["public_base_url"] == ""
