"""Referrals, both engines: a customer's code, given by a newcomer at the till or in the app,
pays both once the newcomer's first purchase reaches the minimum basket; refused when the
code is unknown or one's own, the newcomer was a customer before, or the referrer has had
this month's share.

The sale's transaction decides the referral (`referrals.reward_first_purchase`); these tests
also call it themselves after each sale, as the sale does, so they hold whether or not the
sale calls it, and show a second call changes nothing.
"""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from bonus_customers import (
    account_of, account_with_phone, code_of, enrol, entries, messages, referral_of, reward,
    sell_and_reward,
)
from mobile_app import caller, last_code, new_phone, register
from pos_loyalty import referrals, verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import ReferralCodeUnknown, ReferralNotNewcomer, ReferralSelf
from pos_loyalty.models import Account, Referral
from pos_loyalty.usecases import customers, phone_app
from test_cashier_ui import cashier, words  # noqa: F401


@pytest.fixture(autouse=True)
def referral_rules(till):
    till.set_rules(referral_bonus_points=100, referral_newcomer_points=50,
                   referral_min_basket_minor=1500, referral_max_per_month=2)


@pytest.fixture
def referrer(shop) -> str:
    """A customer of the program, whose code newcomers give."""
    return shop.customer()


# --- codes ---------------------------------------------------------------------------------

def test_a_code_is_eight_unmistakable_characters_made_once(shop, referrer):
    code = code_of(shop, referrer)
    assert len(code) == 8 and set(code) <= set(referrals.CODE_ALPHABET)
    assert not set(code) & set("01ILO")
    assert code_of(shop, referrer) == code
    assert account_of(shop, referrer).referral_code == code


def test_codes_are_unique_in_the_program(shop):
    codes = {code_of(shop, shop.customer()) for _ in range(30)}
    assert len(codes) == 30


def test_a_code_drawn_twice_is_drawn_again(shop, referrer, monkeypatch):
    taken = code_of(shop, referrer)
    draws = iter([taken, taken, "ABCDEFGH"])
    monkeypatch.setattr(referrals, "new_code", lambda: next(draws))
    assert code_of(shop, shop.customer()) == "ABCDEFGH"


def test_a_code_is_read_whatever_its_case_spaces_and_dashes(shop, referrer):
    code = code_of(shop, referrer)
    typed = f" {code[:4].lower()}-{code[4:]} "
    newcomer = enrol(shop, typed)
    assert referral_of(account_of(shop, newcomer).id).referrer_id == \
        account_of(shop, referrer).id


# --- giving a code -------------------------------------------------------------------------

def test_a_newcomer_enrolled_at_the_till_with_a_code_waits_for_a_first_purchase(shop, referrer):
    newcomer = account_of(shop, enrol(shop, code_of(shop, referrer)))
    referral = referral_of(newcomer.id)
    assert (referral.referrer_id, referral.status, referral.created_at) == (
        account_of(shop, referrer).id, "pending", shop.now)
    assert newcomer.referral_pending is True
    assert entries(newcomer.id, "referral") == []


def test_an_unknown_code_refuses_the_enrolment_and_saves_nothing(shop):
    phone = new_phone()
    with pytest.raises(ReferralCodeUnknown) as refused:
        enrol(shop, "ZZZZZZZZ", phone=phone)
    assert refused.value.details == {"field": "referral_code"}
    assert account_with_phone(phone) is None


def test_a_closed_account_s_code_is_unknown(shop):
    customer = register(shop)
    code = run_in_transaction(lambda: referrals.code_of(shop.program,
                                                        caller(shop, customer).account))
    phone_app.erase(shop.program, caller(shop, customer), shop.now)
    with pytest.raises(ReferralCodeUnknown):
        enrol(shop, code)


def test_a_blocked_referrer_s_code_is_unknown(shop, referrer):
    code = code_of(shop, referrer)
    customers.set_account_status(shop.program, referrer, "blocked", "tests", "fraud", shop.now)
    with pytest.raises(ReferralCodeUnknown):
        enrol(shop, code)


def test_a_customer_cannot_give_their_own_code(shop):
    customer = register(shop)
    own = run_in_transaction(lambda: referrals.code_of(shop.program,
                                                       caller(shop, customer).account))
    phone_app.request_registration_code(shop.program, customer.phone, shop.now)
    with pytest.raises(ReferralSelf):
        phone_app.complete_registration(shop.program, customer.phone, last_code(customer.phone),
                                        "1357", shop.now, referral_code=own)
    assert referral_of(caller(shop, customer).account.id) is None


def test_a_phone_that_had_an_erased_account_is_no_newcomer(shop, referrer):
    code = code_of(shop, referrer)
    before = register(shop)
    phone_app.erase(shop.program, caller(shop, before), shop.now)
    with pytest.raises(ReferralNotNewcomer):
        enrol(shop, code, phone=before.phone)
    assert account_with_phone(before.phone) is None   # refused whole: no account made


def test_a_customer_who_bought_already_is_no_newcomer(shop, referrer):
    code = code_of(shop, referrer)
    phone = new_phone()
    card = enrol(shop, phone=phone)
    shop.sell(card, 2000)
    phone_app.request_registration_code(shop.program, phone, shop.now)
    with pytest.raises(ReferralNotNewcomer):
        phone_app.complete_registration(shop.program, phone, last_code(phone), "1357",
                                        shop.now, referral_code=code)


def test_a_customer_older_than_the_referrer_is_no_newcomer(shop):
    phone = new_phone()
    enrol(shop, phone=phone)            # at the till, before the referrer joined
    code = code_of(shop, shop.customer())
    phone_app.request_registration_code(shop.program, phone, shop.now)
    with pytest.raises(ReferralNotNewcomer):
        phone_app.complete_registration(shop.program, phone, last_code(phone), "1357",
                                        shop.now, referral_code=code)


def test_a_till_customer_who_has_not_bought_yet_may_give_a_code_in_the_app(shop, referrer):
    phone = new_phone()
    code = code_of(shop, referrer)
    card = enrol(shop, phone=phone)
    phone_app.request_registration_code(shop.program, phone, shop.now)
    phone_app.complete_registration(shop.program, phone, last_code(phone), "1357", shop.now,
                                    referral_code=code)
    assert referral_of(account_of(shop, card).id).status == "pending"


def test_giving_a_second_code_is_refused_and_the_same_one_changes_nothing(shop, referrer):
    code = code_of(shop, referrer)
    phone = new_phone()
    card = enrol(shop, code, phone=phone)
    for given, outcome in ((code, None), (code_of(shop, shop.customer()), ReferralNotNewcomer)):
        phone_app.request_registration_code(shop.program, phone, shop.now)
        complete = (lambda given=given: phone_app.complete_registration(
            shop.program, phone, last_code(phone), "1357", shop.now, referral_code=given))
        if outcome is None:
            complete()
        else:
            with pytest.raises(outcome):
                complete()
    assert referral_of(account_of(shop, card).id).referrer_id == account_of(shop, referrer).id
    assert db.session.scalar(select(db.func.count()).select_from(Referral)) == 1


# --- the first qualifying purchase ---------------------------------------------------------

def test_the_first_qualifying_purchase_pays_both_once(shop, referrer):
    newcomer = enrol(shop, code_of(shop, referrer))
    sale = sell_and_reward(shop, newcomer, 2000)
    reward(shop, newcomer, sale)                     # again: nothing more
    sell_and_reward(shop, newcomer, 3000)            # a later purchase: nothing more
    new, old = account_of(shop, newcomer), account_of(shop, referrer)
    assert [(e.points, e.pending_delta) for e in entries(new.id, "referral")] == [(50, 0)]
    assert [(e.points, e.pending_delta) for e in entries(old.id, "referral")] == [(100, 0)]
    referral = referral_of(new.id)
    assert (referral.status, referral.refusal, referral.sale_id, referral.decided_at) == (
        "rewarded", None, sale["sale_id"], shop.now)
    assert new.referral_pending is False
    assert shop.balance(newcomer)["available"] == 20 + 50 + 30
    assert shop.balance(referrer)["available"] == 100
    assert [(m.account_id, m.payload) for m in messages("referral")] == [
        (new.id, {"points": 50, "balance": 70, "role": "newcomer"}),
        (old.id, {"points": 100, "balance": 100, "role": "referrer"})]
    assert verification.verify_accounts() == []


def test_a_basket_under_the_minimum_leaves_the_referral_waiting(shop, referrer):
    newcomer = enrol(shop, code_of(shop, referrer))
    sell_and_reward(shop, newcomer, 1499)
    account = account_of(shop, newcomer)
    assert (referral_of(account.id).status, account.referral_pending) == ("pending", True)
    assert entries(account.id, "referral") == []
    sale = sell_and_reward(shop, newcomer, 1500)
    assert referral_of(account.id).sale_id == sale["sale_id"]
    assert len(entries(account.id, "referral")) == 1


def test_referral_points_wait_through_the_return_window(till, shop, referrer):
    till.set_rules(pending_days=14)
    newcomer = enrol(shop, code_of(shop, referrer))
    sell_and_reward(shop, newcomer, 2000)
    new, old = account_of(shop, newcomer), account_of(shop, referrer)
    assert [(e.points, e.pending_delta) for e in entries(old.id, "referral")] == [(0, 100)]
    assert shop.balance(referrer) == {"available": 0, "pending": 100}
    assert [m.payload for m in messages("referral", old.id)] == [
        {"points": 100, "balance": 0, "role": "referrer", "available_on": "2026-03-23"}]
    shop.now += dt.timedelta(days=14)
    assert shop.balance(referrer) == {"available": 100, "pending": 0}
    assert [e.pending_delta for e in entries(new.id, "referral")] == [50]


def test_the_monthly_limit_refuses_the_referral_past_it(shop, referrer):
    code = code_of(shop, referrer)
    newcomers = [enrol(shop, code) for _ in range(3)]
    for newcomer in newcomers:
        sell_and_reward(shop, newcomer, 2000)
    decided = [referral_of(account_of(shop, card).id) for card in newcomers]
    assert [(r.status, r.refusal) for r in decided] == [
        ("rewarded", None), ("rewarded", None), ("refused", "monthly_limit")]
    assert entries(account_of(shop, newcomers[2]).id, "referral") == []
    assert account_of(shop, newcomers[2]).referral_pending is False
    assert shop.balance(referrer)["available"] == 200


def test_the_monthly_limit_counts_the_local_calendar_month(shop, referrer):
    code = code_of(shop, referrer)
    shop.now = dt.datetime(2026, 3, 31, 12, 0)
    for _ in range(2):
        sell_and_reward(shop, enrol(shop, code), 2000)
    late = enrol(shop, code)
    shop.now = dt.datetime(2026, 3, 31, 22, 30)     # 00:30 on 1 April in Paris
    sell_and_reward(shop, late, 2000)
    assert referral_of(account_of(shop, late).id).status == "rewarded"
    assert run_in_transaction(lambda: referrals.rewarded_this_month(
        shop.program, account_of(shop, referrer).id, shop.now)) == 1


def test_a_referrer_no_longer_active_gets_the_referral_refused(shop, referrer):
    newcomer = enrol(shop, code_of(shop, referrer))
    customers.set_account_status(shop.program, referrer, "blocked", "tests", "fraud", shop.now)
    sell_and_reward(shop, newcomer, 2000)
    referral = referral_of(account_of(shop, newcomer).id)
    assert (referral.status, referral.refusal) == ("refused", "referrer_not_active")
    assert entries(account_of(shop, newcomer).id, "referral") == []


def test_an_account_with_nothing_pending_is_left_alone(shop):
    card = shop.customer()
    sell_and_reward(shop, card, 5000)
    assert referral_of(account_of(shop, card).id) is None
    assert entries(account_of(shop, card).id, "referral") == []


def test_rewards_racing_for_a_referrer_s_last_places_never_pass_the_limit(app, till, shop,
                                                                          referrer):
    code = code_of(shop, referrer)
    newcomers = [enrol(shop, code) for _ in range(6)]
    db.session.remove()   # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(len(newcomers))
    failures: list[BaseException] = []

    def buy(card: str, receipt: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                sale = app.test_client().post(
                    "/api/pos/v1/sales", headers={**till.headers, "Idempotency-Key": receipt},
                    json={"card_number": card, "receipt_number": receipt,
                          "total_minor": 2000}).get_json()
                reward(shop, card, sale)
            except BaseException as error:   # reported below, with the thread's traceback
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buy, args=(card, f"RACE{i}"))
               for i, card in enumerate(newcomers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    statuses = sorted(referral_of(account_of(shop, card).id).status for card in newcomers)
    assert statuses == ["refused"] * 4 + ["rewarded"] * 2
    assert len(entries(account_of(shop, referrer).id, "referral")) == 2
    assert shop.balance(referrer)["available"] == 200
    assert verification.verify_accounts() == []


# --- the phone and the till ----------------------------------------------------------------

def test_the_phone_shows_the_code_the_share_text_and_the_month(shop):
    me = caller(shop, register(shop))
    code = phone_app.referral(shop.program, me, shop.now)["code"]
    sell_and_reward(shop, enrol(shop, code), 2000)
    seen = phone_app.referral(shop.program, me, shop.now)
    assert seen == {
        "code": code, "referrer_points": 100, "newcomer_points": 50, "min_basket_minor": 1500,
        "currency": "EUR", "rewarded_this_month": 1, "max_per_month": 2,
        "share_text": f"Rejoignez Demo Boulangerie avec mon code de parrainage {code} : 50 "
                      f"points offerts après votre premier achat d'au moins 15,00 €."}


def test_a_newcomer_s_history_names_the_referral(shop, referrer):
    code = code_of(shop, referrer)
    phone = new_phone()
    phone_app.request_registration_code(shop.program, phone, shop.now)
    tokens = phone_app.complete_registration(shop.program, phone, last_code(phone), "2468",
                                             shop.now, referral_code=code)
    me = phone_app.caller_of(shop.program, f"Bearer {tokens.access_token}", shop.now)
    card = phone_app.my_card(me, shop.now).card.number
    sell_and_reward(shop, card, 2000)
    labels = [(e["kind"], e["label"]) for e in phone_app.history(me, 10, None)["entries"]]
    assert labels == [("referral", "Parrainage"), ("earn", "Achat")]


def test_the_till_enrols_a_newcomer_with_a_code(shop, referrer, cashier):
    code = code_of(shop, referrer)
    page = cashier.post("/cashier/enrol", {"phone": "0612345699", "pin": "2468",
                                           "pin_confirm": "2468",
                                           "referral_code": code.lower()})
    assert page.status_code == 302
    newcomer = account_with_phone("+33612345699")
    assert referral_of(newcomer.id).referrer_id == account_of(shop, referrer).id


def test_the_till_says_why_a_code_is_refused(cashier):
    page = cashier.post("/cashier/enrol", {"phone": "0612345699", "pin": "2468",
                                           "pin_confirm": "2468", "referral_code": "ZZZZ2222"})
    assert page.status_code == 422
    assert "No customer has this referral code: check it, or leave it empty." in words(page)
    assert 'value="ZZZZ2222"' in page.text
    assert db.session.scalar(select(Account).where(Account.phone_e164 == "+33612345699")) \
        is None
