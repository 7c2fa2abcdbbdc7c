"""The program's arithmetic, as worked examples and as properties (hypothesis)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from pos_loyalty.errors import RedeemLimitExceeded, ValidationFailed
from pos_loyalty.rules import (
    BasketLine, ProgramRules, allocate, max_redeem, points_for_value, points_value_minor, quote,
    return_split,
)

DEFAULTS = {
    "earn_points_per_unit": "1", "redeem_points_per_unit": "10", "min_cash_minor": 100,
    "max_redeem_share": "1", "excluded_categories": ["tobacco", "gift_card"],
    "category_multipliers": {}, "pending_days": 0, "expiry_months": 12,
    "daily_program_cap_points": 0, "daily_customer_cap_points": 0,
    "allow_negative_balance": True, "signup_bonus_points": 0, "card_prefix": "29",
    "card_symbology": "ean13", "hold_default_ttl_seconds": 300, "hold_max_ttl_seconds": 3600,
    "void_window_hours": 0, "max_receipt_total_minor": 0, "max_points_per_sale": 0,
}


def make_rules(**overrides):
    return ProgramRules.from_settings({**DEFAULTS, **overrides})


def total(amount):
    return [BasketLine("TOTAL", "", 1, amount)]


def test_one_point_per_euro_rounded_down_per_receipt():
    q = quote(total(1999), 0, True, make_rules())
    assert q.points_if_no_redeem == 19
    assert q.points_earned == 19


def test_ten_points_pay_one_euro_not_the_other_way_round():
    rules = make_rules()
    assert points_value_minor(10, rules) == 100
    assert points_value_minor(9, rules) == 90
    assert points_for_value(100, rules) == 10


def test_hundred_points_per_unit_makes_a_point_one_cent():
    rules = make_rules(redeem_points_per_unit="100")
    assert points_value_minor(1, rules) == 1
    assert points_value_minor(250, rules) == 250


def test_customer_pays_at_least_the_cash_floor():
    q = quote(total(2000), 10_000, True, make_rules())
    assert q.max_redeem_minor == 1900
    assert q.max_redeem_points == 190
    assert q.min_cash_minor == 100


def test_bill_below_the_cash_floor_takes_no_points():
    q = quote(total(80), 10_000, True, make_rules())
    assert (q.max_redeem_points, q.max_redeem_minor) == (0, 0)


def test_share_limit_caps_the_points_part():
    q = quote(total(2000), 10_000, True, make_rules(max_redeem_share="0.5"))
    assert q.max_redeem_minor == 1000
    assert q.max_redeem_points == 100


def test_balance_caps_the_points_part():
    q = quote(total(2000), 55, True, make_rules())
    assert (q.max_redeem_points, q.max_redeem_minor) == (55, 550)


def test_cashier_may_use_any_amount_up_to_the_maximum():
    q = quote(total(2000), 500, True, make_rules(), redeem_points=37)
    assert q.redeemed_minor == 370
    assert q.cash_minor == 1630
    assert q.points_earned == 16


def test_more_points_than_allowed_is_refused():
    with pytest.raises(RedeemLimitExceeded) as error:
        quote(total(2000), 500, True, make_rules(), redeem_points=191)
    assert error.value.details == {"max_redeem_points": 190}


def test_blocked_account_may_not_redeem():
    q = quote(total(2000), 500, False, make_rules())
    assert q.max_redeem_points == 0
    with pytest.raises(RedeemLimitExceeded):
        quote(total(2000), 500, False, make_rules(), redeem_points=1)


def test_points_are_earned_only_on_the_money_part():
    q = quote(total(10_000), 1_000, True, make_rules(), redeem_points=500)
    assert q.cash_minor == 5_000
    assert q.points_earned == 50
    assert q.points_if_no_redeem == 100


def test_excluded_categories_earn_nothing():
    lines = [BasketLine("CIG", "tobacco", 1, 1100), BasketLine("BREAD", "bakery", 2, 150)]
    q = quote(lines, 0, True, make_rules())
    assert q.total_minor == 1400
    assert q.eligible_earn_minor == 300
    assert q.points_earned == 3


def test_category_multiplier_doubles_points():
    lines = [BasketLine("BIO", "organic", 1, 1000), BasketLine("BREAD", "bakery", 1, 500)]
    q = quote(lines, 0, True, make_rules(category_multipliers={"organic": "2"}))
    assert q.points_earned == 25


def test_an_odd_rate_pays_the_fewest_points_for_the_value():
    rules = make_rules(redeem_points_per_unit="3")
    assert points_value_minor(3, rules) == 100
    assert points_value_minor(4, rules) == 133
    assert points_for_value(133, rules) == 4
    points, minor = max_redeem(250, 10_000, rules)
    assert (points, minor) == (4, 133)  # 4.5 points do not exist: 133 is the most


def test_zero_decimal_currency_uses_whole_units():
    rules = ProgramRules.from_settings({**DEFAULTS, "min_cash_minor": 1}, 0)
    q = quote(total(1500), 100, True, rules, redeem_points=100)
    assert q.redeemed_minor == 10
    assert q.points_earned == 1490


def test_empty_or_zero_basket_is_refused():
    with pytest.raises(ValidationFailed):
        quote([], 0, True, make_rules())
    with pytest.raises(ValidationFailed):
        quote(total(0), 0, True, make_rules())


def test_float_rates_are_refused_in_config():
    with pytest.raises(ValueError):
        make_rules(earn_points_per_unit=1.5)


def test_allocate_hands_out_leftover_units_so_parts_add_up():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(7, [0, 5]) == [0, 7]
    assert allocate(0, [3, 4]) == [0, 0]


def test_a_half_return_takes_back_half_the_points_and_gives_back_half_the_spent():
    split = return_split(total_minor=2000, cash_minor=1000, points_earned=10,
                         points_redeemed=100, earn_base_minor=1000, returned_minor_before=0,
                         returned_minor_after=1000, returned_base_before=0,
                         returned_base_after=500)
    assert (split.points_reversed, split.points_restored, split.refund_cash_minor) == (5, 50, 500)


lines_strategy = st.lists(
    st.builds(BasketLine, sku=st.sampled_from(["A", "B", "C"]),
              category=st.sampled_from(["", "bakery", "tobacco", "organic"]),
              quantity=st.integers(1, 20), unit_price_minor=st.integers(0, 100_000)),
    min_size=1, max_size=6).filter(lambda lines: sum(l.amount_minor for l in lines) > 0)
rules_strategy = st.builds(
    make_rules,
    earn_points_per_unit=st.sampled_from(["1", "0.5", "2", "0.1", "3"]),
    redeem_points_per_unit=st.sampled_from(["10", "100", "1", "3", "7"]),
    min_cash_minor=st.integers(0, 500),
    max_redeem_share=st.sampled_from(["1", "0.5", "0.3", "0"]),
    category_multipliers=st.sampled_from([{}, {"organic": "2"}, {"bakery": "1.5"}]))


@settings(max_examples=300, deadline=None)
@given(lines=lines_strategy, balance=st.integers(-1000, 1_000_000), rules=rules_strategy,
       fraction=st.floats(0, 1))
def test_quote_properties(lines, balance, rules, fraction):
    best = quote(lines, balance, True, rules)
    chosen = int(best.max_redeem_points * fraction)
    q = quote(lines, balance, True, rules, redeem_points=chosen)
    assert q.redeemed_minor + q.cash_minor == q.total_minor
    assert q.cash_minor >= min(rules.min_cash_minor, q.total_minor)
    assert q.redeemed_minor <= q.total_minor * rules.max_redeem_share
    assert q.points_redeemed <= max(balance, 0)
    assert q.max_redeem_minor == points_value_minor(q.max_redeem_points, rules)
    assert sum(q.line_redeemed_minor) == q.redeemed_minor
    # Earned points never count the points part: at most what the cash alone would earn
    # at the highest multiplier of the basket.
    top = max([Decimal(1)] + list(rules.category_multipliers.values()))
    assert q.points_earned <= q.cash_minor * top * rules.earn_points_per_unit / rules.unit_minor
    assert q.points_earned <= best.points_if_no_redeem


@settings(max_examples=300, deadline=None)
@given(total_minor=st.integers(1, 10**7), earned=st.integers(0, 10**5),
       redeemed=st.integers(0, 10**5), cuts=st.lists(st.integers(1, 10**7), max_size=6))
def test_returns_never_reverse_more_than_the_sale_earned(total_minor, earned, redeemed, cuts):
    base = total_minor
    returned = reversed_sum = restored_sum = 0
    for cut in cuts + [total_minor]:
        after = min(total_minor, returned + cut)
        split = return_split(total_minor=total_minor, cash_minor=total_minor,
                             points_earned=earned, points_redeemed=redeemed,
                             earn_base_minor=base, returned_minor_before=returned,
                             returned_minor_after=after, returned_base_before=returned,
                             returned_base_after=after)
        assert split.points_reversed >= 0 and split.points_restored >= 0
        reversed_sum += split.points_reversed
        restored_sum += split.points_restored
        returned = after
        assert reversed_sum <= earned and restored_sum <= redeemed
    assert (reversed_sum, restored_sum) == (earned, redeemed)
