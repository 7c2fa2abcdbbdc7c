"""Campaigns, tiers and promotions as the back office runs them: the lists, a campaign's or
promotion's page, changes (each audited with before and after), the ladder's preview.

Making and ending a campaign and setting the ladder are the use cases the CLI runs too
(`usecases.offers`); these are what only a screen needs.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from pos_loyalty import campaigns, promotions, tiers
from pos_loyalty.audit import record as audit
from pos_loyalty.campaign_specs import campaign_spec, local_moment, local_spec
from pos_loyalty.db import db, retry_read, run_in_transaction
from pos_loyalty.models import Program, Promotion, Store
from pos_loyalty.programs import rules_for

CAMPAIGN_GROUPS = ("running", "scheduled", "ended")


# --- campaigns ----------------------------------------------------------------------------------

def campaign_groups(program: Program, now: dt.datetime,
                    language: str) -> dict[str, list[dict[str, Any]]]:
    """Every campaign as every face shows it, in three lists: running (a spent budget
    included), scheduled, ended (latest first)."""
    def read() -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {name: [] for name in CAMPAIGN_GROUPS}
        for campaign in campaigns.list_campaigns(program, now, include_past=True):
            view = campaigns.campaign_view(program, campaign, now, language)
            groups["running" if view["status"] == "spent" else view["status"]].append(view)
        groups["ended"].reverse()
        return groups
    return retry_read(read)


@dataclass(frozen=True)
class CampaignPage:
    view: dict[str, Any]      # as every face shows it (`campaigns.campaign_view`)
    spec: dict[str, Any]      # as the form edits it (`campaign_specs.campaign_spec`)
    promotions: list[dict[str, Any]]   # those that announce it: {id, title}


def campaign_page(program: Program, campaign_id: int, now: dt.datetime,
                  language: str) -> CampaignPage:
    def read() -> CampaignPage:
        campaign = campaigns.find_campaign(program, campaign_id)
        announced = db.session.execute(
            select(Promotion.id, Promotion.title)
            .where(Promotion.program_id == program.id, Promotion.campaign_id == campaign.id)
            .order_by(Promotion.starts_at, Promotion.id)).all()
        return CampaignPage(campaigns.campaign_view(program, campaign, now, language),
                            campaign_spec(program, campaign),
                            [{"id": row.id, "title": row.title} for row in announced])
    return retry_read(read)


def update_campaign(program: Program, campaign_id: int, spec: Mapping[str, Any],
                    now: dt.datetime, actor: str, language: str) -> dict[str, Any]:
    """Change a campaign (what may change: `campaigns.update_campaign`), audited with its
    spec before and after."""
    def work() -> dict[str, Any]:
        before = campaign_spec(program, campaigns.find_campaign(program, campaign_id))
        campaign = campaigns.update_campaign(program, campaign_id, spec, now)
        after = campaign_spec(program, campaign)
        if after != before:
            audit(program, actor, "campaign_changed", f"campaign:{campaign_id}", now,
                  before=before, after=after)
        return campaigns.campaign_view(program, campaign, now, language)
    return run_in_transaction(work)


@dataclass(frozen=True)
class CampaignChoices:
    """What a campaign's form offers to tick: the program's stores and tiers."""
    stores: list[dict[str, Any]]      # {id, name}
    tiers: list[dict[str, Any]]       # {key, name}
    campaigns: list[dict[str, Any]]   # {id, name, status}: what a promotion may announce


def campaign_choices(program: Program, now: dt.datetime, language: str) -> CampaignChoices:
    def read() -> CampaignChoices:
        stores = db.session.execute(select(Store.id, Store.name)
                                    .where(Store.program_id == program.id)
                                    .order_by(Store.name, Store.id)).all()
        rungs = rules_for(program).tiers
        return CampaignChoices(
            [{"id": store.id, "name": store.name} for store in stores],
            [{"key": rung.key, "name": rung.name(language)} for rung in rungs],
            [{"id": c.id, "name": c.name, "status": campaigns.status_of(c, now)}
             for c in campaigns.list_campaigns(program, now, include_past=True)])
    return retry_read(read)


# --- tiers --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TiersPage:
    settings: dict[str, Any]          # each of tiers.TIER_SETTINGS but the ladder, as read
    rungs: list[dict[str, Any]]       # as stored: {key, threshold, multiplier, names, perks}
    counts: dict[str | None, int]     # open accounts per tier key now (None: no tier)


def tiers_page(program: Program) -> TiersPage:
    def read() -> TiersPage:
        rules = rules_for(program)
        settings = {"tier_measure": rules.tier_measure,
                    "tier_period_months": rules.tier_period_months,
                    "tier_lowered_by_returns": rules.tier_lowered_by_returns,
                    "bonuses_count_towards_tiers": rules.bonuses_count_towards_tiers}
        rungs = [{"key": r.key, "threshold": r.threshold, "multiplier": str(r.multiplier),
                  "names": dict(r.names), "perks": dict(r.perks)} for r in rules.tiers]
        return TiersPage(settings, rungs, tiers.tier_counts(program))
    return retry_read(read)


def preview_tiers(program: Program, given: Mapping[str, Any],
                  now: dt.datetime) -> dict[str | None, int]:
    """How many accounts each tier would hold once `given` is set (`tiers set`'s file);
    nothing is written."""
    return retry_read(lambda: tiers.placement_preview(program, given, now))


# --- promotions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionForm:
    """A promotion as its form gives it: moments in the program's time ("2026-12-05" or
    "2026-12-05T18:00"; a date alone for the end includes that day)."""
    title: str
    starts: str
    ends: str
    body: str = ""
    image_url: str = ""
    campaign_id: int | None = None

    def values(self, program: Program) -> dict[str, Any]:
        return {"title": self.title, "starts_at": local_moment(program, self.starts, "starts"),
                "ends_at": local_moment(program, self.ends, "ends"), "body": self.body,
                "image_url": self.image_url, "campaign_id": self.campaign_id}


def promotion_list(program: Program, now: dt.datetime) -> list[dict[str, Any]]:
    """Every promotion, latest end first, with its status and the campaign it announces."""
    def read() -> list[dict[str, Any]]:
        names = {c.id: c.name for c in campaigns.list_campaigns(program, now,
                                                                include_past=True)}
        return [{**_promotion_view(program, p, now), "campaign_name": names.get(p.campaign_id)}
                for p in promotions.list_promotions(program)]
    return retry_read(read)


def promotion_page(program: Program, promotion_id: int, now: dt.datetime,
                   language: str) -> dict[str, Any]:
    """A promotion, and the campaign it announces as the phone shows it (its real terms)."""
    def read() -> dict[str, Any]:
        promotion = promotions.find_promotion(program, promotion_id)
        campaign = (campaigns.campaign_view(program, campaigns.find_campaign(
            program, promotion.campaign_id), now, language) if promotion.campaign_id else None)
        return {**_promotion_view(program, promotion, now), "campaign": campaign}
    return retry_read(read)


def create_promotion(program: Program, form: PromotionForm, now: dt.datetime,
                     actor: str) -> int:
    def work() -> int:
        promotion = promotions.create_promotion(program, **form.values(program))
        audit(program, actor, "promotion_created", f"promotion:{promotion.id}", now,
              after=promotions.promotion_fields(promotion))
        return promotion.id
    return run_in_transaction(work)


def update_promotion(program: Program, promotion_id: int, form: PromotionForm,
                     now: dt.datetime, actor: str) -> int:
    def work() -> int:
        before = promotions.promotion_fields(promotions.find_promotion(program, promotion_id))
        promotion = promotions.update_promotion(program, promotion_id, **form.values(program),
                                                now=now)
        after = promotions.promotion_fields(promotion)
        if after != before:
            audit(program, actor, "promotion_changed", f"promotion:{promotion_id}", now,
                  before=before, after=after)
        return promotion.id
    return run_in_transaction(work)


def end_promotion(program: Program, promotion_id: int, now: dt.datetime, actor: str) -> None:
    def work() -> None:
        before = promotions.promotion_fields(promotions.find_promotion(program, promotion_id))
        promotion = promotions.end_promotion(program, promotion_id, now)
        audit(program, actor, "promotion_ended", f"promotion:{promotion_id}", now,
              before=before, after=promotions.promotion_fields(promotion))
    run_in_transaction(work)


def _promotion_view(program: Program, promotion: Promotion, now: dt.datetime) -> dict[str, Any]:
    """A promotion for the back office: its moments as the form writes them."""
    return {"id": promotion.id, "title": promotion.title, "body": promotion.body,
            "image_url": promotion.image_url, "campaign_id": promotion.campaign_id,
            "starts": local_spec(program, promotion.starts_at, "starts"),
            "ends": local_spec(program, promotion.ends_at, "ends"),
            "status": promotions.status_of(promotion, now)}
