"""Signed "add to wallet" links (printed on a receipt, sent by SMS): `/wallet/<token>` opens a
page with the Apple and Google buttons for one customer's card, with no login.

The token is a JWT (HS256, a key of its own derived from the app secret, audience
"wallet-link") naming the program and the account, valid [wallet] link_hours. It hands out
the card the customer already carries, never the right to spend: that needs the customer
at the till (README "Possession").
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac

import jwt
from flask import current_app
from sqlalchemy import select

from pos_loyalty.db import db
from pos_loyalty.errors import WalletLinkInvalid
from pos_loyalty.models import Account, Program
from pos_loyalty.notify.channels import wallet_config

AUDIENCE = "wallet-link"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["aud", "sub", "prg", "iat", "exp"]


def link_token(program: Program, account_id: int, now: dt.datetime) -> str:
    """A token for the account's "add to wallet" page, valid [wallet] link_hours from `now`."""
    hours = int(wallet_config(program)["link_hours"])
    claims = {"aud": AUDIENCE, "sub": str(account_id), "prg": program.slug,
              "iat": _epoch(now), "exp": _epoch(now + dt.timedelta(hours=hours))}
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def wallet_offered(program: Program) -> bool:
    """Whether the program offers its card in a wallet: Apple's pass or Google's issuer
    configured, and a public address for the link's page."""
    config = wallet_config(program)
    apple = all(config[key] for key in ("apple_pass_type_id", "apple_team_id",
                                        "apple_pass_certificate_file", "apple_pass_key_file",
                                        "apple_wwdr_certificate_file"))
    google = bool(config["google_issuer_id"] and config["google_service_account_file"])
    return bool(config["public_base_url"]) and (apple or google)


def receipt_link(program: Program, account_id: int | None, now: dt.datetime) -> str | None:
    """The add-to-wallet page for a receipt's customer whose card is in no wallet yet; None
    when there is none to offer."""
    account = db.session.get(Account, account_id) if account_id else None
    if account is None or account.wallet_passes or account.status == "closed" \
            or not wallet_offered(program):
        return None
    return link_url(program, account.id, now)


def link_url(program: Program, account_id: int, now: dt.datetime) -> str:
    """The page's address as customers reach it ([wallet] public_base_url)."""
    base = str(wallet_config(program)["public_base_url"] or "").rstrip("/")
    return f"{base}/wallet/{link_token(program, account_id, now)}"


def program_of_link(token: str, now: dt.datetime) -> Program:
    """The program a valid, unexpired link belongs to."""
    program = db.session.scalar(select(Program).where(
        Program.slug == _claims(token, now)["prg"]))
    if program is None:
        raise WalletLinkInvalid()
    return program


def account_of_link(program: Program | str, token: str, now: dt.datetime) -> int:
    """The account id of a valid, unexpired link of `program` (a Program or its slug);
    WalletLinkInvalid for anything else, an account since erased or moved included."""
    claims = _claims(token, now)
    slug = program if isinstance(program, str) else program.slug
    if claims["prg"] != slug:
        raise WalletLinkInvalid()
    account_id = int(claims["sub"])
    found = db.session.scalar(select(Account.id).join(Program, Program.id == Account.program_id)
                              .where(Account.id == account_id, Program.slug == slug,
                                     Account.status != "closed"))
    if found is None:
        raise WalletLinkInvalid()
    return account_id


def _claims(token: str, now: dt.datetime) -> dict:
    try:
        claims = jwt.decode(token, _key(), algorithms=[ALGORITHM], audience=AUDIENCE,
                            # exp is checked against the app's clock below, not the wall clock.
                            options={"require": REQUIRED_CLAIMS, "verify_exp": False,
                                     "verify_iat": False})
    except jwt.PyJWTError as error:
        raise WalletLinkInvalid() from error
    valid = (isinstance(claims["exp"], int) and isinstance(claims["prg"], str)
             and isinstance(claims["sub"], str) and claims["sub"].isascii()
             and claims["sub"].isdigit() and len(claims["sub"]) < 19)
    if not valid or claims["exp"] <= _epoch(now):
        raise WalletLinkInvalid()
    return claims


def _epoch(moment: dt.datetime) -> int:
    """Seconds since the epoch of a naive UTC moment."""
    return calendar.timegm(moment.utctimetuple())


def _key() -> bytes:
    """A key of its own derived from the app secret."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"pos-loyalty wallet link", hashlib.sha256).digest()
