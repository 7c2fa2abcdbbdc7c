"""Tiers and campaigns, as the people who run the program and the faces use them.

The sale applies both by itself (`sales.record_sale`); these are the other actions: set the
ladder, make and end campaigns, and what the till, the phone and the manager see of them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from pos_loyalty import campaigns, tiers
from pos_loyalty.audit import record as audit
from pos_loyalty.campaign_specs import campaign_spec
from pos_loyalty.app_sessions import Caller
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Campaign, LedgerEntry, Program
from pos_loyalty.notify.texts import language_of
from pos_loyalty.programs import local_to_utc, rules_for, utc_to_local
from pos_loyalty.rules import Quote, SaleSetting, campaign_open_to, rung_named
from pos_loyalty.sales import has_sale


# --- the ladder ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LadderSet:
    tiers: tuple[str, ...]
    placed: int


def set_tiers(program: Program, given: Mapping[str, Any], now: dt.datetime,
              actor: str) -> LadderSet:
    """A new ladder (checked whole), then every account placed on it, a chunk per
    transaction so a large program never holds many locks at once."""
    ladder = run_in_transaction(lambda: tiers.set_ladder(db.session.merge(program), given, now,
                                                         actor))
    placed = run_in_transaction(lambda: tiers.place_accounts(db.session.merge(program), now))
    return LadderSet(tuple(rung.key for rung in ladder), placed)


def ladder(program: Program, language: str) -> dict[str, Any]:
    return tiers.ladder_view(program, language)


def my_tier(program: Program, caller: Caller, now: dt.datetime,
            language: str) -> dict[str, Any]:
    """The phone's GET /me/tier: tier, measure so far, next threshold, requalification date."""
    return run_in_transaction(lambda: tiers.progress(program, caller.account, now, language))


def tier_of_account(program: Program, account_id: int, now: dt.datetime,
                    language: str) -> dict[str, Any]:
    """The till's customer panel: the same progress, for the account on screen."""
    return run_in_transaction(lambda: tiers.progress(
        program, db.session.get(Account, account_id), now, language))


# --- campaigns ----------------------------------------------------------------------------------

def create_campaign(program: Program, spec: Mapping[str, Any], now: dt.datetime,
                    actor: str) -> dict[str, Any]:
    """A campaign made and audited (its terms as the spec that makes it)."""
    def work() -> dict[str, Any]:
        campaign = campaigns.create_campaign(program, spec, now, actor)
        audit(program, actor, "campaign_created", f"campaign:{campaign.id}", now,
              after=campaign_spec(program, campaign))
        return campaigns.campaign_view(program, campaign, now, language_of(program, None))
    return run_in_transaction(work)


def end_campaign(program: Program, campaign_id: int, now: dt.datetime,
                 actor: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        campaign = campaigns.find_campaign(program, campaign_id)
        before = campaigns.status_of(campaign, now)
        campaigns.end_campaign(program, campaign_id, now)
        if before != "ended":
            audit(program, actor, "campaign_ended", f"campaign:{campaign_id}", now,
                  before={"status": before}, after={"status": "ended"})
        return campaigns.campaign_view(program, campaign, now, language_of(program, None))
    return run_in_transaction(work)


def list_campaigns(program: Program, now: dt.datetime, language: str, *,
                   include_past: bool = False) -> list[dict[str, Any]]:
    return run_in_transaction(lambda: [
        campaigns.campaign_view(program, c, now, language)
        for c in campaigns.list_campaigns(program, now, include_past=include_past)])


def campaigns_today(program: Program, store_id: int | None, now: dt.datetime,
                    language: str) -> list[dict[str, Any]]:
    """What the manager's screen lists: campaigns that run at some moment of today's local
    day at this store (any customer)."""
    day_start = utc_to_local(program, now).replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = local_to_utc(program, day_start + dt.timedelta(days=1))

    def work() -> list[dict[str, Any]]:
        shown = []
        for campaign in campaigns.list_campaigns(program, now):
            terms = campaigns.terms_of(campaign)
            if (terms.store_ids and store_id not in terms.store_ids) or \
                    (terms.weekdays and day_start.isoweekday() not in terms.weekdays) or \
                    terms.starts_at >= day_end:
                continue
            shown.append(campaigns.campaign_view(program, campaign, now, language))
        return shown
    return run_in_transaction(work)


def campaigns_for_customer(program: Program, caller: Caller, now: dt.datetime,
                           language: str) -> list[dict[str, Any]]:
    """The phone's GET /campaigns: those running now that this customer can get (their
    tier, first purchase, uses left), at any store (each says its stores)."""
    def work() -> list[dict[str, Any]]:
        account = caller.account
        running = campaigns.running_campaigns(program, now)
        uses = campaigns.uses_of(account.id, campaigns.limited_ids(running))
        setting = SaleSetting(now=now, local_now=utc_to_local(program, now), store_id=None,
                              tier=rung_named(rules_for(program).tiers, account.tier),
                              first_purchase=not has_sale(account.id), uses=uses)
        shown = []
        for terms in running:
            anywhere = replace(setting, store_id=next(iter(terms.store_ids), None))
            if campaign_open_to(terms, anywhere):
                shown.append(campaigns.campaign_view(
                    program, campaigns.find_campaign(program, terms.id), now, language))
        return shown
    return run_in_transaction(work)


# --- what the till shows ------------------------------------------------------------------------

def label_in(labels: Mapping[str, str], name: str, language: str) -> str:
    """A campaign's label in `language`, else in English, else its name (as
    `rules.CampaignTerms.label`, for what carries only labels and name)."""
    return labels.get(language) or labels.get("en") or name


def earned_lines(program: Program, quote: Quote, language: str) -> list[dict[str, Any]]:
    """What a quote adds to its base points, as the till lists it: the tier's extra (the tier
    named in `language`), then each campaign that applies (its label)."""
    lines: list[dict[str, Any]] = []
    tier = tiers.short_view(program, quote.tier, language)
    if quote.tier_points and tier is not None:
        lines.append({"kind": "tier", "label": tier["name"], "points": quote.tier_points})
    lines.extend({"kind": "campaign", "id": c.id, "label": label_in(c.labels, c.name, language),
                  "points": c.points} for c in quote.campaigns)
    return lines


def sale_campaigns(program: Program, sale_id: int, language: str) -> list[dict[str, Any]]:
    """The campaigns a sale got, as its receipt names them: {id, label, points}, read from
    the sale's "campaign" ledger entries in the caller's transaction."""
    rows = db.session.execute(
        select(Campaign, LedgerEntry.points + LedgerEntry.pending_delta)
        .join(LedgerEntry, LedgerEntry.campaign_id == Campaign.id)
        .where(LedgerEntry.sale_id == sale_id, LedgerEntry.kind == "campaign",
               Campaign.program_id == program.id)
        .order_by(LedgerEntry.id)).all()
    return [{"id": campaign.id, "label": label_in(campaign.labels or {}, campaign.name, language),
             "points": int(points)} for campaign, points in rows]
