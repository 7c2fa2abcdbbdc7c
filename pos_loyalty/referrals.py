"""Referrals: a newcomer gives a customer's code, and their first qualifying purchase pays both.

Every customer has a short code (`code_of`, made the first time it is asked for). A newcomer
gives it when enrolling, in the app or at the till (`attach`): a `Referral` row waits, and the
account's `referral_pending` flag tells every sale to look at it. The first sale of at least
[rules] referral_min_basket_minor decides it (`reward_first_purchase`): both sides get points
of the kind "referral", pending through the return window like the sale's own points, each
with an SMS. A referral pays once: the referee is unique, and the decision is a conditional
update of a pending row.

Refused, and why. What can be known when the code is given is answered there, as a 422, and
nothing is saved: an unknown code (or one of a closed or blocked account), the customer's own
code, and a customer who is no newcomer: a phone that had an account before, even erased (its
sign-up grant names another account: `bonuses`), an account that has bought already or gave
a code already, or one older than the referrer's. What only the purchase can tell is recorded
on the row (`status` refused, `refusal`): a referrer past [rules] referral_max_per_month
rewarded referrals this calendar month (local time), or whose account is no longer active.
Then neither side is paid: the limit is there against invented newcomers, who would be paid
too.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from pos_loyalty import bonuses, ledger
from pos_loyalty.db import db
from pos_loyalty.errors import (
    ReferralCodeUnknown, ReferralNotNewcomer, ReferralSelf, ValidationFailed,
)
from pos_loyalty.models import Account, BonusGrant, Program, Referral, Sale
from pos_loyalty.notify.texts import babel_locale, money_text, render, sms_config
from pos_loyalty.programs import local_day, local_day_start_utc, rules_for

# Letters and digits that cannot be taken for one another when read aloud or copied by hand:
# no 0/O, no 1/I/L. Eight of them: 31^8, about 8.5 x 10^11 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
# What a till or an app may send as a code: anything longer is not one.
CODE_MAX_INPUT = 32
MAX_DRAWS = 20
FIELD = "referral_code"


# --- codes ----------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def read_code(raw: Any) -> str | None:
    """The code as stored (capitals, no spaces or dashes), or None when none was given; a
    value that is no text, or too long to be one, is a validation error."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > CODE_MAX_INPUT:
        raise ValidationFailed("A referral code is 8 letters and digits.", field=FIELD)
    code = "".join(raw.split()).replace("-", "").upper()
    return code or None


def code_of(program: Program, account: Account) -> str:
    """The account's referral code, made the first time it is asked for: random, unique in
    the program (a clash, rolled back to its savepoint, draws again)."""
    if account.referral_code:
        return account.referral_code
    for _ in range(MAX_DRAWS):
        try:
            with db.session.begin_nested():
                db.session.execute(update(Account).where(
                    Account.id == account.id, Account.referral_code.is_(None))
                    .values(referral_code=new_code()))
        except IntegrityError:
            continue
        # Ours, or the one a concurrent request gave it first (our update then found none).
        db.session.refresh(account, ["referral_code"])
        return account.referral_code
    raise RuntimeError("no free referral code after many draws")


# --- giving a code --------------------------------------------------------------------------

def attach(program: Program, newcomer: Account, raw_code: Any,
           now: dt.datetime) -> Referral | None:
    """Record that `newcomer` gave a code (at enrolment, in the app or at the till), or
    refuse it with a 422 that says why: nothing is saved then. None when no code was given;
    the same code given again (a retried registration) changes nothing."""
    code = read_code(raw_code)
    if code is None:
        return None
    referrer = db.session.scalar(select(Account).where(Account.program_id == program.id,
                                                       Account.referral_code == code))
    if referrer is None or referrer.status != "active":
        raise ReferralCodeUnknown(field=FIELD)
    if referrer.id == newcomer.id:
        raise ReferralSelf(field=FIELD)
    given = db.session.scalar(select(Referral).where(Referral.referee_id == newcomer.id))
    if given is not None:
        if given.referrer_id == referrer.id:
            return given
        raise ReferralNotNewcomer("This customer gave a referral code already.", field=FIELD)
    if not is_newcomer(program, newcomer, referrer):
        raise ReferralNotNewcomer(field=FIELD)
    referral = Referral(program_id=program.id, referrer_id=referrer.id,
                        referee_id=newcomer.id, status="pending", created_at=now)
    db.session.add(referral)
    newcomer.referral_pending = True
    db.session.flush()
    return referral


def is_newcomer(program: Program, account: Account, referrer: Account) -> bool:
    """Whether `account` may be referred: it joined after the referrer (which also keeps the
    rewards' lock order, newcomer then referrer, the same everywhere), has bought nothing, and
    its phone never had another account (its sign-up grant, kept after an erasure, names this
    account or none). An account enrolled before grants were recorded and erased since cannot
    be recognised: its phone was forgotten with it."""
    if account.id < referrer.id or not account.phone_e164:
        return False
    bought = db.session.scalar(select(exists().where(Sale.account_id == account.id)))
    if bought:
        return False
    signed_up_as = db.session.scalars(select(BonusGrant.account_id).where(
        BonusGrant.program_id == program.id, BonusGrant.kind == "signup",
        BonusGrant.person == bonuses.person_key(program, account.phone_e164))).all()
    return all(owner == account.id for owner in signed_up_as)


# --- the first qualifying purchase ------------------------------------------------------------

def reward_first_purchase(program: Program, account_id: int, sale_id: int, total_minor: int,
                          now: dt.datetime) -> None:
    """Decide the account's pending referral on this sale, in the sale's transaction, after
    the sale's rows are written.

    A basket under referral_min_basket_minor leaves it pending. Otherwise the referral is
    rewarded or refused (see the module's docstring), the account's referral_pending flag is
    cleared, and a reward credits both sides. Locks the newcomer (a sale holds that lock
    already), then the referrer, before counting the referrer's rewards this month: rewards
    racing for the same referrer's last place are counted one after the other. Safe to call
    again, or for an account with nothing pending: only a pending row is decided.
    """
    rules = rules_for(program)
    if total_minor < rules.referral_min_basket_minor:
        return
    ledger.lock_account(account_id)
    referral = db.session.scalar(select(Referral).where(Referral.referee_id == account_id)
                                 .execution_options(populate_existing=True))
    if referral is None or referral.status != "pending":
        _clear_pending(account_id)
        return
    ledger.lock_account(referral.referrer_id)
    referrer = db.session.get(Account, referral.referrer_id, populate_existing=True)
    refusal = _refusal(program, referrer, now)
    decided = db.session.execute(
        update(Referral).where(Referral.id == referral.id, Referral.status == "pending")
        .values(status="refused" if refusal else "rewarded", refusal=refusal,
                sale_id=sale_id, decided_at=now)).rowcount
    _clear_pending(account_id)
    if decided != 1 or refusal:
        return
    available_at = now + dt.timedelta(days=rules.pending_days)
    newcomer = db.session.get(Account, account_id, populate_existing=True)
    _pay(program, referral, newcomer, "newcomer", rules.referral_newcomer_points,
         available_at, now)
    _pay(program, referral, referrer, "referrer", rules.referral_bonus_points, available_at,
         now)


def _refusal(program: Program, referrer: Account, now: dt.datetime) -> str | None:
    """Why a referral due now is refused, or None; the referrer's row is locked."""
    if referrer.status != "active":
        return "referrer_not_active"
    limit = rules_for(program).referral_max_per_month
    if limit and rewarded_this_month(program, referrer.id, now) >= limit:
        return "monthly_limit"
    return None


def _clear_pending(account_id: int) -> None:
    db.session.execute(update(Account).where(Account.id == account_id,
                                             Account.referral_pending.is_(True))
                       .values(referral_pending=False))


def _pay(program: Program, referral: Referral, account: Account, role: str, points: int,
         available_at: dt.datetime, now: dt.datetime) -> None:
    if points <= 0 or not bonuses.record_grant(program, "referral", f"referral:{referral.id}",
                                               role, account.id, points, now):
        return
    bonuses.pay_bonus(program, account, "referral", points, now, actor="referral",
                      reason=f"referral {referral.id} ({role})", available_at=available_at,
                      sms={"role": role})


def month_start_utc(program: Program, now: dt.datetime) -> dt.datetime:
    """The first moment of the program's local calendar month, naive UTC."""
    return local_day_start_utc(program, local_day(program, now).replace(day=1))


def rewarded_this_month(program: Program, referrer_id: int, now: dt.datetime) -> int:
    return db.session.scalar(select(func.count()).select_from(Referral).where(
        Referral.referrer_id == referrer_id, Referral.status == "rewarded",
        Referral.decided_at >= month_start_utc(program, now)))


# --- what the phone shows -------------------------------------------------------------------

def summary(program: Program, account: Account, now: dt.datetime) -> dict[str, Any]:
    """The customer's code and the text to share, in their language, what each side gets,
    and how many of this month's referrals were rewarded against the limit (0: none)."""
    rules = rules_for(program)
    code = code_of(program, account)
    return {"code": code, "share_text": share_text(program, account, code),
            "referrer_points": rules.referral_bonus_points,
            "newcomer_points": rules.referral_newcomer_points,
            "min_basket_minor": rules.referral_min_basket_minor, "currency": program.currency,
            "rewarded_this_month": rewarded_this_month(program, account.id, now),
            "max_per_month": rules.referral_max_per_month}


def share_text(program: Program, account: Account, code: str) -> str:
    """The invitation the customer sends friends ([sms.templates] referral_share*)."""
    rules = rules_for(program)
    config = sms_config(program)
    if rules.referral_newcomer_points <= 0:
        return render(program, account, "referral_share_plain", config, code=code)
    if rules.referral_min_basket_minor <= 0:
        return render(program, account, "referral_share_any_basket", config, code=code,
                      points=rules.referral_newcomer_points)
    basket = money_text(program, rules.referral_min_basket_minor,
                        babel_locale(program, account))
    return render(program, account, "referral_share", config, code=code,
                  points=rules.referral_newcomer_points, basket=basket)
