"""What the app shows before anyone logs in: branding and rules, stores, current promotions."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import current_app
from sqlalchemy import select

from pos_loyalty import campaigns, promotions, tiers
from pos_loyalty.db import db
from pos_loyalty.models import Campaign, Program, Promotion, Store
from pos_loyalty.notify.texts import language_of
from pos_loyalty.programs import rules_for

from pos_loyalty.customer_data import iso

EARTH_RADIUS_M = 6_371_000


def branding(program: Program) -> dict[str, Any]:
    """The program's branding JSON over the [mobile] defaults, and the rules the app explains
    (the tier ladder among them, named in the program's language)."""
    defaults = current_app.config["LOYALTY"]["mobile"]
    brand = program.branding or {}
    rules = rules_for(program)
    return {
        "program": {"slug": program.slug, "name": program.name},
        "app_name": str(brand.get("app_name") or program.name),
        "colors": {"primary": str(brand.get("primary_color") or defaults["default_primary_color"]),
                   "secondary": str(brand.get("secondary_color")
                                    or defaults["default_secondary_color"])},
        "logo_url": str(brand.get("logo_url") or defaults["default_logo_url"]),
        "currency": program.currency,
        "currency_exponent": rules.currency_exponent,
        "locale": program.locale,
        "timezone": program.timezone,
        # "redeem_points_per_unit points pay one unit of currency (unit_minor minor units)".
        "point_value": {"points": str(rules.redeem_points_per_unit),
                        "value_minor": rules.unit_minor},
        "rules": {
            "earn_points_per_unit": str(rules.earn_points_per_unit),
            "redeem_points_per_unit": str(rules.redeem_points_per_unit),
            "min_cash_minor": rules.min_cash_minor,
            "max_redeem_share": str(rules.max_redeem_share),
            "pending_days": rules.pending_days,
            "expiry_months": rules.expiry_months,
            "excluded_categories": sorted(rules.excluded_categories),
        },
        "tiers": tiers.ladder_view(program, language_of(program, None)),
    }


def category_name(program: Program, category: str, language: str) -> str:
    """A category id as people read it: the program's name for it, else [categories], else
    the id made readable ("gift_card" -> "gift card")."""
    key = category.lower()
    configured = current_app.config["LOYALTY"].get("categories", {}).get(key, {})
    own = ((program.branding or {}).get("categories") or {}).get(key) or {}
    name = own.get(language) or configured.get(language)
    return str(name) if name else key.replace("_", " ").replace("-", " ")


# Promotions are made, changed and ended in pos_loyalty.promotions; earlier callers made
# them here.
create_promotion = promotions.create_promotion


def current_promotions(program: Program, now: dt.datetime) -> list[dict[str, Any]]:
    """Promotions running now, each with the campaign it points to (its terms in the
    program's language; null for a promotion of words only)."""
    promotions = db.session.scalars(
        select(Promotion).where(Promotion.program_id == program.id,
                                Promotion.starts_at <= now, Promotion.ends_at > now)
        .order_by(Promotion.ends_at, Promotion.id)).all()
    shown = _campaign_views(program, {p.campaign_id for p in promotions if p.campaign_id}, now)
    return [{"id": p.id, "title": p.title, "body": p.body, "image_url": p.image_url,
             "starts_at": iso(p.starts_at), "ends_at": iso(p.ends_at),
             "campaign": shown.get(p.campaign_id)} for p in promotions]


def _campaign_views(program: Program, campaign_ids: set[int],
                    now: dt.datetime) -> dict[int, dict[str, Any]]:
    if not campaign_ids:
        return {}
    language = language_of(program, None)
    rows = db.session.scalars(select(Campaign).where(Campaign.program_id == program.id,
                                                     Campaign.id.in_(campaign_ids)))
    return {c.id: campaigns.campaign_view(program, c, now, language) for c in rows}


def stores_near(program: Program, lat: float | None, lng: float | None) -> list[dict[str, Any]]:
    """The program's stores, nearest first when a position is given (stores without one last)."""
    stores = db.session.scalars(select(Store).where(Store.program_id == program.id)
                                .order_by(Store.name, Store.id)).all()
    views = [_store_view(store, lat, lng) for store in stores]
    if lat is None or lng is None:
        return views
    return sorted(views, key=lambda v: (v["distance_m"] is None, v["distance_m"] or 0))


def _store_view(store: Store, lat: float | None, lng: float | None) -> dict[str, Any]:
    has_position = store.latitude is not None and store.longitude is not None
    distance = (round(_distance_m(lat, lng, store.latitude, store.longitude))
                if has_position and lat is not None and lng is not None else None)
    return {"id": store.id, "name": store.name, "address": store.address, "phone": store.phone,
            "opening_hours": store.opening_hours, "latitude": store.latitude,
            "longitude": store.longitude, "distance_m": distance}


def _distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
