"""Twilio's price of a message read exactly: a negative decimal string is a cost, stored in
positive millionths; what cannot be stored exactly is refused, never rounded."""
from __future__ import annotations

import pytest

from pos_loyalty.notify.prices import Price, PriceFetchFailed, read_price


@pytest.mark.parametrize(("price", "unit", "expected"), [
    ("-0.00750", "USD", Price(7_500, "USD")),
    ("-0.0079", "USD", Price(7_900, "USD")),
    ("-1.234567", "EUR", Price(1_234_567, "EUR")),
    ("0.00", "USD", Price(0, "USD")),               # a message Twilio did not charge
    ("0.0075", "usd", Price(-7_500, "USD")),        # a credit: written as it came
    (" -0.05 ", "GBP", Price(50_000, "GBP")),
])
def test_twilio_prices_become_exact_millionths(price, unit, expected):
    assert read_price(price, unit) == expected


def test_a_message_not_priced_yet_has_no_price():
    assert read_price(None, None) is None
    assert read_price(None, "USD") is None


@pytest.mark.parametrize(("price", "unit"), [
    ("-0.0000001", "USD"),      # finer than a millionth: not stored rounded
    ("n/a", "USD"), ("", "USD"), ("NaN", "USD"), ("-Infinity", "USD"), ("sNaN", "USD"),
    ("-2000000", "USD"),        # a million units for one SMS is no price
    (-0.0075, "USD"),           # a float: never near money
    ("-0.0075", None), ("-0.0075", "US"), ("-0.0075", "DOLLARS"),
])
def test_a_price_that_cannot_be_stored_exactly_is_refused(price, unit):
    with pytest.raises(PriceFetchFailed) as refused:
        read_price(price, unit)
    assert refused.value.stop is False
