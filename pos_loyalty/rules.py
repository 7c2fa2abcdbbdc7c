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
    # VIP tiers (README "Tiers"): the ladder, lowest threshold first, and how one qualifies.
    tiers: tuple[TierRung, ...] = ()
    tier_measure: str = "points"       # "points" earned, or "money" paid (minor units)
    tier_period_months: int = 12       # a rolling window; 0 = the calendar year
    tier_lowered_by_returns: bool = False
    bonuses_count_towards_tiers: bool = False
    bonuses_count_towards_caps: bool = False
    # How campaigns matching one sale add up: "best" (the one giving most) or "additive".
    campaign_combination: str = "best"
    birthday_bonus_points: int = 0
    birthday_min_days_known: int = 30
    referral_bonus_points: int = 0     # to the customer whose code was given
    referral_newcomer_points: int = 0  # to the newcomer who gave it
    referral_min_basket_minor: int = 0
    referral_max_per_month: int = 0    # rewarded referrals per referrer and month; 0 = no limit

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
            tiers=tier_ladder(rules.get("tiers", [])),
            tier_measure=str(rules.get("tier_measure", "points")),
            tier_period_months=int(rules.get("tier_period_months", 12)),
            tier_lowered_by_returns=bool(rules.get("tier_lowered_by_returns", False)),
            bonuses_count_towards_tiers=bool(rules.get("bonuses_count_towards_tiers", False)),
            bonuses_count_towards_caps=bool(rules.get("bonuses_count_towards_caps", False)),
            campaign_combination=str(rules.get("campaign_combination", "best")),
            birthday_bonus_points=int(rules.get("birthday_bonus_points", 0)),
            birthday_min_days_known=int(rules.get("birthday_min_days_known", 30)),
            referral_bonus_points=int(rules.get("referral_bonus_points", 0)),
            referral_newcomer_points=int(rules.get("referral_newcomer_points", 0)),
            referral_min_basket_minor=int(rules.get("referral_min_basket_minor", 0)),
            referral_max_per_month=int(rules.get("referral_max_per_month", 0)),
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
        if self.tier_measure not in TIER_MEASURES:
            raise ValueError("tier_measure must be \"points\" or \"money\"")
        if not 0 <= self.tier_period_months <= 120:
            raise ValueError("tier_period_months must be 0 (the calendar year) to 120")
        if self.campaign_combination not in CAMPAIGN_COMBINATIONS:
            raise ValueError("campaign_combination must be \"best\" or \"additive\"")
        if min(self.birthday_bonus_points, self.birthday_min_days_known,
               self.referral_bonus_points, self.referral_newcomer_points,
               self.referral_min_basket_minor, self.referral_max_per_month) < 0:
            raise ValueError("bonus points, days, baskets and limits must not be negative")


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
    # points_earned = base_points + tier_points + the campaigns' points (before daily caps).
    base_points: int = 0
    tier_points: int = 0
    campaigns: tuple[AppliedCampaign, ...] = field(default=())
    tier: str | None = None


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
          rules: ProgramRules, redeem_points: int = 0, offers: Offers | None = None) -> Quote:
    """What a basket earns and may spend; `redeem_points` is what the customer chose.

    Earned = base points (the money part at the program's rate) + the tier's extra (base x
    (multiplier - 1)) + each campaign that applies (README "Campaigns"). The tier is the one
    the customer has when the sale starts: a sale that crosses a threshold earns at the old
    tier, and the next sale at the new one.
    """
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
    base_points = points_for_money(sum(line_base, Decimal(0)), rules)
    tier = offers.setting.tier if offers is not None else None
    matches = matching_campaigns(offers, lines, rules)   # once for both figures
    tier_points = tier_extra_points(base_points, tier)
    campaigns = applied_campaigns(matches, line_base, rules)
    points_earned = base_points + tier_points + sum(c.points for c in campaigns)
    check_points_earned(points_earned, rules)
    if redeem_points:   # what the basket would earn with no points spent, offers included
        no_redeem_base_points = points_for_money(sum(no_redeem_base, Decimal(0)), rules)
        points_if_no_redeem = (no_redeem_base_points
                               + tier_extra_points(no_redeem_base_points, tier)
                               + sum(c.points for c in applied_campaigns(matches, no_redeem_base,
                                                                         rules)))
    else:               # the same basket
        points_if_no_redeem = points_earned
    return Quote(
        total_minor=total,
        min_cash_minor=min(rules.min_cash_minor, total),
        max_redeem_points=max_points,
        max_redeem_minor=max_minor,
        points_if_no_redeem=points_if_no_redeem,
        points_redeemed=redeem_points,
        redeemed_minor=redeemed_minor,
        cash_minor=total - redeemed_minor,
        eligible_earn_minor=eligible,
        earn_base_minor=sum(floor_int(b) for b in line_base),
        points_earned=points_earned,
        line_redeemed_minor=tuple(line_redeemed),
        line_earn_base_minor=tuple(floor_int(b) for b in line_base),
        base_points=base_points,
        tier_points=tier_points,
        campaigns=campaigns,
        tier=tier.key if tier else None,
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
    return add_months(available_at, rules.expiry_months)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months later (or earlier); the 31st becomes the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
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


# --- VIP tiers ----------------------------------------------------------------------------

TIER_MEASURES = ("points", "money")


@dataclass(frozen=True)
class TierRung:
    """One tier of a program's ladder. `threshold` is in points, or in minor units of money
    paid, as the program's tier_measure says; `multiplier` applies to a sale's base points."""
    key: str
    threshold: int
    multiplier: Decimal
    names: Mapping[str, str]
    perks: Mapping[str, str]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.key

    def perk(self, language: str) -> str:
        return self.perks.get(language) or self.perks.get("en") or ""


def tier_ladder(raw: Sequence[Mapping[str, Any]]) -> tuple[TierRung, ...]:
    """The ladder from settings (TOML tables or JSON objects), lowest threshold first.

    Refused: keys that are not short lowercase words or repeat, thresholds that are not
    positive or repeat, multipliers below 1 or written as floats.
    """
    rungs = []
    for position, entry in enumerate(raw, start=1):
        key = str(entry.get("key", ""))
        if not (key.isascii() and key.replace("_", "").replace("-", "").isalnum()
                and key == key.lower() and 1 <= len(key) <= 40):
            raise ValueError(f"tier {position}: key must be 1 to 40 lowercase letters, digits,"
                             " - or _")
        threshold = entry.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
            raise ValueError(f"tier {key}: threshold must be a whole number above 0")
        multiplier = _decimal({"multiplier": entry.get("multiplier", "1")}, "multiplier")
        if not Decimal(1) <= multiplier <= Decimal(10):
            raise ValueError(f"tier {key}: multiplier must be between 1 and 10")
        rungs.append(TierRung(key, threshold, multiplier, _texts(entry.get("names"), key),
                              _texts(entry.get("perks"), key)))
    if len({r.key for r in rungs}) != len(rungs) or \
            len({r.threshold for r in rungs}) != len(rungs):
        raise ValueError("tiers must have different keys and different thresholds")
    return tuple(sorted(rungs, key=lambda r: r.threshold))


def _texts(value: Any, key: str) -> Mapping[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"tier {key}: names and perks are {{fr = \"...\", en = \"...\"}}")
    return dict(value)


def rung_named(ladder: Sequence[TierRung], key: str | None) -> TierRung | None:
    """The rung of a key; a key no longer in the ladder counts as no tier."""
    return next((rung for rung in ladder if rung.key == key), None)


def rung_reached(ladder: Sequence[TierRung], measure: int) -> TierRung | None:
    """The highest rung whose threshold the measure reaches."""
    reached = [rung for rung in ladder if measure >= rung.threshold]
    return reached[-1] if reached else None


def rung_above(ladder: Sequence[TierRung], key: str | None) -> TierRung | None:
    """The next rung up from a tier (the first rung from none); None at the top."""
    current = rung_named(ladder, key)
    higher = [rung for rung in ladder if current is None or rung.threshold > current.threshold]
    return higher[0] if higher else None


def is_higher(ladder: Sequence[TierRung], new: TierRung | None, old_key: str | None) -> bool:
    old = rung_named(ladder, old_key)
    return new is not None and (old is None or new.threshold > old.threshold)


def tier_window_start(rules: ProgramRules, local_now: dt.datetime) -> dt.datetime:
    """Where the qualifying measure starts counting, in local time: N months back, or the
    first of January."""
    if rules.tier_period_months == 0:
        return dt.datetime(local_now.year, 1, 1)
    return add_months(local_now, -rules.tier_period_months)


def tier_kept_until(rules: ProgramRules, local_reached: dt.datetime) -> dt.datetime:
    """When a tier reached (or kept) at `local_reached` is judged again, in local time: a
    rolling period later, or, by calendar year, the end of the following year (reached in
    2026, kept through 2027)."""
    if rules.tier_period_months == 0:
        return dt.datetime(local_reached.year + 2, 1, 1)
    return add_months(local_reached, rules.tier_period_months)


def tier_judged(ladder: Sequence[TierRung], current_key: str | None,
                measure: int) -> tuple[TierRung | None, str]:
    """At the end of a qualification period: the tier kept or the lower one the measure
    reaches, and why ("kept", "lowered"); a measure that reaches higher moves up ("reached")."""
    reached = rung_reached(ladder, measure)
    current = rung_named(ladder, current_key)
    if current is not None and reached is not None and reached.threshold == current.threshold:
        return current, "kept"
    if is_higher(ladder, reached, current_key):
        return reached, "reached"
    return reached, "lowered"


def tier_extra_points(base_points: int, rung: TierRung | None) -> int:
    """What a tier adds to a sale's base points: base x (multiplier - 1), rounded down."""
    if rung is None or base_points <= 0:
        return 0
    return floor_int(base_points * (rung.multiplier - 1))


# --- campaigns ----------------------------------------------------------------------------

CAMPAIGN_COMBINATIONS = ("best", "additive")


@dataclass(frozen=True)
class CampaignTerms:
    """What a campaign gives and to which sales (the Campaign row, read for the rules)."""
    id: int
    name: str
    labels: Mapping[str, str]
    starts_at: dt.datetime            # naive UTC
    ends_at: dt.datetime              # naive UTC, excluded
    weekdays: frozenset[int] = frozenset()      # ISO, 1 = Monday; empty = every day
    hours_from: dt.time | None = None           # local; with hours_until
    hours_until: dt.time | None = None
    store_ids: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()    # lowercase
    skus: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    min_basket_minor: int = 0
    first_purchase_only: bool = False
    effect: str = "multiplier"        # or "fixed"
    multiplier: Decimal = Decimal(1)
    bonus_points: int = 0
    per_customer_limit: int = 0
    budget_points: int = 0

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.name

    def names_lines(self) -> bool:
        return bool(self.categories or self.skus)


@dataclass(frozen=True)
class SaleSetting:
    """Where and when a sale happens and who buys: what decides which campaigns apply."""
    now: dt.datetime                  # naive UTC
    local_now: dt.datetime            # the program's local time, naive
    store_id: int | None
    tier: TierRung | None
    first_purchase: bool
    uses: Mapping[int, int]           # campaign id -> times this customer got it


@dataclass(frozen=True)
class Offers:
    """The campaigns running now and the sale's setting; a quote applies what matches."""
    campaigns: Sequence[CampaignTerms]
    setting: SaleSetting


@dataclass(frozen=True)
class AppliedCampaign:
    id: int
    name: str
    labels: Mapping[str, str]
    points: int


def campaign_runs(terms: CampaignTerms, now: dt.datetime, local_now: dt.datetime) -> bool:
    """Whether the campaign runs at this moment: its dates, weekdays and hours."""
    if not terms.starts_at <= now < terms.ends_at:
        return False
    if terms.weekdays and local_now.isoweekday() not in terms.weekdays:
        return False
    if terms.hours_from is None or terms.hours_until is None:
        return True
    clock = local_now.time()
    if terms.hours_from < terms.hours_until:
        return terms.hours_from <= clock < terms.hours_until
    return clock >= terms.hours_from or clock < terms.hours_until   # over midnight


def campaign_open_to(terms: CampaignTerms, setting: SaleSetting) -> bool:
    """Whether the campaign runs for this customer at this store now (before the basket)."""
    if not campaign_runs(terms, setting.now, setting.local_now):
        return False
    if terms.store_ids and setting.store_id not in terms.store_ids:
        return False
    if terms.tiers and (setting.tier is None or setting.tier.key not in terms.tiers):
        return False
    if terms.first_purchase_only and not setting.first_purchase:
        return False
    used = setting.uses.get(terms.id, 0)
    return not (terms.per_customer_limit and used >= terms.per_customer_limit)


def _line_matches(terms: CampaignTerms, line: BasketLine) -> bool:
    return line.category.lower() in terms.categories or line.sku in terms.skus


@dataclass(frozen=True)
class CampaignMatch:
    """A campaign open to the sale whose basket qualifies, and the lines it counts."""
    terms: CampaignTerms
    lines: tuple[int, ...]


def matching_campaigns(offers: Offers | None, lines: Sequence[BasketLine],
                       rules: ProgramRules) -> tuple[CampaignMatch, ...]:
    """The campaigns open to this sale whose basket qualifies, oldest first. Points spent do
    not change which lines a campaign counts, so a quote matches once for both its figures.

    A campaign naming categories or SKUs counts only those lines, for its minimum basket too;
    lines that earn nothing (excluded categories) never qualify.
    """
    if offers is None:
        return ()
    earning = tuple(i for i, line in enumerate(lines) if _earns(line, rules))
    found = []
    for terms in sorted(offers.campaigns, key=lambda t: t.id):
        if not campaign_open_to(terms, offers.setting):
            continue
        counted = (tuple(i for i in earning if _line_matches(terms, lines[i]))
                   if terms.names_lines() else earning)
        basket = sum(lines[i].amount_minor for i in counted)
        if counted and basket >= max(terms.min_basket_minor, 1):
            found.append(CampaignMatch(terms, counted))
    return tuple(found)


def applied_campaigns(matches: Sequence[CampaignMatch], line_base: Sequence[Decimal],
                      rules: ProgramRules) -> tuple[AppliedCampaign, ...]:
    """The campaigns this sale gets on this earning base, by the program's rule: the one
    giving most ("best", the oldest on a tie), or every one ("additive").

    A multiplier adds the counted lines' base points x (multiplier - 1), rounded down; a
    fixed bonus adds its points once per receipt.
    """
    base_points: dict[tuple[int, ...], int] = {}   # campaigns counting the same lines share it
    given = []
    for match in matches:
        terms = match.terms
        if terms.effect == "fixed":
            points = terms.bonus_points
        else:
            if match.lines not in base_points:
                base_points[match.lines] = points_for_money(
                    sum((line_base[i] for i in match.lines), Decimal(0)), rules)
            points = floor_int(base_points[match.lines] * (terms.multiplier - 1))
        if points > 0:
            given.append((points, terms))
    if rules.campaign_combination == "best" and given:
        given = [max(given, key=lambda g: (g[0], -g[1].id))]
    return tuple(AppliedCampaign(t.id, t.name, t.labels, points) for points, t in given)


def cut_to_grant(granted: int, base_points: int, tier_points: int,
                 campaigns: Sequence[AppliedCampaign]) -> tuple[int, tuple[AppliedCampaign, ...]]:
    """Split what the caps let a sale earn: campaigns are cut first (the last applied first),
    then the tier's share; returns (base + tier points, campaigns as granted). A grant above
    the whole gives the whole: nothing is cut, and nothing is added."""
    over = max(0, base_points + tier_points + sum(c.points for c in campaigns) - granted)
    kept: list[AppliedCampaign] = []
    for campaign in reversed(campaigns):
        cut = min(over, campaign.points)
        over -= cut
        if campaign.points - cut > 0:
            kept.append(AppliedCampaign(campaign.id, campaign.name, campaign.labels,
                                        campaign.points - cut))
    return base_points + tier_points - over, tuple(reversed(kept))
