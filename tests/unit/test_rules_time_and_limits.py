"""Rules moved into rules.py: expiry dates, the void window, the balance as of now, daily caps,
return proration, card statuses and PIN format. Worked examples first, then properties."""
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from pos_loyalty.errors import ValidationFailed
from pos_loyalty.rules import (
    UNUSABLE_CARD_STATUSES, balance_now, check_new_pin, expiry_for, is_valid_pin,
    returned_earn_base, returned_line_base, void_window_open, within_daily_cap,
)
from test_rules import make_rules

NOON = dt.datetime(2026, 3, 10, 12, 0)


# --- expiry -------------------------------------------------------------------------------

def test_points_expire_twelve_calendar_months_after_they_become_available():
    assert expiry_for(make_rules(), NOON) == dt.datetime(2027, 3, 10, 12, 0)


def test_the_31st_expires_on_the_last_day_of_a_shorter_month():
    assert expiry_for(make_rules(expiry_months=1), dt.datetime(2026, 1, 31)) == \
        dt.datetime(2026, 2, 28)
    assert expiry_for(make_rules(expiry_months=1), dt.datetime(2028, 1, 31)) == \
        dt.datetime(2028, 2, 29)


def test_zero_months_means_points_never_expire():
    assert expiry_for(make_rules(expiry_months=0), NOON) is None


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)),
       st.integers(min_value=1, max_value=120))
def test_expiry_is_always_later_and_within_the_months_asked(moment, months):
    expires = expiry_for(make_rules(expiry_months=months), moment)
    assert moment < expires
    assert (expires.year - moment.year) * 12 + expires.month - moment.month == months
    assert expires.time() == moment.time()


# --- the void window -------------------------------------------------------------------------

def test_by_default_a_sale_can_be_voided_until_the_end_of_its_local_day():
    rules = make_rules()
    day = NOON.date()
    assert void_window_open(rules, NOON, NOON + dt.timedelta(hours=11), day, day)
    assert not void_window_open(rules, NOON, NOON + dt.timedelta(hours=13), day,
                                day + dt.timedelta(days=1))


def test_a_void_window_in_hours_counts_from_the_sale():
    rules = make_rules(void_window_hours=48)
    day = NOON.date()
    assert void_window_open(rules, NOON, NOON + dt.timedelta(hours=48), day,
                            day + dt.timedelta(days=2))
    assert not void_window_open(rules, NOON, NOON + dt.timedelta(hours=48, seconds=1), day,
                                day + dt.timedelta(days=2))


def test_a_negative_void_window_is_refused_when_the_rules_load():
    with pytest.raises(ValueError, match="void_window_hours"):
        make_rules(void_window_hours=-1)


# --- the balance as of now -----------------------------------------------------------------

def test_due_pending_points_and_expired_holds_count_as_available():
    assert balance_now(available=100, pending=50, due_pending=20, expired_holds=30) == \
        balance_now(150, 30, 0, 0)


@given(st.integers(-10**6, 10**9), st.integers(0, 10**9), st.data())
def test_the_balance_as_of_now_keeps_the_total(available, pending, data):
    due = data.draw(st.integers(0, pending))
    held = data.draw(st.integers(0, 10**6))
    seen = balance_now(available, pending, due, held)
    assert seen.available + seen.pending == available + pending + held
    assert seen.pending >= 0


# --- daily caps ------------------------------------------------------------------------------

def test_a_cap_grants_what_is_left_of_the_day_and_zero_means_no_cap():
    assert within_daily_cap(50, cap=100, used_today=80) == 20
    assert within_daily_cap(50, cap=100, used_today=120) == 0
    assert within_daily_cap(50, cap=0, used_today=10**9) == 50
    assert within_daily_cap(-5, cap=100, used_today=0) == 0


@given(st.integers(0, 10**9), st.integers(1, 10**9), st.integers(0, 2 * 10**9))
def test_a_capped_grant_never_exceeds_the_points_nor_the_room_left(points, cap, used):
    granted = within_daily_cap(points, cap, used)
    assert 0 <= granted <= points
    assert used + granted <= max(cap, used)


# --- returns ---------------------------------------------------------------------------------

def test_an_amount_returned_carries_the_sale_base_in_proportion():
    assert returned_earn_base(earn_base_minor=1000, total_minor=2000, returned_base_before=0,
                              returned_minor_after=500, returned_lines_base=None) == 250


def test_returned_lines_carry_their_own_base_and_never_more_than_the_sale():
    assert returned_earn_base(earn_base_minor=1000, total_minor=2000, returned_base_before=900,
                              returned_minor_after=2000, returned_lines_base=400) == 1000
    assert returned_earn_base(earn_base_minor=1000, total_minor=2000, returned_base_before=0,
                              returned_minor_after=800, returned_lines_base=0) == 0


@given(st.integers(1, 10**6), st.integers(1, 1000), st.data())
def test_returning_a_line_piece_by_piece_adds_up_to_its_base(base, quantity, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, quantity), max_size=8)))
    steps = [0, *cuts, quantity]
    parts = [returned_line_base(base, quantity, a, b) for a, b in zip(steps, steps[1:])]
    assert sum(parts) == base
    assert all(part >= 0 for part in parts)


# --- cards and PINs --------------------------------------------------------------------------

def test_lost_blocked_replaced_and_closed_cards_cannot_be_used():
    assert UNUSABLE_CARD_STATUSES == {"blocked", "lost", "replaced", "closed"}


@pytest.mark.parametrize("pin", ["1234", "00000000", "98765"])
def test_a_pin_is_four_to_eight_digits(pin):
    assert is_valid_pin(pin) and check_new_pin(pin) == pin


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "١٢٣٤", None, 1234, ""])
def test_anything_else_is_refused_naming_the_field(pin):
    assert not is_valid_pin(pin)
    with pytest.raises(ValidationFailed) as refused:
        check_new_pin(pin, "new_pin")
    assert refused.value.details == {"field": "new_pin"}
