"""The sign-up bonus, both engines: paid once per person, at the till, in the app or on linking
a plastic card, whichever comes first, with an SMS; never again for a phone that had it, even
after erasing its account."""
from __future__ import annotations

import pytest
from sqlalchemy import delete

from bonus_customers import account_of, enrol, entries, grants, messages
from mobile_app import caller, new_phone, register
from pos_loyalty import accounts, bonuses, ledger, verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, BonusGrant
from pos_loyalty.usecases import phone_app


@pytest.fixture(autouse=True)
def signup_rules(till):
    till.set_rules(signup_bonus_points=30)


def signups(account_id: int) -> list[tuple[int, int]]:
    return [(e.points, e.pending_delta) for e in entries(account_id, "signup")]


def test_enrolling_at_the_till_pays_the_bonus_with_an_sms(shop):
    account = account_of(shop, enrol(shop))
    assert signups(account.id) == [(30, 0)]
    assert shop.balance(accounts.primary_card(account.id).number)["available"] == 30
    [sms] = messages("signup")
    assert (sms.account_id, sms.to_phone, sms.payload) == (
        account.id, account.phone_e164, {"points": 30, "balance": 30})
    [grant] = grants("signup")
    assert (grant.account_id, grant.points, grant.period) == (account.id, 30, "")
    assert grant.person == run_in_transaction(
        lambda: bonuses.person_key(shop.program, account.phone_e164))
    assert verification.verify_accounts() == []


def test_registering_in_the_app_pays_the_bonus(shop):
    me = caller(shop, register(shop))
    assert signups(me.account.id) == [(30, 0)]


def test_a_till_customer_who_registers_in_the_app_is_paid_once(shop):
    phone = new_phone()
    card = enrol(shop, phone=phone)
    register(shop, phone=phone)
    assert signups(account_of(shop, card).id) == [(30, 0)]
    assert len(messages("signup")) == 1


def test_linking_a_plastic_card_pays_nothing_more(shop):
    me = caller(shop, register(shop))
    blank = run_in_transaction(lambda: accounts.issue_cards(shop.program, 1, shop.now))[0]
    phone_app.link_card(shop.program, me, blank, shop.now)
    assert signups(me.account.id) == [(30, 0)]


def test_an_erased_customer_who_enrols_again_gets_no_second_bonus(shop):
    first = register(shop)
    first_id = caller(shop, first).account.id
    phone_app.erase(shop.program, caller(shop, first), shop.now)
    again = caller(shop, register(shop, phone=first.phone))
    assert signups(again.account.id) == []
    phone_app.erase(shop.program, again, shop.now)
    at_the_till = account_of(shop, enrol(shop, phone=first.phone))
    assert signups(at_the_till.id) == []
    assert [g.account_id for g in grants("signup")] == [first_id]
    assert len(messages("signup")) == 1


def test_the_grant_is_written_even_when_the_program_gives_no_points(till, shop):
    till.set_rules(signup_bonus_points=0)
    account = account_of(shop, enrol(shop))
    assert signups(account.id) == []
    assert [(g.account_id, g.points) for g in grants("signup")] == [(account.id, 0)]
    assert messages("signup") == []


def test_granting_twice_pays_once(shop):
    account = account_of(shop, enrol(shop))
    paid = run_in_transaction(lambda: bonuses.grant_signup(
        shop.program, db.session.get(Account, account.id), shop.now, "tests"))
    assert paid == 0
    assert signups(account.id) == [(30, 0)]


def enrolled_before_grants(till, shop, *, old_bonus: int) -> Account:
    """A customer enrolled before bonus grants were recorded: no grant row, and the sign-up
    bonus of that time (a "bonus" entry) when there was one."""
    till.set_rules(signup_bonus_points=0)
    account = account_of(shop, enrol(shop))

    def work() -> None:
        db.session.execute(delete(BonusGrant))
        if old_bonus:
            ctx = ledger.EntryContext(program_id=shop.program.id, now=shop.now,
                                      reason="sign-up bonus")
            ledger.credit(ctx, account.id, old_bonus, "bonus", available_at=shop.now,
                          expires_at=None)
    run_in_transaction(work)
    till.set_rules(signup_bonus_points=30)
    return account


def blank_card(shop) -> str:
    return run_in_transaction(lambda: accounts.issue_cards(shop.program, 1, shop.now))[0]


def test_a_customer_who_had_the_old_sign_up_bonus_gets_no_new_one(till, shop):
    account = enrolled_before_grants(till, shop, old_bonus=20)
    run_in_transaction(lambda: _link(shop, account.id, blank_card(shop)))
    assert signups(account.id) == []
    assert [(g.account_id, g.points) for g in grants("signup")] == [(account.id, 20)]


def test_a_customer_enrolled_before_grants_without_a_bonus_gets_it_on_linking_a_card(till,
                                                                                     shop):
    account = enrolled_before_grants(till, shop, old_bonus=0)
    for _ in range(2):
        run_in_transaction(lambda: _link(shop, account.id, blank_card(shop)))
    assert signups(account.id) == [(30, 0)]


def _link(shop, account_id: int, card_number: str) -> None:
    from pos_loyalty import customer_data
    customer_data.link_plastic_card(shop.program, db.session.get(Account, account_id),
                                    card_number, shop.now)


def test_the_history_names_the_bonus_in_the_customer_s_language(shop):
    customer = register(shop)
    me = caller(shop, customer)
    assert [e["label"] for e in phone_app.history(me, 10, None)["entries"]] == [
        "Bonus de bienvenue"]
    phone_app.update_profile(shop.program, me, {"language": "en"}, shop.now)
    assert [e["label"] for e in phone_app.history(caller(shop, customer), 10, None)[
        "entries"]] == ["Welcome bonus"]


def test_the_person_key_depends_on_the_program_and_the_phone_only(shop, till):
    other, _, _ = till.other_brand()
    keys = run_in_transaction(lambda: [
        bonuses.person_key(shop.program, "+33612345678"),
        bonuses.person_key(shop.program, "+33612345678"),
        bonuses.person_key(shop.program, "+33612345679"),
        bonuses.person_key(db.session.merge(other), "+33612345678")])
    assert keys[0] == keys[1] and len(set(keys)) == 3
    assert keys[0].startswith("phone:") and "612345678" not in keys[0]
