"""Promotions: what the brand's phone app announces for a time (`GET /promotions`).

A promotion is words (title, body, an image) shown between two moments; linked to a campaign,
the app shows that campaign's real terms beside them, so the words never promise what the
sale does not give. Made by the CLI and the back office, changed and ended by the back office.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from pos_loyalty import campaigns
from pos_loyalty.db import db
from pos_loyalty.errors import NotFound, OfferEnded, ValidationFailed
from pos_loyalty.models import Program, Promotion
from pos_loyalty.payloads import plain_text

MAX_TITLE = 200
MAX_BODY = 2000
MAX_IMAGE_URL = 500
# What a body may hold besides plain text: line breaks.
LINE_BREAKS = str.maketrans("", "", "\r\n")


def create_promotion(program: Program, title: str, starts_at: dt.datetime,
                     ends_at: dt.datetime, body: str = "", image_url: str = "",
                     campaign_id: int | None = None) -> Promotion:
    """A promotion; with `campaign_id` (one of the program's campaigns) the app shows that
    campaign's real terms beside the promotion's words."""
    promotion = Promotion(program_id=program.id, **_checked(
        program, title, starts_at, ends_at, body, image_url, campaign_id))
    _check_unique(program, promotion.title, promotion.starts_at, None)
    db.session.add(promotion)
    db.session.flush()
    return promotion


def update_promotion(program: Program, promotion_id: int, title: str, starts_at: dt.datetime,
                     ends_at: dt.datetime, body: str = "", image_url: str = "",
                     campaign_id: int | None = None, *, now: dt.datetime) -> Promotion:
    """Every field may change until the promotion has ended."""
    promotion = find_promotion(program, promotion_id)
    if promotion.ends_at <= now:
        raise OfferEnded("This promotion has ended: it can no longer change.")
    values = _checked(program, title, starts_at, ends_at, body, image_url, campaign_id)
    _check_unique(program, values["title"], values["starts_at"], promotion.id)
    for name, value in values.items():
        setattr(promotion, name, value)
    db.session.flush()
    return promotion


def end_promotion(program: Program, promotion_id: int, now: dt.datetime) -> Promotion:
    """The app stops showing it now (one not started yet ends before it starts: it is
    then never shown, and keeps its dates)."""
    promotion = find_promotion(program, promotion_id)
    if promotion.ends_at <= now:
        raise OfferEnded("This promotion has ended already.")
    if promotion.starts_at < now:
        promotion.ends_at = now
    else:
        promotion.starts_at, promotion.ends_at = now - dt.timedelta(seconds=1), now
    db.session.flush()
    return promotion


def find_promotion(program: Program, promotion_id: int) -> Promotion:
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is None or promotion.program_id != program.id:
        raise NotFound(f"No promotion {promotion_id} in this program.")
    return promotion


def list_promotions(program: Program) -> list[Promotion]:
    """Every promotion of the program, latest end first."""
    return list(db.session.scalars(select(Promotion).where(Promotion.program_id == program.id)
                                   .order_by(Promotion.ends_at.desc(), Promotion.id.desc())))


def status_of(promotion: Promotion, now: dt.datetime) -> str:
    """scheduled, running, ended."""
    if promotion.ends_at <= now:
        return "ended"
    return "running" if promotion.starts_at <= now else "scheduled"


def promotion_fields(promotion: Promotion) -> dict[str, Any]:
    """What the audit trail keeps of a promotion (moments in naive UTC, ISO)."""
    return {"title": promotion.title, "body": promotion.body, "image_url": promotion.image_url,
            "campaign_id": promotion.campaign_id,
            "starts_at": promotion.starts_at.isoformat(), "ends_at": promotion.ends_at.isoformat()}


def _checked(program: Program, title: str, starts_at: dt.datetime, ends_at: dt.datetime,
             body: str, image_url: str, campaign_id: int | None) -> dict[str, Any]:
    title = title.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise ValidationFailed(f"A promotion needs a title of 1 to {MAX_TITLE} characters.",
                               field="title")
    if ends_at <= starts_at:
        raise ValidationFailed("A promotion ends after it starts.", field="ends_at")
    body = body.strip()
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"A promotion's text is {MAX_BODY} characters at most.",
                               field="body")
    plain_text(body.translate(LINE_BREAKS), "body")
    if campaign_id is not None:
        _check_campaign(program, campaign_id)
    return {"title": plain_text(title, "title"), "body": body,
            "image_url": _image_url(image_url.strip()), "starts_at": starts_at,
            "ends_at": ends_at, "campaign_id": campaign_id}


def _image_url(url: str) -> str:
    """An image the phone loads: https only (an app refuses or warns on plain http), a host,
    no credentials, no spaces."""
    if not url:
        return ""
    parts = urlsplit(url)
    if (len(url) > MAX_IMAGE_URL or parts.scheme != "https" or not parts.hostname
            or "@" in parts.netloc or any(c.isspace() for c in url)):
        raise ValidationFailed("An image address starts with https:// and names a server, "
                               f"{MAX_IMAGE_URL} characters at most.", field="image_url")
    return plain_text(url, "image_url")


def _check_unique(program: Program, title: str, starts_at: dt.datetime,
                  promotion_id: int | None) -> None:
    query = select(Promotion.id).where(Promotion.program_id == program.id,
                                       Promotion.title == title,
                                       Promotion.starts_at == starts_at)
    if promotion_id is not None:
        query = query.where(Promotion.id != promotion_id)
    if db.session.scalar(query) is not None:
        raise ValidationFailed("A promotion with this title already starts then.",
                               field="title")


def _check_campaign(program: Program, campaign_id: int) -> None:
    try:
        campaigns.find_campaign(program, campaign_id)
    except NotFound:
        raise ValidationFailed(f"No campaign {campaign_id} in this program.",
                               field="campaign_id") from None
