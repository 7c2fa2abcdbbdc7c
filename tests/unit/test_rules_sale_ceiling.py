"""The ceilings on one sale, as pure rules: the bill's total, then the points it earns."""
import pytest

from pos_loyalty.errors import ReceiptTooLarge, TooManyPoints
from pos_loyalty.rules import BasketLine, quote

from test_rules import make_rules, total


def test_a_bill_above_the_ceiling_is_refused_before_anything_is_worked_out():
    rules = make_rules(max_receipt_total_minor=1_000_000)
    with pytest.raises(ReceiptTooLarge) as refused:
        quote(total(10**12), available_points=0, can_redeem=False, rules=rules)
    assert refused.value.details == {"max_total_minor": 1_000_000}
    assert quote(total(1_000_000), 0, False, rules).points_earned == 10_000


def test_the_points_ceiling_counts_what_the_sale_would_credit():
    rules = make_rules(max_points_per_sale=100, category_multipliers={"organic": "2"})
    organic = [BasketLine("HONEY", "organic", 1, 6_000)]   # 60.00 x 2 = 120 points
    with pytest.raises(TooManyPoints) as refused:
        quote(organic, available_points=0, can_redeem=False, rules=rules)
    assert refused.value.details == {"max_points": 100, "points": 120}
    # Paying 20.00 with points leaves 40.00 of money: 80 points, within the ceiling.
    assert quote(organic, 1_000, True, rules, redeem_points=200).points_earned == 80


def test_zero_means_no_ceiling_and_a_negative_one_is_a_mistake():
    assert quote(total(10**12), 0, False, make_rules()).points_earned == 10**10
    with pytest.raises(ValueError, match="no ceiling"):
        make_rules(max_points_per_sale=-1)
