"""The program's arithmetic, as pure functions: no database, no clock, no Flask.

Every conversion between money and points lives here, with its rounding:
- earning rounds down once per receipt, on the money part only;
- points pay for floor(points x unit / rate) minor units, and the fewest points that pay a
  given value are used, so a customer never spends a point that buys nothing;
- a value split over lines or over returns hands out the leftover units (largest remainder),
  so the parts always add up to the whole.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from pos_loyalty.errors import (
    ProofRequired, ReceiptTooLarge, RedeemLimitExceeded, TooManyPoints, ValidationFailed,
)

# ISO 4217 minor units for the currencies that do not use 2.
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "XOF": 0, "XAF": 0, "CLP": 0, "ISK": 0,
                      "BHD": 3, "KWD": 3, "TND": 3, "OMR": 3, "JOD": 3}


def currency_exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True)
class ProgramRules:
    """The rules of one program: config [rules] with the program's overrides laid on top."""
    earn_points_per_unit: Decimal
    redeem_points_per_unit: Decimal
    min_cash_minor: int
    max_redeem_share: Decimal
    excluded_categories: frozenset[str]
    category_multipliers: Mapping[str, Decimal]
    pending_days: int
    expiry_months: int
    daily_program_cap_points: int
    daily_customer_cap_points: int
    allow_negative_balance: bool
    signup_bonus_points: int
    card_prefix: str
    card_symbology: str
    hold_default_ttl_seconds: int
    hold_max_ttl_seconds: int
    void_window_hours: int = 0
    currency_exponent: int = 2
    max_receipt_total_minor: int = 0   # 0 = no ceiling
    max_points_per_sale: int = 0       # 0 = no ceiling

    @classmethod
    def from_settings(cls, rules: Mapping[str, Any], exponent: int = 2) -> ProgramRules:
        made = cls(
            earn_points_per_unit=_decimal(rules, "earn_points_per_unit"),
            redeem_points_per_unit=_decimal(rules, "redeem_points_per_unit"),
            min_cash_minor=int(rules["min_cash_minor"]),
            max_redeem_share=_decimal(rules, "max_redeem_share"),
            excluded_categories=frozenset(c.lower() for c in rules["excluded_categories"]),
            category_multipliers={k.lower(): Decimal(str(v))
                                  for k, v in rules["category_multipliers"].items()},
            pending_days=int(rules["pending_days"]),
            expiry_months=int(rules["expiry_months"]),
            daily_program_cap_points=int(rules["daily_program_cap_points"]),
            daily_customer_cap_points=int(rules["daily_customer_cap_points"]),
            allow_negative_balance=bool(rules["allow_negative_balance"]),
            signup_bonus_points=int(rules["signup_bonus_points"]),
            card_prefix=str(rules["card_prefix"]),
            card_symbology=str(rules["card_symbology"]),
            hold_default_ttl_seconds=int(rules["hold_default_ttl_seconds"]),
            hold_max_ttl_seconds=int(rules["hold_max_ttl_seconds"]),
            void_window_hours=int(rules["void_window_hours"]),
            currency_exponent=exponent,
            max_receipt_total_minor=int(rules["max_receipt_total_minor"]),
            max_points_per_sale=int(rules["max_points_per_sale"]),
        )
        made.check()
        return made

    @property
    def unit_minor(self) -> int:
        """Minor units in one unit of currency (100 for EUR, 1 for JPY)."""
        return 10 ** self.currency_exponent

    def check(self) -> None:
        if self.earn_points_per_unit < 0 or self.redeem_points_per_unit <= 0:
            raise ValueError("earn rate must be >= 0 and redeem rate > 0")
        if not Decimal(0) <= self.max_redeem_share <= Decimal(1):
            raise ValueError("max_redeem_share must be between 0 and 1")
        if self.min_cash_minor < 0 or any(m < 0 for m in self.category_multipliers.values()):
            raise ValueError("min_cash_minor and multipliers must not be negative")
        if self.card_symbology not in ("ean13", "code128"):
            raise ValueError("card_symbology must be ean13 or code128")
        if self.void_window_hours < 0:
            raise ValueError("void_window_hours must not be negative (0 = the same local day)")
        if self.max_receipt_total_minor < 0 or self.max_points_per_sale < 0:
            raise ValueError("max_receipt_total_minor and max_points_per_sale must not be "
                             "negative (0 = no ceiling)")


def _decimal(rules: Mapping[str, Any], key: str) -> Decimal:
    value = rules[key]
    if isinstance(value, float):
        raise ValueError(f"{key} must be a string like \"1.5\", not a float")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{key} is not a number: {value!r}") from exc


@dataclass(frozen=True)
class BasketLine:
    sku: str
    category: str
    quantity: int
    unit_price_minor: int

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class Quote:
    total_minor: int
    min_cash_minor: int
    max_redeem_points: int
    max_redeem_minor: int
    points_if_no_redeem: int
    points_redeemed: int
    redeemed_minor: int
    cash_minor: int
    eligible_earn_minor: int
    earn_base_minor: int
    points_earned: int
    line_redeemed_minor: tuple[int, ...] = field(default=())
    line_earn_base_minor: tuple[int, ...] = field(default=())


def floor_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def points_value_minor(points: int, rules: ProgramRules) -> int:
    """What `points` pay, in minor units, rounded down."""
    if points <= 0:
        return 0
    return floor_int(Decimal(points) * rules.unit_minor / rules.redeem_points_per_unit)


def points_for_value(value_minor: int, rules: ProgramRules) -> int:
    """The fewest points that pay `value_minor`."""
    if value_minor <= 0:
        return 0
    exact = Decimal(value_minor) * rules.redeem_points_per_unit / rules.unit_minor
    return -floor_int(-exact)


def points_for_money(earn_base_minor: Decimal | int, rules: ProgramRules) -> int:
    """Points earned on money paid, rounded down (once per receipt)."""
    return max(0, floor_int(Decimal(earn_base_minor) * rules.earn_points_per_unit
                            / rules.unit_minor))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights`; leftovers go to the largest remainders."""
    weight_sum = sum(weights)
    if weight_sum <= 0 or total == 0:
        return [0] * len(weights)
    shares = [total * w // weight_sum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def max_redeem(total_minor: int, available_points: int, rules: ProgramRules) -> tuple[int, int]:
    """The most points a bill may take and what they pay: (points, minor)."""
    cap_minor = min(total_minor - rules.min_cash_minor,
                    floor_int(Decimal(total_minor) * rules.max_redeem_share))
    if cap_minor <= 0 or available_points <= 0:
        return 0, 0
    # The most points whose value stays within the cap, then the fewest points of that value.
    most_points = -floor_int(-Decimal(cap_minor + 1) * rules.redeem_points_per_unit
                             / rules.unit_minor) - 1
    value_minor = points_value_minor(min(available_points, most_points), rules)
    return points_for_value(value_minor, rules), value_minor


def quote(lines: Sequence[BasketLine], available_points: int, can_redeem: bool,
          rules: ProgramRules, redeem_points: int = 0) -> Quote:
    """What a basket earns and may spend; `redeem_points` is what the customer chose."""
    if not lines:
        raise ValidationFailed("The basket is empty.", field="lines")
    amounts = [line.amount_minor for line in lines]
    total = sum(amounts)
    if total <= 0:
        raise ValidationFailed("The total must be more than zero.", field="total_minor")
    check_receipt_total(total, rules)
    max_points, max_minor = max_redeem(total, available_points if can_redeem else 0, rules)
    if redeem_points < 0:
        raise ValidationFailed("redeem_points cannot be negative.", field="redeem_points")
    if redeem_points > max_points:
        raise RedeemLimitExceeded(
            f"At most {max_points} points can be used on this bill.",
            max_redeem_points=max_points)
    redeemed_minor = points_value_minor(redeem_points, rules)
    line_redeemed = allocate(redeemed_minor, amounts)
    line_base = [_earn_base(line, amount - redeemed, rules)
                 for line, amount, redeemed in zip(lines, amounts, line_redeemed)]
    no_redeem_base = [_earn_base(line, amount, rules) for line, amount in zip(lines, amounts)]
    eligible = sum(amount - redeemed for line, amount, redeemed
                   in zip(lines, amounts, line_redeemed) if _earns(line, rules))
    points_earned = points_for_money(sum(line_base, Decimal(0)), rules)
    check_points_earned(points_earned, rules)
    return Quote(
        total_minor=total,
        min_cash_minor=min(rules.min_cash_minor, total),
        max_redeem_points=max_points,
        max_redeem_minor=max_minor,
        points_if_no_redeem=points_for_money(sum(no_redeem_base, Decimal(0)), rules),
        points_redeemed=redeem_points,
        redeemed_minor=redeemed_minor,
        cash_minor=total - redeemed_minor,
        eligible_earn_minor=eligible,
        earn_base_minor=sum(floor_int(b) for b in line_base),
        points_earned=points_earned,
        line_redeemed_minor=tuple(line_redeemed),
        line_earn_base_minor=tuple(floor_int(b) for b in line_base),
    )


def check_receipt_total(total_minor: int, rules: ProgramRules) -> None:
    """A bill above the program's ceiling is refused whole: one mistyped total (10^12) would
    otherwise earn a fortune and use up the program's daily cap for every later sale."""
    ceiling = rules.max_receipt_total_minor
    if ceiling and total_minor > ceiling:
        raise ReceiptTooLarge(f"A bill may be at most {ceiling} (minor units) in this program.",
                              max_total_minor=ceiling)


def check_points_earned(points: int, rules: ProgramRules) -> None:
    """A sale may not earn more than the program's ceiling (multipliers can pass it below the
    total's ceiling); refused, not cut, so the till sees it before the customer leaves."""
    ceiling = rules.max_points_per_sale
    if ceiling and points > ceiling:
        raise TooManyPoints(f"A sale may earn at most {ceiling} points in this program.",
                            max_points=ceiling, points=points)


def _earns(line: BasketLine, rules: ProgramRules) -> bool:
    return line.category.lower() not in rules.excluded_categories


def _earn_base(line: BasketLine, money_minor: int, rules: ProgramRules) -> Decimal:
    if not _earns(line, rules):
        return Decimal(0)
    return money_minor * rules.category_multipliers.get(line.category.lower(), Decimal(1))


@dataclass(frozen=True)
class ReturnSplit:
    points_reversed: int
    points_restored: int
    refund_cash_minor: int


def return_split(*, total_minor: int, cash_minor: int, points_earned: int, points_redeemed: int,
                 earn_base_minor: int, returned_minor_before: int, returned_minor_after: int,
                 returned_base_before: int, returned_base_after: int) -> ReturnSplit:
    """Points to take back and give back for one return, in proportion to value.

    Computed on the cumulative returned value and differenced, so any series of returns adds
    up exactly to the whole sale: never more reversed than earned, nor restored than spent.
    """
    def share(whole: int, part: int, of: int) -> int:
        return whole * part // of if of > 0 else 0

    reversed_before = share(points_earned, returned_base_before, earn_base_minor)
    reversed_after = share(points_earned, returned_base_after, earn_base_minor)
    restored_before = share(points_redeemed, returned_minor_before, total_minor)
    restored_after = share(points_redeemed, returned_minor_after, total_minor)
    cash_before = share(cash_minor, returned_minor_before, total_minor)
    cash_after = share(cash_minor, returned_minor_after, total_minor)
    return ReturnSplit(points_reversed=reversed_after - reversed_before,
                       points_restored=restored_after - restored_before,
                       refund_cash_minor=cash_after - cash_before)


def returned_earn_base(*, earn_base_minor: int, total_minor: int, returned_base_before: int,
                       returned_minor_after: int, returned_lines_base: int | None) -> int:
    """The earning base returned so far, after this return.

    Returned lines carry their own base (a tobacco line carries none); a returned amount
    carries the sale's base in proportion to money. Never less than before, never more than
    the sale's base.
    """
    if returned_lines_base is None:
        after = earn_base_minor * returned_minor_after // total_minor
    else:
        after = returned_base_before + returned_lines_base
    return max(returned_base_before, min(after, earn_base_minor))


def returned_line_base(line_earn_base_minor: int, line_quantity: int, returned_before: int,
                       returned_after: int) -> int:
    """The earning base that a line's newly returned units carry (cumulative, differenced)."""
    def share(returned: int) -> int:
        return line_earn_base_minor * returned // line_quantity
    return share(returned_after) - share(returned_before)


# --- time: expiry, the void window, points that became available -------------------------

def expiry_for(rules: ProgramRules, available_at: dt.datetime) -> dt.datetime | None:
    """When points that become available at `available_at` expire (calendar months later;
    the 31st becomes the month's last day)."""
    if rules.expiry_months <= 0:
        return None
    month_index = available_at.month - 1 + rules.expiry_months
    year, month = available_at.year + month_index // 12, month_index % 12 + 1
    for day in (available_at.day, 30, 29, 28):
        try:
            return available_at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def void_window_open(rules: ProgramRules, sold_at: dt.datetime, now: dt.datetime,
                     sold_on: dt.date, today: dt.date) -> bool:
    """Whether a sale may still be voided: until the end of its local day (window 0), or
    for `void_window_hours` after it was made."""
    if rules.void_window_hours == 0:
        return sold_on == today
    return now - sold_at <= dt.timedelta(hours=rules.void_window_hours)


@dataclass(frozen=True)
class Balance:
    """Points an account may spend now, and points still waiting for their return window."""
    available: int
    pending: int


def balance_now(available: int, pending: int, due_pending: int, expired_holds: int) -> Balance:
    """The balance as of now, whether or not the due changes were written yet.

    Pending points whose return window has passed are available, and an expired hold's
    points are back: every face shows this, and the next write to the account makes it true
    in the ledger too.
    """
    return Balance(available + due_pending + expired_holds, pending - due_pending)


# --- caps, cards and PINs -----------------------------------------------------------------

def within_daily_cap(points: int, cap: int, used_today: int) -> int:
    """Points cut to what a daily cap still allows (cap 0 = no cap); never negative."""
    if points <= 0:
        return 0
    if cap <= 0:
        return points
    return max(0, min(points, cap - used_today))


# A card in one of these states keeps its account's points but cannot be used any more.
UNUSABLE_CARD_STATUSES = frozenset({"blocked", "lost", "replaced", "closed"})
PIN_LENGTHS = range(4, 9)


def is_valid_pin(pin: Any) -> bool:
    """A PIN is 4 to 8 ASCII digits."""
    return (isinstance(pin, str) and pin.isascii() and pin.isdigit()
            and len(pin) in PIN_LENGTHS)


def check_new_pin(pin: Any, field: str = "pin") -> str:
    """The PIN a customer chose, or ValidationFailed naming the field."""
    if not is_valid_pin(pin):
        raise ValidationFailed("A PIN is 4 to 8 digits.", field=field)
    return pin


# --- possession before spending -----------------------------------------------------------

# How a till got the card number: read by its scanner, or typed (by a person, or by software
# that found it somewhere). A till that does not say typed it.
CARD_ENTRIES = ("typed", "scanned")


@dataclass(frozen=True)
class CardEntry:
    """What a till showed of the customer being there, judged against the card's account."""
    how: str                 # "typed" or "scanned"
    card_kind: str           # "plastic" or "virtual"
    # The live code read after the number: "valid", "expired", "invalid" or "locked" (too many
    # wrong ones of late); None when none came with it.
    live_code: str | None
    proof_sent: bool
    proof_valid: bool        # given to this terminal for this account, and not expired


def presence_refusal(entry: CardEntry) -> str | None:
    """Why the entry does not show the customer at the till, or None when it does.

    Earning needs only the card number; spending needs one of: a proof (the PIN, checked by
    identify, or a scan the look-up saw), a scanned plastic card, or the phone's card scanned
    with its live code. The bare number of a virtual card lives only in the phone app, which
    always shows it with the code: scanned without one, it is a picture of the number (a
    screenshot, a barcode made from it), so it earns but does not spend.
    """
    if entry.proof_valid:
        return None
    scan = _scan_refusal(entry)
    if scan is None:
        return None
    return "proof_invalid" if entry.proof_sent else scan


def _scan_refusal(entry: CardEntry) -> str | None:
    if entry.how != "scanned":
        return "typed_number"
    if entry.live_code is None:
        return None if entry.card_kind == "plastic" else "virtual_card_without_live_code"
    return None if entry.live_code == "valid" else f"live_code_{entry.live_code}"


def require_presence(points: int, entry: CardEntry) -> None:
    """Spending `points` (more than none) needs the customer there: ProofRequired otherwise."""
    if points <= 0:
        return
    reason = presence_refusal(entry)
    if reason is not None:
        raise ProofRequired(reason=reason)
