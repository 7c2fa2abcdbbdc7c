"""What proves the customer is at the till, before points are spent (PRODUCT rule 11).

Earning needs only the card number. Spending needs the customer there, and a till shows it
with what it sends besides the number (`TillEvidence`); `rules.presence_refusal` decides what
that proves:
- the card scanned: a plastic card's barcode, or the phone's card with its live code
  (`pos_loyalty.live_codes`);
- a proof: a short-lived token that identify hands out once the PIN is right, and the till's
  look-up of a scanned card too. It names the terminal, the account and the moment it ends,
  signed with HMAC-SHA256 under a key derived from [service] secret_key, so no table keeps it;
  it is good for that terminal and that account only, for `[security] proof_seconds`.
"""
from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from pos_loyalty import live_codes, rules
from pos_loyalty.models import Terminal

PROOF_PREFIX = "pf1"
PROOF_MAX_LENGTH = 200      # ours are under 90 characters
_ID_MAX_DIGITS = 19


def _epoch(moment: dt.datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(key: bytes, terminal_id: int, account_id: int, expires_at: dt.datetime) -> str:
    """`pf1.<terminal>.<account>.<end, Unix seconds>.<signature>`."""
    body = f"{PROOF_PREFIX}.{terminal_id}.{account_id}.{_epoch(expires_at)}"
    return f"{body}.{_mac(key, body)}"


def holder(key: bytes, token: str, terminal_id: int, now: dt.datetime) -> int | None:
    """The account a proof was given for, when it is ours, for this terminal and not over;
    None for anything else."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != PROOF_PREFIX or not all(
            part.isascii() and part.isdigit() and len(part) <= _ID_MAX_DIGITS
            for part in parts[1:4]):
        return None
    if not hmac.compare_digest(parts[4].encode(), _mac(key, ".".join(parts[:4])).encode()):
        return None
    if int(parts[1]) != terminal_id or int(parts[3]) <= _epoch(now):
        return None
    return int(parts[2])


def app_key() -> bytes:
    """The proofs' key: a key of its own derived from the app secret."""
    from flask import current_app
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"pos-loyalty till proof", hashlib.sha256).digest()


@dataclass(frozen=True)
class Proof:
    token: str
    expires_at: dt.datetime

    def to_json(self) -> dict[str, str]:
        return {"proof": self.token,
                "proof_expires_at": self.expires_at.replace(microsecond=0).isoformat() + "Z"}


NO_PROOF = {"proof": None, "proof_expires_at": None}


def grant(terminal: Terminal, account_id: int, now: dt.datetime) -> Proof:
    """A proof that the account's customer is at this terminal, good for [security]
    proof_seconds."""
    from flask import current_app
    seconds = int(current_app.config["LOYALTY"]["security"]["proof_seconds"])
    expires_at = now.replace(microsecond=0) + dt.timedelta(seconds=seconds)
    return Proof(issue(app_key(), terminal.id, account_id, expires_at), expires_at)


@dataclass(frozen=True)
class TillEvidence:
    """What a till sent besides the card number, to be judged once the account is known."""
    terminal_id: int
    card_entry: str                 # rules.CARD_ENTRIES
    live_code: str | None           # read after the card number, if any
    proof: str | None
    now: dt.datetime

    def card_entry_for(self, account_id: int, card_kind: str,
                       live_code_secret: str | None) -> rules.CardEntry:
        """The facts `rules.presence_refusal` judges. A valid proof settles it, so the live
        code is then neither checked nor counted; nor is it when the number was typed."""
        proof_valid = (self.proof is not None
                       and holder(app_key(), self.proof, self.terminal_id, self.now) == account_id)
        live = None
        if self.live_code is not None and not proof_valid and self.card_entry == "scanned":
            live = live_codes.check(account_id, live_code_secret, self.live_code, self.now,
                                    live_codes.app_settings())
        return rules.CardEntry(how=self.card_entry, card_kind=card_kind, live_code=live,
                               proof_sent=self.proof is not None, proof_valid=proof_valid)

    def proves_presence(self, account_id: int, card_kind: str,
                        live_code_secret: str | None) -> bool:
        return rules.presence_refusal(
            self.card_entry_for(account_id, card_kind, live_code_secret)) is None

    def require_for_spending(self, points: int, account_id: int, card_kind: str,
                             live_code_secret: str | None) -> None:
        """ProofRequired unless spending `points` needs nothing or the customer is there."""
        if points > 0:
            rules.require_presence(points, self.card_entry_for(account_id, card_kind,
                                                               live_code_secret))


def proof_json(proof: Proof | None) -> dict[str, Any]:
    return NO_PROOF if proof is None else proof.to_json()
