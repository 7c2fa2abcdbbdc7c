"""Messages to customers: a title and a text (French, English) sent to a segment (everyone, a
tier, a store's customers, those inactive for some days), by push or SMS as each customer
chose. The form leads to a preview with the counts, then "Send". Marketing and admin.

Sending writes the first [broadcasts] back_office_accounts_per_request accounts in the
request; a larger segment is written that many at a time from its page ("Write the next
ones"), or at once by `pos-loyalty notify resume`: no request holds a worker for minutes.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from backoffice.blueprint import actor, area, bp, setting
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.offer_forms import ID, field_errors, typed
from cashier_ui.i18n import current_language
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.models import Broadcast
from pos_loyalty.usecases import broadcasts as broadcast_cases
from pos_loyalty.usecases.broadcasts import BroadcastForm, SegmentChoices

FORM_FIELDS = ("title", "text_fr", "text_en", "segment_kind", "tier", "store_id",
               "inactive_days")
SENTENCES = {
    "title": lazy_gettext("Give a title of 1 to 65 characters, on one line."),
    "text_fr": lazy_gettext("Write the text in French or in English at least: 480 "
                            "characters at most, without control characters."),
    "text_en": lazy_gettext("The text is 480 characters at most, without control "
                            "characters."),
    "segment": lazy_gettext("Choose who gets it: everyone, one of the tiers, one of the "
                            "stores, or customers inactive for 1 to 3650 days."),
}
ALIASES = {"texts.fr": "text_fr", "texts.en": "text_en", "texts": "text_fr"}
STATUS_NAMES = {"writing": lazy_gettext("being written"), "written": lazy_gettext("written"),
                "cancelled": lazy_gettext("cancelled")}


@bp.get("/broadcasts")
@area("offers")
def broadcasts() -> Any:
    return render_template("backoffice/broadcasts.html", status_names=STATUS_NAMES,
                           views=broadcast_cases.broadcast_list(g.program, setting("page_size")),
                           segment_words=_segment_words(_choices()))


@bp.get("/broadcasts/new")
@area("offers")
def broadcast_new() -> Any:
    return _form_page({"segment_kind": "all"})


@bp.post("/broadcasts/new")
@area("offers")
def broadcast_change() -> Any:
    """Back from the preview to the form, as it was filled in."""
    return _form_page(_typed_fields(request.form))


@bp.post("/broadcasts/preview")
@area("offers")
def broadcast_preview() -> Any:
    fields = _typed_fields(request.form)
    try:
        preview = broadcast_cases.preview(g.program, _broadcast(fields), now())
    except LoyaltyError as error:
        return _form_page(fields, error)
    return render_template("backoffice/broadcast_preview.html", preview=preview,
                           fields=fields, send_key=secrets.token_urlsafe(24),
                           segment_words=_segment_words(_choices()),
                           per_request=_per_request())


@bp.post("/broadcasts/send")
@area("offers")
def broadcast_send() -> Any:
    fields = _typed_fields(request.form)
    send_key = typed(request.form, "send_key")[:64] or None
    try:
        broadcast = broadcast_cases.send(g.program, _broadcast(fields), now(), actor(),
                                    send_key=send_key, max_accounts=_per_request())
    except LoyaltyError as error:
        return _form_page(fields, error)
    _flash_progress(broadcast)
    return redirect(url_for("backoffice.broadcast_view", broadcast_id=broadcast.id))


@bp.get(f"/broadcasts/<{ID}:broadcast_id>")
@area("offers")
def broadcast_view(broadcast_id: int) -> Any:
    return render_template("backoffice/broadcast.html", status_names=STATUS_NAMES,
                           view=broadcast_cases.broadcast_page(g.program, broadcast_id),
                           segment_words=_segment_words(_choices()),
                           per_request=_per_request())


@bp.post(f"/broadcasts/<{ID}:broadcast_id>/continue")
@area("offers")
def broadcast_continue(broadcast_id: int) -> Any:
    broadcast = broadcast_cases.write_more(g.program, broadcast_id, now(), _per_request())
    _flash_progress(broadcast)
    return redirect(url_for("backoffice.broadcast_view", broadcast_id=broadcast_id))


@bp.post(f"/broadcasts/<{ID}:broadcast_id>/cancel")
@area("offers")
def broadcast_cancel(broadcast_id: int) -> Any:
    cancelled = broadcast_cases.cancel(g.program, broadcast_id, now(), actor())
    flash(_("Broadcast cancelled: %(count)s messages not sent yet will not be.",
            count=cancelled), "success")
    return redirect(url_for("backoffice.broadcast_view", broadcast_id=broadcast_id))


def _per_request() -> int:
    return int(current_app.config["LOYALTY"]["broadcasts"]["back_office_accounts_per_request"])


def _flash_progress(broadcast: Broadcast) -> None:
    if broadcast.status == "writing":
        flash(_("%(count)s customers are written so far: write the next ones below.",
                count=broadcast.accounts), "info")
    else:
        flash(_("Written for %(count)s customers: the messages go out from now on (after "
                "the quiet hours).", count=broadcast.accounts), "success")


def _form_page(fields: dict[str, Any], error: LoyaltyError | None = None) -> tuple[str, int]:
    errors, sentence = field_errors(error, SENTENCES, ALIASES) if error else ({}, "")
    page = render_template("backoffice/broadcast_form.html", fields=fields, errors=errors,
                           error=sentence, choices=_choices())
    return page, error.status if error else 200


def _choices() -> SegmentChoices:
    return broadcast_cases.segment_choices(g.program, current_language())


def _typed_fields(form: MultiDict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: typed(form, name) for name in FORM_FIELDS}
    fields["push_only"] = form.get("push_only") == "yes"
    return fields


def _broadcast(fields: dict[str, Any]) -> BroadcastForm:
    kind = fields["segment_kind"]
    values = {"tier": fields["tier"], "store": fields["store_id"],
              "inactive": fields["inactive_days"]}
    segment = kind if kind == "all" else f"{kind}:{values.get(kind, '')}"
    return BroadcastForm(fields["title"], {"fr": fields["text_fr"], "en": fields["text_en"]},
                         segment, fields["push_only"])


def _segment_words(choices: SegmentChoices) -> Any:
    """segment -> how the pages say it ("Tier Gold"), with the tiers' and stores' names."""
    tiers = {tier["key"]: tier["name"] for tier in choices.tiers}
    stores = {str(store["id"]): store["name"] for store in choices.stores}

    def words(segment: str) -> str:
        kind, _sep, value = segment.partition(":")
        if kind == "tier":
            return _("Tier %(name)s", name=tiers.get(value, value))
        if kind == "store":
            return _("Customers of %(store)s", store=stores.get(value, value))
        if kind == "inactive":
            return _("No purchase for %(days)s days", days=value)
        return _("Every customer")
    return words
