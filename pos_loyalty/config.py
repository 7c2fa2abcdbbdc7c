"""Settings: config/default.toml, then the file named by LOYALTY_CONFIG, then LOYALTY_* variables.

Read only inside create_app(), never at import time, so tests and tools can build apps with
their own settings side by side.
"""
from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "default.toml"

# Short names for the settings an operator sets most often, and Twilio's own variable names.
# Their values are taken as plain text (an auth token of digits stays a string).
ENV_SHORTCUTS = {
    "LOYALTY_DATABASE_URL": ("service", "database_url"),
    "LOYALTY_SECRET_KEY": ("service", "secret_key"),
    "LOYALTY_ENV": ("service", "env"),
    "LOYALTY_PIN_KEY": ("security", "pin_key"),
    "TWILIO_ACCOUNT_SID": ("sms", "twilio_account_sid"),
    "TWILIO_AUTH_TOKEN": ("sms", "twilio_auth_token"),
    "TWILIO_MESSAGING_SERVICE_SID": ("sms", "twilio_messaging_service_sid"),
    "TWILIO_FROM": ("sms", "twilio_from"),
    "LOYALTY_TWILIO_API_BASE_URL": ("sms", "twilio_api_base_url"),
}

# The only names [service] env may take, spelled exactly: anything else ("Production",
# "prod") would quietly run as development, with its signing key known to the world.
ENVIRONMENTS = ("development", "production")
# The secret a development app signs with when none is set; production never uses it.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"
# Sessions, JWTs and one-time codes are HMAC-SHA256 keyed with the secret: shorter than the
# hash itself it weakens them (RFC 2104), and a short one can be guessed offline.
MIN_PIN_KEY_LENGTH = 32
MIN_PRODUCTION_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """The settings cannot run the service (e.g. production without a secret key)."""


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge every source, later ones winning, and check the result can run."""
    environ = os.environ if environ is None else environ
    settings = _read_toml(DEFAULT_CONFIG_PATH)
    extra_file = environ.get("LOYALTY_CONFIG")
    if extra_file:
        _merge(settings, _read_toml(Path(extra_file)))
    _merge(settings, _from_environment(environ))
    if overrides:
        _merge(settings, copy.deepcopy(dict(overrides)))
    _check(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """LOYALTY_DATABASE_URL-style shortcuts, and LOYALTY_<SECTION>__<KEY> for any other key."""
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if name in ENV_SHORTCUTS:
            section, key = ENV_SHORTCUTS[name]
            found.setdefault(section, {})[key] = value
        elif name.startswith("LOYALTY_") and "__" in name:
            section, _, key = name[len("LOYALTY_"):].lower().partition("__")
            found.setdefault(section, {})[key] = _parse_env_value(value)
    return found


def _parse_env_value(value: str) -> Any:
    """Numbers and booleans from the environment arrive as text; TOML syntax reads them back."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _check(settings: dict[str, Any]) -> None:
    service = settings["service"]
    env = service.get("env")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"LOYALTY_ENV (or [service] env) is {env!r}: it must be one of "
                          f"{', '.join(ENVIRONMENTS)}, in lower case")
    if env == "production":
        secret = str(service.get("secret_key") or "")
        if not secret:
            raise ConfigError("production needs LOYALTY_SECRET_KEY")
        if secret == DEVELOPMENT_SECRET_KEY \
                or len(secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise ConfigError(f"production needs a LOYALTY_SECRET_KEY of at least "
                              f"{MIN_PRODUCTION_SECRET_BYTES} bytes (e.g. python -c 'import "
                              f"secrets; print(secrets.token_urlsafe(48))')")
        if not service.get("database_url"):
            raise ConfigError("production needs LOYALTY_DATABASE_URL")
    _check_pin_key(settings)
    _check_shared_limits_and_webhooks(settings)


def _check_pin_key(settings: dict[str, Any]) -> None:
    """PINs are hashed under a key kept out of the database (pos_loyalty.security): production
    must name one, and any key set must be long enough to be guessed by no one."""
    key = str(settings["security"].get("pin_key") or "")
    if not key and settings["service"].get("env") == "production":
        raise ConfigError("production needs LOYALTY_PIN_KEY (or [security] pin_key): the key "
                          "of the PIN hashes, kept apart from LOYALTY_SECRET_KEY (e.g. python "
                          "-c 'import secrets; print(secrets.token_urlsafe(48))')")
    if key and len(key) < MIN_PIN_KEY_LENGTH:
        raise ConfigError(f"[security] pin_key (LOYALTY_PIN_KEY) needs at least "
                          f"{MIN_PIN_KEY_LENGTH} characters")


def secret_key(settings: Mapping[str, Any]) -> str:
    """What sessions and tokens are signed with: the configured secret; only a development
    app without one uses the well-known development secret."""
    service = settings["service"]
    if service.get("secret_key"):
        return str(service["secret_key"])
    if service.get("env") != "development":
        raise ConfigError(f"{service.get('env')!r} needs LOYALTY_SECRET_KEY")
    return DEVELOPMENT_SECRET_KEY


def _check_shared_limits_and_webhooks(settings: dict[str, Any]) -> None:
    """Production counts its rate limits where every worker and server sees them, and checks
    Twilio's signatures against the public URL it was told, never one a request names."""
    if settings["service"].get("env") != "production":
        return
    storage = str(settings["service"].get("rate_limit_storage_url") or "")
    if not storage or storage.startswith("memory:"):
        raise ConfigError(
            "production needs [service] rate_limit_storage_url on storage every worker shares, "
            "e.g. LOYALTY_SERVICE__RATE_LIMIT_STORAGE_URL=redis://127.0.0.1:6379/0: memory:// "
            "counts in each worker, so every limit is multiplied by the number of workers")
    sms = settings["sms"]
    twilio = sms.get("twilio_account_sid") or sms.get("twilio_auth_token")
    if twilio and not sms.get("public_base_url"):
        raise ConfigError(
            "production with Twilio needs [sms] public_base_url (e.g. "
            "LOYALTY_SMS__PUBLIC_BASE_URL=https://loyalty.example.com): Twilio's signatures "
            "are checked against it")
