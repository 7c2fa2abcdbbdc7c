"""Tiers and campaigns in the quote, as properties (hypothesis): what a sale earns is its base,
the tier's extra and each applied campaign, whatever the basket, the ladder and the campaigns;
the caps cut campaigns first and never below zero; the ceiling refuses rather than cuts."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pos_loyalty.config import load_settings
from pos_loyalty.errors import TooManyPoints
from pos_loyalty.rules import (
    AppliedCampaign, BasketLine, CampaignTerms, Offers, ProgramRules, Quote, SaleSetting,
    campaign_open_to, cut_to_grant, quote, tier_ladder,
)

NOW = dt.datetime(2026, 3, 14, 10, 0)            # a Saturday, naive UTC
LOCAL_NOW = NOW + dt.timedelta(hours=1)          # Paris in March
STORE = 1
EXCLUDED = ("tobacco", "gift_card")
CATEGORIES = ("bakery", "dairy", "organic", "Organic", "tobacco", "gift_card", "")
SKUS = ("BREAD", "MILK", "HONEY", "CIGS", "GIFT", "MISC")
LADDER = tier_ladder([
    {"key": "silver", "threshold": 100, "multiplier": "1.25"},
    {"key": "gold", "threshold": 500, "multiplier": "1.5"},
    {"key": "platinum", "threshold": 2000, "multiplier": "3"},
])


def program_rules(**overrides: Any) -> ProgramRules:
    """The shipped defaults (config/default.toml, no environment), with `overrides`."""
    defaults = load_settings(environ={})["rules"]
    return ProgramRules.from_settings({**defaults, "excluded_categories": list(EXCLUDED),
                                       "max_points_per_sale": 0, **overrides})


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


# --- strategies ---------------------------------------------------------------------------

lines_strategy = st.lists(
    st.builds(BasketLine, sku=st.sampled_from(SKUS), category=st.sampled_from(CATEGORIES),
              quantity=st.integers(1, 5), unit_price_minor=st.integers(0, 6_000)),
    min_size=1, max_size=6).filter(lambda lines: sum(line.amount_minor for line in lines) > 0)

rules_strategy = st.builds(
    program_rules,
    earn_points_per_unit=st.sampled_from(["1", "0.5", "2", "0.1"]),
    category_multipliers=st.sampled_from([{}, {"organic": "2"}, {"bakery": "1.5"}]),
    campaign_combination=st.sampled_from(["best", "additive"]),
    tiers=st.just([{"key": r.key, "threshold": r.threshold, "multiplier": str(r.multiplier)}
                   for r in LADDER]))

# A campaign's filters: values that let it run at NOW (Saturday 11:00 in Paris) for the
# customer, and values that shut it. Each drawn campaign lets at most one filter shut it, so
# most examples have several campaigns to combine and every filter is still tried.
OPEN_FILTERS: dict[str, list[Any]] = {
    "dates": [(-240, 480), (-1, 24), (0, 1)],           # (hours from NOW, hours long)
    "weekdays": [frozenset(), frozenset({6}), frozenset({6, 7})],
    "hours": [(None, None), (dt.time(9), dt.time(12)), (dt.time(11), dt.time(3)),
              (dt.time(22), dt.time(12))],
    "stores": [frozenset(), frozenset({STORE, 2})],
    "tiers": [frozenset()],
    "first_purchase_only": [False],
    "per_customer_limit": [0],
}
SHUTTING_FILTERS: dict[str, list[Any]] = {
    "dates": [(1, 24), (-24, 24), (-240, 1)],
    "weekdays": [frozenset({1, 2, 3, 4, 5}), frozenset({7})],
    "hours": [(dt.time(22), dt.time(2)), (dt.time(22), dt.time(11)), (dt.time(12), dt.time(14)),
              (dt.time(8), dt.time(11))],                # the end is excluded
    "stores": [frozenset({2, 3}), frozenset({STORE})],     # shuts only a sale with no store
    "tiers": [frozenset({"gold", "platinum"}), frozenset({"silver"}),    # by the customer's
              frozenset({"silver", "gold", "platinum"})],
    "first_purchase_only": [True],                                       # ... whether first
    "per_customer_limit": [1, 3],                                        # ... uses so far
}


@st.composite
def campaign_strategy(draw: st.DrawFn, campaign_id: int) -> CampaignTerms:
    """Campaigns of every shape: running or not (dates, weekdays, hours), for some stores,
    tiers, lines or first purchases, a minimum basket, a multiplier or a fixed bonus."""
    shut_by = draw(st.sampled_from([None] * len(SHUTTING_FILTERS) + list(SHUTTING_FILTERS)))
    chosen = {name: draw(st.sampled_from(SHUTTING_FILTERS[name] if name == shut_by
                                         else OPEN_FILTERS[name])) for name in OPEN_FILTERS}
    (start, hours), (hours_from, hours_until) = chosen["dates"], chosen["hours"]
    fixed = draw(st.booleans())
    return CampaignTerms(
        id=campaign_id, name=f"campaign {campaign_id}", labels={},
        starts_at=NOW + dt.timedelta(hours=start),
        ends_at=NOW + dt.timedelta(hours=start + hours),
        weekdays=chosen["weekdays"], hours_from=hours_from, hours_until=hours_until,
        store_ids=chosen["stores"], tiers=chosen["tiers"],
        categories=draw(st.sampled_from([frozenset()] * 4 + [frozenset({"bakery"}),
                                         frozenset({"dairy", "organic"}),
                                         frozenset({"tobacco"})])),
        skus=draw(st.sampled_from([frozenset()] * 4 + [frozenset({"HONEY"}),
                                   frozenset({"CIGS"})])),
        min_basket_minor=draw(st.sampled_from([0, 0, 500, 2_000, 10_000])),
        first_purchase_only=chosen["first_purchase_only"],
        effect="fixed" if fixed else "multiplier",
        multiplier=Decimal(1) if fixed else draw(st.sampled_from(
            [Decimal("1.1"), Decimal("1.5"), Decimal("2"), Decimal("3")])),
        bonus_points=draw(st.sampled_from([5, 20, 100])) if fixed else 0,   # ties happen
        per_customer_limit=chosen["per_customer_limit"],
        budget_points=draw(st.sampled_from([0, 1_000])))


@st.composite
def offers_strategy(draw: st.DrawFn) -> Offers:
    count = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 3, 4, 5]))   # mostly several
    campaigns = [draw(campaign_strategy(campaign_id)) for campaign_id in
                 draw(st.permutations(range(1, 8)))[:count]]   # ids in any order
    setting = SaleSetting(
        now=NOW, local_now=LOCAL_NOW, store_id=draw(st.sampled_from([STORE, STORE, None])),
        tier=draw(st.sampled_from([None, *LADDER])), first_purchase=draw(st.booleans()),
        uses={c.id: draw(st.integers(0, 4)) for c in campaigns if draw(st.booleans())})
    return Offers(campaigns, setting)


# --- the oracle: what the README's rules say, written out plainly ---------------------------

def is_open(terms: CampaignTerms, setting: SaleSetting) -> bool:
    """Whether the campaign may apply to this customer, here, now (before the basket)."""
    if not terms.starts_at <= setting.now < terms.ends_at:
        return False
    if terms.weekdays and setting.local_now.isoweekday() not in terms.weekdays:
        return False
    if terms.hours_from is not None and terms.hours_until is not None:
        def minute(moment: dt.time) -> int:
            return moment.hour * 60 + moment.minute
        since_start = (minute(setting.local_now.time()) - minute(terms.hours_from)) % 1440
        length = (minute(terms.hours_until) - minute(terms.hours_from)) % 1440
        if since_start >= length:
            return False
    if terms.store_ids and setting.store_id not in terms.store_ids:
        return False
    if terms.tiers and (setting.tier is None or setting.tier.key not in terms.tiers):
        return False
    if terms.first_purchase_only and not setting.first_purchase:
        return False
    return not (terms.per_customer_limit
                and setting.uses.get(terms.id, 0) >= terms.per_customer_limit)


def qualifying(terms: CampaignTerms, lines: list[BasketLine], rules: ProgramRules) -> list[int]:
    """The lines a campaign counts: earning lines of its categories or SKUs (all, if none)."""
    return [i for i, line in enumerate(lines)
            if line.category.lower() not in rules.excluded_categories
            and (not (terms.categories or terms.skus) or line.category.lower() in terms.categories
                 or line.sku in terms.skus)]


def expected_points(terms: CampaignTerms, lines: list[BasketLine], q: Quote,
                    rules: ProgramRules) -> int:
    """What an open campaign gives this basket: 0 without a qualifying line or under its
    minimum; a fixed bonus once; a multiplier on the qualifying lines' money part."""
    counted = qualifying(terms, lines, rules)
    if not counted or sum(lines[i].amount_minor for i in counted) < max(1, terms.min_basket_minor):
        return 0
    if terms.effect == "fixed":
        return terms.bonus_points
    money = sum((Decimal(lines[i].amount_minor - q.line_redeemed_minor[i])
                 * rules.category_multipliers.get(lines[i].category.lower(), Decimal(1))
                 for i in counted), Decimal(0))
    base = floor(money * rules.earn_points_per_unit / rules.unit_minor)
    return floor(base * (terms.multiplier - 1))


def expected_campaigns(offers: Offers, lines: list[BasketLine], q: Quote,
                       rules: ProgramRules) -> dict[int, int]:
    """Every open campaign that gives this basket something: id -> points."""
    given_points = {terms.id: expected_points(terms, lines, q, rules)
                    for terms in offers.campaigns if is_open(terms, offers.setting)}
    return {cid: points for cid, points in given_points.items() if points > 0}


def quoted(lines: list[BasketLine], rules: ProgramRules, offers: Offers | None,
           balance: int, share: int) -> Quote:
    """The quote when the customer spends `share` % of the most points the bill allows."""
    most = quote(lines, balance, True, rules, 0, offers).max_redeem_points
    return quote(lines, balance, True, rules, most * share // 100, offers)


# --- the quote ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, rules=rules_strategy, offers=offers_strategy(),
       balance=st.integers(0, 5_000), share=st.integers(0, 100))
def test_earned_is_the_base_plus_the_tier_plus_each_applied_campaign(lines, rules, offers,
                                                                      balance, share):
    q = quoted(lines, rules, offers, balance, share)
    assert q.points_earned == q.base_points + q.tier_points + sum(c.points for c in q.campaigns)
    without = quote(lines, balance, True, rules, q.points_redeemed)
    assert q.base_points == without.points_earned == without.base_points
    assert (without.tier_points, without.campaigns) == (0, ())
    tier = offers.setting.tier
    assert q.tier_points == (floor(q.base_points * (tier.multiplier - 1)) if tier else 0)
    assert q.tier == (tier.key if tier else None)
    assert all(c.points > 0 for c in q.campaigns)
    # What the till shows before the customer chooses to spend: the same sum, spending none.
    assert q.points_if_no_redeem == quote(lines, balance, True, rules, 0, offers).points_earned


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, rules=rules_strategy, offers=offers_strategy(),
       balance=st.integers(0, 5_000), share=st.integers(0, 100))
def test_campaigns_apply_by_the_combination_rule(lines, rules, offers, balance, share):
    q = quoted(lines, rules, offers, balance, share)
    expected = expected_campaigns(offers, lines, q, rules)
    applied = {c.id: c.points for c in q.campaigns}
    if rules.campaign_combination == "additive":
        assert applied == expected
        assert [c.id for c in q.campaigns] == sorted(applied)
    elif expected:
        best = max(expected.values())
        assert applied == {min(cid for cid, p in expected.items() if p == best): best}
    else:
        assert applied == {}


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, rules=rules_strategy, offers=offers_strategy(),
       balance=st.integers(0, 5_000), share=st.integers(0, 100))
def test_a_campaign_never_applies_without_a_qualifying_line_or_under_its_minimum(
        lines, rules, offers, balance, share):
    q = quoted(lines, rules, offers, balance, share)
    terms = {t.id: t for t in offers.campaigns}
    for applied in q.campaigns:
        campaign = terms[applied.id]
        counted = qualifying(campaign, lines, rules)
        assert counted, "applied to a basket with no line it counts"
        assert sum(lines[i].amount_minor for i in counted) >= campaign.min_basket_minor
        assert is_open(campaign, offers.setting)


@settings(max_examples=200, deadline=None)
@given(rules=rules_strategy, offers=offers_strategy(), price=st.integers(1, 6_000),
       quantity=st.integers(1, 5))
def test_excluded_lines_alone_get_no_campaign_and_no_tier(rules, offers, price, quantity):
    lines = [BasketLine("CIGS", "tobacco", quantity, price),
             BasketLine("GIFT", "gift_card", 1, price)]
    q = quote(lines, 0, False, rules, 0, offers)
    assert (q.base_points, q.tier_points, q.campaigns, q.points_earned) == (0, 0, (), 0)


def test_best_gives_the_oldest_of_campaigns_giving_as_much():
    """The boundaries the properties meet only now and then, as worked examples."""
    rules = program_rules(campaign_combination="best")
    bonus = [CampaignTerms(cid, f"bonus {cid}", {}, NOW, NOW + dt.timedelta(days=1),
                           effect="fixed", bonus_points=20) for cid in (7, 3, 5)]
    setting = SaleSetting(NOW, LOCAL_NOW, STORE, None, False, {})
    q = quote([BasketLine("BREAD", "bakery", 1, 1_000)], 0, False, rules, 0,
              Offers(bonus, setting))
    assert [(c.id, c.points) for c in q.campaigns] == [(3, 20)]


@pytest.mark.parametrize("hours_from, hours_until, runs_at_eleven", [
    (dt.time(11), dt.time(12), True), (dt.time(10), dt.time(11), False),
    (dt.time(11), dt.time(3), True), (dt.time(22), dt.time(11), False)])
def test_hours_take_in_their_start_and_leave_out_their_end(hours_from, hours_until,
                                                           runs_at_eleven):
    terms = CampaignTerms(1, "hours", {}, NOW, NOW + dt.timedelta(days=1),
                          hours_from=hours_from, hours_until=hours_until)
    setting = SaleSetting(NOW, LOCAL_NOW, STORE, None, False, {})
    assert campaign_open_to(terms, setting) is runs_at_eleven
    assert is_open(terms, setting) is runs_at_eleven      # the oracle reads hours alike


# --- the ceiling on one sale ----------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, rules=rules_strategy, offers=offers_strategy(),
       ceiling=st.integers(1, 400))
def test_the_ceiling_refuses_the_whole_sale_rather_than_cutting_it(lines, rules, offers,
                                                                   ceiling):
    uncapped = quote(lines, 0, False, rules, 0, offers)
    capped_rules = program_rules(**{**_settings_of(rules), "max_points_per_sale": ceiling})
    if uncapped.points_earned > ceiling:
        with pytest.raises(TooManyPoints) as refused:
            quote(lines, 0, False, capped_rules, 0, offers)
        assert refused.value.details == {"max_points": ceiling, "points": uncapped.points_earned}
    else:
        assert quote(lines, 0, False, capped_rules, 0, offers) == uncapped


def _settings_of(rules: ProgramRules) -> dict[str, Any]:
    """The overrides a strategy-made rules object was built from."""
    return {"earn_points_per_unit": str(rules.earn_points_per_unit),
            "category_multipliers": {k: str(v) for k, v in rules.category_multipliers.items()},
            "campaign_combination": rules.campaign_combination,
            "tiers": [{"key": r.key, "threshold": r.threshold, "multiplier": str(r.multiplier)}
                      for r in rules.tiers]}


# --- what the caps let a sale keep ------------------------------------------------------------

applied_strategy = st.lists(st.integers(1, 500), max_size=5).map(
    lambda points: tuple(AppliedCampaign(i, f"campaign {i}", {}, p)
                         for i, p in enumerate(points, start=1)))


def test_a_grant_above_the_whole_adds_nothing():
    """The caps only ever cut: a grant larger than the sale's points leaves them as they are
    (it once handed the difference to the last campaign, or to the base without one)."""
    applied = (AppliedCampaign(1, "a", {}, 3), AppliedCampaign(2, "b", {}, 4))
    assert cut_to_grant(100, 10, 5, applied) == (15, applied)
    assert cut_to_grant(100, 10, 5, ()) == (15, ())


@settings(max_examples=200, deadline=None)
@given(base=st.integers(0, 2_000), tier=st.integers(0, 2_000), applied=applied_strategy,
       granted=st.integers(0, 10_000))
def test_caps_cut_campaigns_first_to_exactly_what_is_granted(base, tier, applied, granted):
    whole = base + tier + sum(c.points for c in applied)
    own, kept = cut_to_grant(granted, base, tier, applied)
    assert own + sum(c.points for c in kept) == min(granted, whole)
    assert own >= 0 and all(c.points > 0 for c in kept)
    # Campaigns go first: base and tier stay whole while anything of a campaign is left.
    assert own == min(base + tier, granted)
    # The last applied is cut first: what is kept is a prefix, only its last one cut short.
    assert [c.id for c in kept] == [c.id for c in applied[:len(kept)]]
    assert all(k.points == c.points for k, c in zip(kept[:-1], applied))
    assert all(k.points <= c.points for k, c in zip(kept, applied))


@settings(max_examples=200, deadline=None)
@given(base=st.integers(0, 2_000), tier=st.integers(0, 2_000), applied=applied_strategy,
       granted=st.integers(0, 10_000))
def test_cutting_twice_is_cutting_once_to_the_smaller_grant(base, tier, applied, granted):
    """A sale cuts for the customer's cap, then again for the program's (`sales._grant`)."""
    first, kept = cut_to_grant(granted, base, tier, applied)
    smaller = granted // 2
    assert cut_to_grant(smaller, first, 0, kept) == cut_to_grant(smaller, base, tier, applied)
