"""The program's rules page (the first page of Program settings): every rule of `[rules]` but
the tier ladder, saved together, with what a basket earns and may spend under the rules as
typed (the core's quote), refreshed by settings.js as the user types."""
from __future__ import annotations

import re
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from backoffice.blueprint import actor, area, bp
from backoffice.i18n import gettext as _
from backoffice.i18n import lazy_gettext
from backoffice.messages import error_sentence
from backoffice.settings import TABS, may_change, problem_sentence, require_change
from cashier_ui.forms import parse_amount, parse_text, parse_whole
from cashier_ui.i18n import amount_field
from cashier_ui.messages import FormError
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.rule_fields import RULE_FIELDS, RuleField
from pos_loyalty.usecases import program_settings

GROUPS = (("earning", lazy_gettext("Earning points")),
          ("paying", lazy_gettext("Paying with points")),
          ("limits", lazy_gettext("Limits")),
          ("bonuses", lazy_gettext("Bonuses")),
          ("tills", lazy_gettext("Cards and tills")))
LABELS = {
    "earn_points_per_unit": (lazy_gettext("Points per 1.00 paid"), lazy_gettext(
        "Points earned per unit of currency paid with money, e.g. 1 or 1.5.")),
    "excluded_categories": (lazy_gettext("Categories that earn nothing"), lazy_gettext(
        "Category ids separated by commas, e.g. tobacco, gift_card.")),
    "category_multipliers": (lazy_gettext("Multipliers by category"), lazy_gettext(
        "category=multiplier, separated by commas, e.g. organic=2.")),
    "pending_days": (lazy_gettext("Days points stay pending"), lazy_gettext(
        "The return window before earned points can be spent (0: at once).")),
    "expiry_months": (lazy_gettext("Months before points expire"), lazy_gettext(
        "Counted from when they become available (0: never).")),
    "campaign_combination": (lazy_gettext("Several campaigns on one sale"), None),
    "redeem_points_per_unit": (lazy_gettext("Points that pay 1.00"), lazy_gettext(
        "10 means 10 points = 1.00 of currency.")),
    "min_cash_minor": (lazy_gettext("Least paid in money"), lazy_gettext(
        "The customer always pays at least this in money.")),
    "max_redeem_share": (lazy_gettext("Largest share paid with points"), lazy_gettext(
        "From 0 to 1: 0.5 is half the bill, 1 the whole bill (less the least paid in "
        "money).")),
    "daily_program_cap_points": (lazy_gettext("Points the program may issue per day"),
                                 lazy_gettext("0: no cap.")),
    "daily_customer_cap_points": (lazy_gettext("Points one customer may earn per day"),
                                  lazy_gettext("0: no cap.")),
    "max_receipt_total_minor": (lazy_gettext("Largest bill of one sale"),
                                lazy_gettext("0: no ceiling.")),
    "max_points_per_sale": (lazy_gettext("Most points one sale may earn"),
                            lazy_gettext("0: no ceiling.")),
    "allow_negative_balance": (lazy_gettext("A return may leave a negative balance"),
                               lazy_gettext("The account is flagged when it does.")),
    "bonuses_count_towards_caps": (lazy_gettext("Bonuses count towards the daily caps"),
                                   None),
    "signup_bonus_points": (lazy_gettext("Welcome bonus (points)"),
                            lazy_gettext("Once per person.")),
    "birthday_bonus_points": (lazy_gettext("Birthday bonus (points)"), None),
    "birthday_min_days_known": (lazy_gettext("Days a birthday must be known before it pays"),
                                None),
    "referral_bonus_points": (lazy_gettext("Referral: points to the referrer"), None),
    "referral_newcomer_points": (lazy_gettext("Referral: points to the newcomer"), None),
    "referral_min_basket_minor": (lazy_gettext("Referral: least first purchase"), None),
    "referral_max_per_month": (lazy_gettext("Referral: most rewarded per referrer and month"),
                               lazy_gettext("0: no limit.")),
    "card_prefix": (lazy_gettext("Prefix of new card numbers"), lazy_gettext(
        "Cards already issued keep their numbers.")),
    "card_symbology": (lazy_gettext("Barcode of new cards"), None),
    "hold_default_ttl_seconds": (lazy_gettext("Seconds a hold lasts when the till does not "
                                              "say"), None),
    "hold_max_ttl_seconds": (lazy_gettext("Longest hold a till may ask for (seconds)"), None),
    "void_window_hours": (lazy_gettext("Hours a sale may be voided"), lazy_gettext(
        "0: until the end of the sale's day.")),
}
CHOICE_NAMES = {"best": lazy_gettext("only the one that gives most"),
                "additive": lazy_gettext("all of them, added up"),
                "ean13": "EAN-13", "code128": "Code 128"}
PREVIEW_TOTAL_MINOR = 2500   # the basket the page previews first: 25.00


def label_of(key: str) -> str:
    return str(LABELS[key][0])


@bp.get("/settings")
@area("settings")
def settings() -> Any:
    return _page()


@bp.post("/settings/rules")
@area("settings")
def settings_rules_save() -> Any:
    require_change("rules")
    try:
        changes = parse_rules(request.form)
        changed = program_settings.save_rules(g.program, changes, actor(), now())
    except LoyaltyError as error:
        return _page(typed=request.form, error=_rule_error(error), status=error.status)
    if changed:
        flash(_("Rules saved: %(rules)s.", rules=", ".join(label_of(key) for key in changed)),
              "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("backoffice.settings"))


@bp.post("/settings/rules/preview")
@area("settings")
def settings_rules_preview() -> Any:
    """The preview under the rules as typed: the fragment for settings.js, or the page."""
    preview, problem = _preview(request.form)
    if request.headers.get("X-Preview") == "fragment":
        return render_template("backoffice/settings_rules_preview.html", preview=preview,
                               problem=problem)
    return _page(typed=request.form, preview=(preview, problem))


def parse_rules(form: MultiDict[str, str]) -> dict[str, Any]:
    """The typed rules as the core takes them (amounts in minor units, rates as text)."""
    return {field.key: _parse(field, form) for field in RULE_FIELDS}


def _parse(field: RuleField, form: MultiDict[str, str]) -> Any:
    raw, label = form.get(field.key, ""), label_of(field.key)
    if field.kind == "flag":
        return raw == "on"
    if field.kind == "money":
        amount = parse_amount(raw, g.program.currency, label)
        if amount is None:
            raise FormError(_("%(field)s is required.", field=label))
        return amount
    if field.kind == "whole":
        return parse_whole(raw, label, minimum=int(field.low), maximum=int(field.high))
    if field.kind in ("rate", "share"):
        return parse_text(raw, label).replace(",", ".").replace(" ", "")
    if field.kind == "categories":
        return [word for word in re.split(r"[\s,;]+", raw.strip()) if word]
    if field.kind == "multipliers":
        return _multipliers(raw, label)
    return parse_text(raw, label, required=False)


def _multipliers(raw: str, label: str) -> dict[str, str]:
    """"organic=2, bakery=1,5" -> {"organic": "2", "bakery": "1.5"} (commas end a pair
    only when followed by a name)."""
    pairs = [part for part in re.split(r"[;\n]+|,\s*(?=[^\d\s])", raw.strip()) if part.strip()]
    found = {}
    for pair in pairs:
        category, sign, multiplier = pair.partition("=")
        if not sign or not category.strip() or not multiplier.strip():
            raise FormError(_("%(field)s: write category=multiplier, e.g. organic=2.",
                              field=label))
        found[category.strip()] = multiplier.strip().replace(",", ".")
    return found


Preview = tuple[program_settings.RulesPreview | None, str]


def _preview(form: MultiDict[str, str]) -> Preview:
    """The preview of the typed basket under the typed rules, or why there is none."""
    try:
        total = parse_amount(form.get("preview_total"), g.program.currency, _("Basket"))
        if not total:
            raise FormError(_("Enter the basket to preview."))
        category = parse_text(form.get("preview_category"), _("Category"), required=False)
        return _previewed(parse_rules(form), total, category)
    except LoyaltyError as error:
        return None, _rule_error(error)


def _previewed(changes: dict[str, Any], total: int, category: str = "") -> Preview:
    try:
        return program_settings.preview_rules(g.program, changes, total, category), ""
    except LoyaltyError as error:   # a bill above the ceiling, too many points...
        return None, _rule_error(error)


def _rule_error(error: LoyaltyError) -> str:
    key = error.details.get("field")
    if key in LABELS:
        return problem_sentence(error, label_of(key))
    if key == "rules":
        return _("These rules do not fit together: %(reason)s", reason=error.message)
    return error_sentence(error)


def shown_value(field: RuleField, value: Any) -> str:
    """A rule's value as its field shows it."""
    if field.kind == "flag":
        return _("yes") if value is True else _("no")
    if field.kind == "money" and isinstance(value, int):
        return amount_field(value, g.program.currency)
    if field.kind == "categories" and isinstance(value, list):
        return ", ".join(value)
    if field.kind == "multipliers" and isinstance(value, dict):
        return ", ".join(f"{category}={multiplier}" for category, multiplier in value.items())
    return str(value)


def _page(typed: MultiDict[str, str] | None = None, error: str = "", status: int = 200,
          preview: Preview | None = None) -> Any:
    current = program_settings.rule_values(g.program)
    if preview is None:
        preview = _previewed({}, PREVIEW_TOTAL_MINOR)
    fields = [{"field": field, "label": LABELS[field.key][0], "hint": LABELS[field.key][1],
               "value": (typed.get(field.key, "") if typed is not None
                         else shown_value(field, current.values[field.key])),
               "checked": (typed.get(field.key) == "on" if typed is not None
                           else current.values[field.key] is True),
               "default": shown_value(field, current.defaults[field.key]),
               "own": field.key in current.own}
              for field in RULE_FIELDS]
    total = (typed or {}).get("preview_total") or amount_field(PREVIEW_TOTAL_MINOR,
                                                                g.program.currency)
    return render_template(
        "backoffice/settings_rules.html", tabs=TABS, groups=GROUPS, fields=fields,
        choice_names=CHOICE_NAMES, error=error, can_change=may_change("rules"),
        preview=preview[0], problem=preview[1], preview_total=total,
        preview_category=(typed or {}).get("preview_category", "")), status
