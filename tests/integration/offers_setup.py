"""What the tests of tiers and campaigns share: a Saturday, a two-rung ladder, a campaign."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pos_loyalty.models import Program
from pos_loyalty.usecases import offers

SATURDAY = dt.datetime(2026, 3, 14, 10, 0)   # 11:00 in Paris
LADDER = {"tiers": [
    {"key": "silver", "threshold": 50, "multiplier": "1.5",
     "names": {"fr": "Argent", "en": "Silver"}},
    {"key": "gold", "threshold": 200, "multiplier": "2", "names": {"fr": "Or", "en": "Gold"},
     "perks": {"fr": "Café offert", "en": "Free coffee"}},
]}


def make_campaign(program: Program, now: dt.datetime, **terms: Any) -> int:
    """A campaign of March 2026, double points unless the terms say otherwise; its id."""
    spec = {"name": "Double points", "starts": "2026-03-01", "ends": "2026-03-31", **terms}
    if "bonus_points" not in spec:
        spec.setdefault("multiplier", "2")
    return offers.create_campaign(program, spec, now, "tests")["id"]


def campaign(shop: Any, **terms: Any) -> int:
    """The same, made in the shop's program at the shop's time."""
    return make_campaign(shop.program, shop.now, **terms)
