"""Spending needs the customer at the till: what each entry proves, the phone's live code
(RFC 6238) and the till's proof, worked through without a database."""
from __future__ import annotations

import datetime as dt

import pytest

from pos_loyalty import live_codes, proofs
from pos_loyalty.errors import ProofRequired
from pos_loyalty.live_codes import LiveCodeSettings, code_at, step_at, verdict
from pos_loyalty.rules import CardEntry, presence_refusal, require_presence

# --- what an entry proves ------------------------------------------------------------------


def entry(how: str = "scanned", kind: str = "plastic", live_code: str | None = None,
          proof_sent: bool = False, proof_valid: bool = False) -> CardEntry:
    return CardEntry(how, kind, live_code, proof_sent, proof_valid)


@pytest.mark.parametrize(("card_entry", "refusal"), [
    (entry(), None),
    (entry(how="typed"), "typed_number"),
    (entry(kind="virtual"), "virtual_card_without_live_code"),
    (entry(kind="virtual", live_code="valid"), None),
    (entry(kind="plastic", live_code="valid"), None),
    (entry(kind="virtual", live_code="expired"), "live_code_expired"),
    (entry(kind="plastic", live_code="invalid"), "live_code_invalid"),
    (entry(kind="virtual", live_code="locked"), "live_code_locked"),
    (entry(how="typed", kind="virtual", live_code="valid"), "typed_number"),
    (entry(how="typed", proof_sent=True, proof_valid=True), None),
    (entry(how="typed", proof_sent=True), "proof_invalid"),
    (entry(proof_sent=True), None),     # an old proof does not undo a scanned plastic card
])
def test_what_an_entry_proves(card_entry, refusal):
    assert presence_refusal(card_entry) == refusal


def test_spending_without_the_customer_is_refused_earning_is_not():
    require_presence(0, entry(how="typed"))
    with pytest.raises(ProofRequired) as refused:
        require_presence(1, entry(how="typed"))
    assert (refused.value.status, refused.value.code) == (403, "proof_required")
    assert refused.value.details == {"reason": "typed_number"}


# --- the phone's live code -----------------------------------------------------------------

RFC_SECRET = b"12345678901234567890"
SETTINGS = LiveCodeSettings(step_seconds=30, previous_steps=1, wrong_limit="")


def at(unix_seconds: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=unix_seconds)


@pytest.mark.parametrize(("unix_seconds", "code"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")])
def test_codes_are_rfc_6238_totp_with_sha1(unix_seconds, code):
    """RFC 6238 appendix B, SHA-1 (the RFC's vectors have 8 digits; the phone shows 6)."""
    assert code_at(RFC_SECRET, step_at(at(unix_seconds), 30), digits=8) == code
    assert code_at(RFC_SECRET, step_at(at(unix_seconds), 30)) == code[2:]


def test_the_phone_shows_this_step_s_code_until_the_step_ends():
    shown = live_codes.current(RFC_SECRET, at(1111111109), SETTINGS)
    assert shown == live_codes.LiveCode("081804", at(1111111110))


def test_the_previous_code_still_counts_then_it_is_expired_then_unknown():
    shown_at = at(1_800_000_000)
    code = live_codes.current(RFC_SECRET, shown_at, SETTINGS).code
    later = [verdict(RFC_SECRET, code, shown_at + dt.timedelta(seconds=s), SETTINGS)
             for s in (0, 29, 30, 59, 60, 300, 359, 360)]
    assert later == ["valid", "valid", "valid", "valid", "expired", "expired", "expired",
                     "invalid"]


def test_a_code_from_the_future_or_another_secret_or_no_secret_is_invalid():
    now = at(1_800_000_000)
    next_step = code_at(RFC_SECRET, step_at(now, 30) + 1)
    assert verdict(RFC_SECRET, next_step, now, SETTINGS) == "invalid"
    assert verdict(b"another secret of 20b", live_codes.current(RFC_SECRET, now, SETTINGS).code,
                   now, SETTINGS) == "invalid"
    assert verdict(None, "123456", now, SETTINGS) == "invalid"


# --- the till's proof ----------------------------------------------------------------------

KEY = b"k" * 32
NOW = dt.datetime(2026, 11, 30, 10, 0, 0)
ENDS = NOW + dt.timedelta(minutes=5)


def test_a_proof_names_the_customer_for_its_terminal_until_it_ends():
    token = proofs.issue(KEY, 7, 42, ENDS)
    assert token.startswith("pf1.7.42.")
    assert proofs.holder(KEY, token, 7, NOW) == 42
    assert proofs.holder(KEY, token, 7, ENDS - dt.timedelta(seconds=1)) == 42
    assert proofs.holder(KEY, token, 7, ENDS) is None
    assert proofs.holder(KEY, token, 8, NOW) is None
    assert proofs.holder(b"x" * 32, token, 7, NOW) is None


def test_a_proof_changed_by_hand_is_worth_nothing():
    token = proofs.issue(KEY, 7, 42, ENDS)
    body, signature = token.rsplit(".", 1)
    for forged in (token.replace(".42.", ".43."), token.replace(".7.", ".8.", 1),
                   f"{body[:-1]}9.{signature}", token[:-1], "", "pf1", "pf1.7.42.1.x.y",
                   "pf1.7.42.٣.sig", "pf1.-7.42.1.sig", f"{token}é", "pf1.7.42." + "9" * 30 + ".s"):
        assert proofs.holder(KEY, forged, 7, NOW) is None, forged
