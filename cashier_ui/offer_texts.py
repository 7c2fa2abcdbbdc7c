"""Tiers and campaigns in the till's words: the panel's tier line, the quote's bonus lines and
a campaign's terms on the manager's screen. Wording only; the figures come from the use cases
(`pos_loyalty.usecases.offers`)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import babel.dates
import flask_babel

from cashier_ui.i18n import category_names, date, date_locale, money, points
from cashier_ui.i18n import gettext as _


def earned_line(line: dict[str, Any]) -> str:
    """One bonus of a quote: "Double points today: +23", "Silver tier: +5"."""
    if line["kind"] == "tier":
        return _("%(tier)s tier: +%(points)s", tier=line["label"], points=points(line["points"]))
    return _("%(label)s: +%(points)s", label=line["label"], points=points(line["points"]))


def tier_summary(progress: dict[str, Any] | None, currency: str) -> dict[str, Any] | None:
    """The customer panel's tier: its name, what the next one needs (a bar and a sentence),
    and the day it is judged again; None when the program has no tiers."""
    if progress is None or (progress["tier"] is None and progress["next_tier"] is None):
        return None
    above = progress["next_tier"]
    return {
        "name": progress["tier"]["name"] if progress["tier"] else None,
        "to_next": _to_next(progress, currency) if above else _("Top tier"),
        "measure": progress["measure"],
        "next_threshold": above["threshold"] if above else None,
        "reviewed": (_("Tier reviewed on %(date)s",
                       date=date(dt.date.fromisoformat(progress["requalify_on"])))
                     if progress["requalify_on"] else ""),
    }


def _to_next(progress: dict[str, Any], currency: str) -> str:
    name = progress["next_tier"]["name"]
    if progress["measure_kind"] == "money":
        return _("%(amount)s more spending to %(tier)s",
                 amount=money(progress["to_next"], currency), tier=name)
    return _("%(points)s points to %(tier)s", points=points(progress["to_next"]), tier=name)


def campaign_status(campaign: dict[str, Any]) -> str:
    return {"running": _("Running now"), "scheduled": _("Starts later today"),
            "spent": _("Budget used up"), "ended": _("Ended")}[campaign["status"]]


def campaign_terms(campaign: dict[str, Any], tier_names: dict[str, str],
                   currency: str) -> list[str]:
    """A campaign's terms as sentences, from what it gives to the limits it keeps."""
    terms = [_effect(campaign),
             _("From %(start)s to %(end)s", start=_local(campaign["starts_at"]),
               end=_local(campaign["ends_at"], end=True))]
    if campaign["weekdays"]:
        terms.append(_("On %(days)s", days=", ".join(_day_names(campaign["weekdays"]))))
    if campaign["hours"]:
        terms.append(_("Hours: %(hours)s", hours=campaign["hours"].replace("-", "–")))
    if campaign["store_ids"]:
        terms.append(_("Only in some stores, this one included"))
    if campaign["categories"]:
        terms.append(_("Products: %(categories)s",
                       categories=", ".join(category_names(campaign["categories"]))))
    if campaign["skus"]:
        terms.append(_("Items: %(skus)s", skus=", ".join(campaign["skus"])))
    if campaign["tiers"]:
        terms.append(_("For tiers: %(tiers)s", tiers=", ".join(
            tier_names.get(key, key) for key in campaign["tiers"])))
    terms.extend(_limits(campaign, currency))
    return terms


def _effect(campaign: dict[str, Any]) -> str:
    if campaign["effect"] == "fixed":
        return _("+%(points)s points per receipt", points=points(campaign["bonus_points"]))
    return _("Points × %(factor)s",
             factor=flask_babel.format_decimal(Decimal(campaign["multiplier"])))


def _limits(campaign: dict[str, Any], currency: str) -> list[str]:
    limits = []
    if campaign["min_basket_minor"]:
        limits.append(_("Basket of %(amount)s or more",
                        amount=money(campaign["min_basket_minor"], currency)))
    if campaign["first_purchase_only"]:
        limits.append(_("First purchase only"))
    if campaign["per_customer_limit"]:
        limits.append(_("At most %(count)s times per customer",
                        count=points(campaign["per_customer_limit"])))
    if campaign["budget_points"]:
        limits.append(_("Budget: %(given)s of %(budget)s points given",
                        given=points(campaign["points_given"]),
                        budget=points(campaign["budget_points"])))
    return limits


def _local(moment: str, end: bool = False) -> str:
    """A campaign's local time ("2026-03-14T18:00", already in the program's zone); at
    midnight, the day alone, and for its end the day before (the last day it runs)."""
    local = dt.datetime.fromisoformat(moment)
    if local.time() != dt.time(0):
        return babel.dates.format_datetime(local, "short", locale=date_locale())
    day = local.date() - dt.timedelta(days=1) if end else local.date()
    return babel.dates.format_date(day, "short", locale=date_locale())


def _day_names(weekdays: list[int]) -> list[str]:
    names = babel.dates.get_day_names("wide", locale=date_locale())
    return [names[day - 1] for day in weekdays]
