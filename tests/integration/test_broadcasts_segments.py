"""Who a broadcast's segment holds, both engines: a tier, a store's customers (enrolled there
or bought there within a year), those inactive for N days (judged at an explicit moment);
never a blocked or closed account, never another program's."""
from __future__ import annotations

import datetime as dt

import pytest

from broadcast_setup import LONG_AGO, NOW, card_of, member
from offers_setup import LADDER
from pos_loyalty import accounts, programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.errors import ValidationFailed
from pos_loyalty.notify import broadcasts
from pos_loyalty.security import app_hasher
from pos_loyalty.usecases import offers


def held(program, segment: str, as_of: dt.datetime = NOW) -> list[int]:
    parsed = broadcasts.checked_segment(program, segment)
    return [row.id for row in broadcasts.segment_accounts(program, parsed, as_of, 0, 1000)]


def refused_field(program, segment: str) -> str:
    with pytest.raises(ValidationFailed) as refused:
        broadcasts.checked_segment(program, segment)
    return refused.value.details["field"]


def test_all_holds_the_active_accounts_only(app, till):
    active = member(till)
    member(till, status="blocked")
    member(till, status="closed")
    assert held(till.program(), "all") == [active]


def test_a_tier_holds_its_active_members(app, till):
    run_in_transaction(lambda: offers.set_tiers(till.program(), LADDER, NOW, "tests"))
    gold = member(till, tier="gold")
    member(till, tier="silver")
    member(till)
    member(till, tier="gold", status="closed")
    member(till, tier="gold", status="blocked")
    assert held(till.program(), "tier:gold") == [gold]


def test_a_tier_not_on_the_ladder_is_refused(app, till):
    run_in_transaction(lambda: offers.set_tiers(till.program(), LADDER, NOW, "tests"))
    assert refused_field(till.program(), "tier:platinum") == "segment"


def test_a_store_holds_who_enrolled_there_or_bought_there_within_a_year(app, till, shop):
    enrolled_there = member(till, at_store=True)
    recent_buyer = member(till, at_store=True, enrolled_store_id=None)
    old_buyer = member(till, at_store=True, enrolled_store_id=None)
    member(till, at_store=True, enrolled_store_id=None)   # never bought
    member(till, at_store=True, status="closed")
    shop.now = NOW - dt.timedelta(days=364)
    shop.sell(card_of(recent_buyer), 1500)
    shop.now = NOW - dt.timedelta(days=366)
    shop.sell(card_of(old_buyer), 1500)
    assert held(till.program(), f"store:{till.store_id}") == [enrolled_there, recent_buyer]


def test_a_purchase_at_another_store_does_not_count(app, till, shop):
    def second_store():
        store = programs.create_store(till.program(), "Boulangerie Lille")
        return store.id, programs.create_terminal(till.program(), store.id)[0]
    lille, terminal = run_in_transaction(second_store)
    buyer = member(till, at_store=True, enrolled_store_id=None)
    shop.now = NOW - dt.timedelta(days=10)
    shop.sell(card_of(buyer), 1500, terminal=terminal)
    assert held(till.program(), f"store:{till.store_id}") == []
    assert held(till.program(), f"store:{lille}") == [buyer]


def test_another_programs_store_is_refused(app, till):
    other, terminal, _key = till.other_brand()
    assert refused_field(till.program(), f"store:{terminal.store_id}") == "segment"
    assert refused_field(till.program(), "store:999999") == "segment"


def test_inactive_holds_who_enrolled_before_and_bought_nothing_since(app, till, shop):
    silent = member(till, at_store=True)
    lapsed = member(till, at_store=True)
    regular = member(till, at_store=True)
    member(till, at=NOW - dt.timedelta(days=30))          # too new to be inactive
    member(till, status="closed")
    shop.now = NOW - dt.timedelta(days=120)
    shop.sell(card_of(lapsed), 1500)
    shop.now = NOW - dt.timedelta(days=30)
    shop.sell(card_of(regular), 1500)
    assert held(till.program(), "inactive:90") == [silent, lapsed]
    assert held(till.program(), "inactive:150") == [silent]
    # Judged at the moment given: 100 days earlier, the regular had not bought for 90 days.
    later_regular = held(till.program(), "inactive:90", NOW - dt.timedelta(days=100))
    assert later_regular == [silent, regular]


def test_another_programs_accounts_are_never_held(app, till):
    ours = member(till)
    other, _terminal, _key = till.other_brand()
    theirs = run_in_transaction(lambda: accounts.create_customer(
        other, "+33699000001", "1234", LONG_AGO, app_hasher(), channel="app")).account_id
    assert held(till.program(), "all") == [ours]
    assert held(till.program(), "inactive:30") == [ours]
    assert held(other, "all") == [theirs]


@pytest.mark.parametrize("segment", ["", "everyone", "all:1", "tier:", "store:x", "store:",
                                     "inactive:0", "inactive:3651", "inactive:-5",
                                     "inactive:abc"])
def test_a_segment_that_does_not_parse_is_refused_naming_the_field(segment):
    with pytest.raises(ValidationFailed) as refused:
        broadcasts.parse_segment(segment)
    assert refused.value.details["field"] == "segment"


@pytest.mark.parametrize("segment, parsed", [("all", "all"), (" tier:gold ", "tier:gold"),
                                             ("store:3", "store:3"),
                                             ("inactive:90", "inactive:90")])
def test_a_segment_is_parsed_to_its_kind_and_value(segment, parsed):
    assert str(broadcasts.parse_segment(segment)) == parsed
