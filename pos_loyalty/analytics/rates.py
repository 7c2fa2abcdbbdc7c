"""How measures write rates and averages: exact fractions, rounded once, half up."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def to_decimal(value: Fraction, places: str) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def ratio(numerator: int | Fraction, denominator: int | Fraction,
          places: str = "0.01") -> Decimal | None:
    """numerator / denominator to `places`; None when the denominator is 0."""
    if not denominator:
        return None
    return to_decimal(Fraction(numerator) / Fraction(denominator), places)


def percent(numerator: int | Fraction, denominator: int | Fraction) -> Decimal | None:
    """A percentage with one decimal (12.5 for 12.5 %); None over nothing."""
    return ratio(100 * Fraction(numerator), denominator, "0.1")


def average_minor(total_minor: int, count: int) -> int | None:
    """An average amount, to the nearest minor unit; None when there is nothing to average."""
    if count == 0:
        return None
    return int(to_decimal(Fraction(total_minor, count), "1"))
