"""Sessions of the phone app: JWT access tokens and rotating refresh tokens.

An access token is a JWT (15 minutes) naming the account (`sub`), the program (`pid`) and the
session (`sid`), signed with the one algorithm of [mobile] jwt_algorithm: HS256 with a key derived
from the app secret, or EdDSA/RS256 with the configured key files. Every request also checks that
the session is still open, so a logout or a PIN change ends it at once. A refresh token is used
once: refreshing marks it used and hands out the next one of the same session. Presenting a used
token again means someone else holds a copy, so the whole session is revoked.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding, PublicFormat, load_pem_private_key, load_pem_public_key)
from flask import Flask, current_app
from sqlalchemy import select, update

from pos_loyalty import devices
from pos_loyalty.config import ConfigError
from pos_loyalty.db import db
from pos_loyalty.models import Account, MobileSession, Program, RefreshToken
from pos_loyalty.security import hash_api_key

from pos_loyalty.errors import InvalidToken, Refusal, TokenReused

REFRESH_TOKEN_PREFIX = "rt_"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "pid", "sid"]
KEYS_EXTENSION = "mobile_api.jwt_keys"
# The algorithms jwt_algorithm may name, and for the key-file ones the key types they accept.
KEY_TYPES: dict[str, tuple[str, tuple[type, ...], tuple[type, ...]]] = {
    "EdDSA": ("an Ed25519 or Ed448", (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey),
              (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)),
    "RS256": ("an RSA", (rsa.RSAPrivateKey,), (rsa.RSAPublicKey,)),
}
ALGORITHMS = ("HS256", *KEY_TYPES)
# Shorter RSA keys are breakable, and PyJWT warns about them on every token.
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def to_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer", "expires_in": self.expires_in}


@dataclass(frozen=True)
class Caller:
    """Who an access token speaks for."""
    account: Account
    session_id: int


def _settings() -> dict[str, Any]:
    return current_app.config["LOYALTY"]["mobile"]


@dataclass(frozen=True)
class JwtKeys:
    """The configured algorithm and, for EdDSA/RS256, its key pair (None for HS256)."""
    algorithm: str
    private_key: Any = None
    public_key: Any = None


def init_jwt_keys(app: Flask) -> None:
    """Load [mobile] jwt_* once, when the app is built: a bad setting stops the start-up."""
    app.extensions[KEYS_EXTENSION] = load_jwt_keys(app.config["LOYALTY"]["mobile"])


def load_jwt_keys(settings: dict[str, Any]) -> JwtKeys:
    """The algorithm and keys the [mobile] settings name, or a ConfigError saying what is wrong."""
    algorithm = settings["jwt_algorithm"]
    private_file = settings["jwt_private_key_file"]
    public_file = settings["jwt_public_key_file"]
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"[mobile] jwt_algorithm must be one of {', '.join(ALGORITHMS)}, "
                          f"not {algorithm!r}")
    if algorithm == "HS256":
        if private_file or public_file:
            raise ConfigError("[mobile] jwt_private_key_file/jwt_public_key_file are set but "
                              "jwt_algorithm is HS256, which signs with the app secret; set "
                              "jwt_algorithm to EdDSA or RS256, or empty the key files")
        return JwtKeys(algorithm)
    if not private_file or not public_file:
        raise ConfigError(f"[mobile] jwt_algorithm = {algorithm} needs jwt_private_key_file and "
                          "jwt_public_key_file (PEM files)")
    private_key = _load_key("jwt_private_key_file", private_file, algorithm, private=True)
    public_key = _load_key("jwt_public_key_file", public_file, algorithm, private=False)
    if _public_bytes(private_key.public_key()) != _public_bytes(public_key):
        raise ConfigError(f"[mobile] jwt_private_key_file {private_file} and "
                          f"jwt_public_key_file {public_file} are not one key pair")
    return JwtKeys(algorithm, private_key, public_key)


def _load_key(setting: str, path: str, algorithm: str, private: bool) -> Any:
    kind = "private" if private else "public"
    described, private_types, public_types = KEY_TYPES[algorithm]
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"[mobile] {setting}: cannot read {path} ({exc.strerror})") from exc
    try:
        key = load_pem_private_key(pem, password=None) if private else load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:  # TypeError: an encrypted private key
        raise ConfigError(f"[mobile] {setting}: {path} is not an unencrypted PEM {kind} key "
                          f"({exc})") from exc
    if not isinstance(key, private_types if private else public_types):
        raise ConfigError(f"[mobile] {setting}: {path} holds a {type(key).__name__}, but "
                          f"{algorithm} needs {described} {kind} key")
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) and key.key_size < MIN_RSA_BITS:
        raise ConfigError(f"[mobile] {setting}: {path} is a {key.key_size}-bit RSA key; "
                          f"{algorithm} needs at least {MIN_RSA_BITS} bits")
    return key


def _public_bytes(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _keys() -> JwtKeys:
    return current_app.extensions[KEYS_EXTENSION]


def hs256_secret() -> bytes:
    """The HS256 key: a key of its own derived from the app secret (always 256 bits long)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"pos-loyalty mobile access token", hashlib.sha256).digest()


def signing_key() -> Any:
    """What access tokens are signed with: the private key, or the HS256 secret."""
    keys = _keys()
    return hs256_secret() if keys.private_key is None else keys.private_key


def verifying_key() -> Any:
    """What access tokens are checked with: the public key, or the HS256 secret."""
    keys = _keys()
    return hs256_secret() if keys.public_key is None else keys.public_key


def _epoch(moment: dt.datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def _access_token(session: MobileSession, now: dt.datetime) -> tuple[str, int]:
    lifetime = int(_settings()["access_token_minutes"]) * 60
    claims = {"iss": _settings()["jwt_issuer"], "aud": _settings()["jwt_audience"],
              "sub": str(session.account_id), "pid": session.program_id, "sid": session.id,
              "iat": _epoch(now), "exp": _epoch(now) + lifetime}
    return jwt.encode(claims, signing_key(), algorithm=_keys().algorithm), lifetime


def _new_refresh_token(session: MobileSession, now: dt.datetime) -> str:
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    days = int(_settings()["refresh_token_days"])
    db.session.add(RefreshToken(session_id=session.id, token_hash=hash_api_key(token),
                                created_at=now, expires_at=now + dt.timedelta(days=days)))
    db.session.flush()
    return token


def _pair(session: MobileSession, now: dt.datetime) -> TokenPair:
    access, lifetime = _access_token(session, now)
    return TokenPair(access, _new_refresh_token(session, now), lifetime)


def start_session(program: Program, account: Account, now: dt.datetime) -> TokenPair:
    """A new login: a session and its first pair of tokens."""
    session = MobileSession(program_id=program.id, account_id=account.id, created_at=now)
    db.session.add(session)
    db.session.flush()
    return _pair(session, now)


def refresh(program: Program, token: str, now: dt.datetime) -> TokenPair:
    """The next pair for a refresh token.

    A reused token revokes its session, and that revocation is kept (`Refusal`): whoever
    holds a stolen copy is logged out too.
    """
    row = db.session.execute(
        select(RefreshToken, MobileSession)
        .join(MobileSession, MobileSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == hash_api_key(token))).first()
    if row is None:
        raise InvalidToken()
    refresh_token, session = row
    if session.program_id != program.id or session.revoked_at is not None:
        raise InvalidToken()
    if refresh_token.expires_at <= now:
        raise InvalidToken()
    claimed = db.session.execute(
        update(RefreshToken).where(RefreshToken.id == refresh_token.id,
                                   RefreshToken.used_at.is_(None))
        .values(used_at=now)).rowcount
    if claimed == 0:
        revoke_session(session.id, "reuse", now)
        raise Refusal(TokenReused())
    account = db.session.get(Account, session.account_id)
    if account is None or account.status == "closed":
        raise InvalidToken()
    return _pair(session, now)


def revoke_session(session_id: int, reason: str, now: dt.datetime) -> None:
    """End one login; the phone it registered for pushes stops taking them."""
    db.session.execute(update(MobileSession)
                       .where(MobileSession.id == session_id, MobileSession.revoked_at.is_(None))
                       .values(revoked_at=now, revoked_reason=reason))
    devices.remove_session_devices([session_id])


def revoke_account_sessions(account_id: int, reason: str, now: dt.datetime,
                            keep_session_id: int | None = None) -> None:
    """End every open session of the account, except `keep_session_id` when given, and
    forget the phones they registered for pushes."""
    statement = (update(MobileSession)
                 .where(MobileSession.account_id == account_id,
                        MobileSession.revoked_at.is_(None))
                 .values(revoked_at=now, revoked_reason=reason).returning(MobileSession.id))
    if keep_session_id is not None:
        statement = statement.where(MobileSession.id != keep_session_id)
    devices.remove_session_devices(db.session.scalars(statement).all())


def authenticate(program: Program, authorization: str, now: dt.datetime) -> Caller:
    """The caller of a request from its `Authorization: Bearer <JWT>` header, or InvalidToken."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken()
    claims = _decode(token.strip(), now)
    if claims["pid"] != program.id:
        raise InvalidToken()
    row = db.session.execute(
        select(MobileSession, Account).join(Account, Account.id == MobileSession.account_id)
        .where(MobileSession.id == claims["sid"], MobileSession.program_id == program.id,
               MobileSession.account_id == claims["account_id"],
               MobileSession.revoked_at.is_(None))
        # The session may hold an older copy of the account (expire_on_commit is off).
        .execution_options(populate_existing=True)).first()
    if row is None or row.Account.status == "closed":
        raise InvalidToken()
    return Caller(row.Account, row.MobileSession.id)


def _decode(token: str, now: dt.datetime) -> dict[str, Any]:
    """Claims of a token we signed, unexpired at the app's clock; anything else is 401."""
    try:
        # One algorithm only: a token naming any other (none, HS256 keyed with our public key)
        # is refused before its signature is looked at.
        claims = jwt.decode(
            token, verifying_key(), algorithms=[_keys().algorithm],
            audience=_settings()["jwt_audience"], issuer=_settings()["jwt_issuer"],
            # exp and iat are checked against the app's clock below, not the wall clock.
            options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False})
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if not all(isinstance(claims[name], int) and not isinstance(claims[name], bool)
               for name in ("exp", "pid", "sid")) or not claims["sub"].isdigit():
        raise InvalidToken()
    if claims["exp"] <= _epoch(now):
        raise InvalidToken()
    return {**claims, "account_id": int(claims["sub"])}
