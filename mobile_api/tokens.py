"""Sessions of the phone app: JWT access tokens and rotating refresh tokens.

An access token is a JWT (HS256 only, 15 minutes) naming the account (`sub`), the program
(`pid`) and the session (`sid`); every request also checks that the session is still open, so a
logout or a PIN change ends it at once. A refresh token is used once: refreshing marks it used
and hands out the next one of the same session. Presenting a used token again means someone
else holds a copy, so the whole session is revoked.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import select, update

from pos_loyalty.db import db
from pos_loyalty.models import Account, MobileSession, Program, RefreshToken
from pos_loyalty.security import hash_api_key

from mobile_api.errors import InvalidToken, TokenReused

ALGORITHM = "HS256"
REFRESH_TOKEN_PREFIX = "rt_"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "pid", "sid"]


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


def signing_key() -> bytes:
    """A key of its own for JWTs, derived from the app secret (and always 256 bits long)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"pos-loyalty mobile access token", hashlib.sha256).digest()


def _epoch(moment: dt.datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def _access_token(session: MobileSession, now: dt.datetime) -> tuple[str, int]:
    lifetime = int(_settings()["access_token_minutes"]) * 60
    claims = {"iss": _settings()["jwt_issuer"], "aud": _settings()["jwt_audience"],
              "sub": str(session.account_id), "pid": session.program_id, "sid": session.id,
              "iat": _epoch(now), "exp": _epoch(now) + lifetime}
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM), lifetime


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


def refresh(program: Program, token: str, now: dt.datetime) -> tuple[TokenPair | None,
                                                                      Exception | None]:
    """The next pair for a refresh token, or the error to raise after committing.

    A reused token revokes its session, and that revocation must be committed before the
    caller raises; hence the (pair, error) result, as with accounts.check_pin.
    """
    row = db.session.execute(
        select(RefreshToken, MobileSession)
        .join(MobileSession, MobileSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == hash_api_key(token))).first()
    if row is None:
        return None, InvalidToken()
    refresh_token, session = row
    if session.program_id != program.id or session.revoked_at is not None:
        return None, InvalidToken()
    if refresh_token.expires_at <= now:
        return None, InvalidToken()
    claimed = db.session.execute(
        update(RefreshToken).where(RefreshToken.id == refresh_token.id,
                                   RefreshToken.used_at.is_(None))
        .values(used_at=now)).rowcount
    if claimed == 0:
        revoke_session(session.id, "reuse", now)
        return None, TokenReused()
    account = db.session.get(Account, session.account_id)
    if account is None or account.status == "closed":
        return None, InvalidToken()
    return _pair(session, now), None


def revoke_session(session_id: int, reason: str, now: dt.datetime) -> None:
    db.session.execute(update(MobileSession)
                       .where(MobileSession.id == session_id, MobileSession.revoked_at.is_(None))
                       .values(revoked_at=now, revoked_reason=reason))


def revoke_account_sessions(account_id: int, reason: str, now: dt.datetime,
                            keep_session_id: int | None = None) -> None:
    """End every open session of the account, except `keep_session_id` when given."""
    statement = (update(MobileSession)
                 .where(MobileSession.account_id == account_id,
                        MobileSession.revoked_at.is_(None))
                 .values(revoked_at=now, revoked_reason=reason))
    if keep_session_id is not None:
        statement = statement.where(MobileSession.id != keep_session_id)
    db.session.execute(statement)


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
        claims = jwt.decode(
            token, signing_key(), algorithms=[ALGORITHM], audience=_settings()["jwt_audience"],
            issuer=_settings()["jwt_issuer"],
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
