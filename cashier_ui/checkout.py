"""The main screen: identify the customer, quote the basket, sell, print the receipt, enrol."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, session, url_for
from markupsafe import Markup

from cashier_ui import forms
from cashier_ui.blueprint import actor, bp
from cashier_ui.i18n import gettext as _
from cashier_ui.i18n import amount_field, current_language, money, points
from cashier_ui.messages import PROOF_SENTENCES, FormError, error_sentence
from cashier_ui.offer_texts import earned_line, tier_summary
from pos_loyalty import cards, sales
from pos_loyalty.clock import now
from pos_loyalty.errors import LoyaltyError
from pos_loyalty.programs import rules_for
from pos_loyalty.rules import BasketLine, Quote
from pos_loyalty.usecases import checkout, customers, offers, store_reports


def customer_view() -> dict[str, Any] | None:
    """The customer being served (from the session), read fresh; None when nobody is."""
    number = session.get("card")
    if not number:
        return None

    try:
        view = customers.look_up_card(g.program, number, now())
    except LoyaltyError as error:
        stop_serving()
        flash(error_sentence(error), "error")
        return None
    if view["account"] is None:
        stop_serving()
        return None
    return view


# The customer being served: the card, and the proof that they are at the till that came with
# identifying them (a scan, or the PIN), which spending points needs.
SERVED = ("card", "proof", "proof_expires_at")


def serve(view: dict[str, Any]) -> None:
    """Serve the customer of this card view from now on, with its proof if it has one."""
    session["card"] = view["card_number"]
    session["proof"] = view.get("proof")
    session["proof_expires_at"] = view.get("proof_expires_at")


def stop_serving() -> None:
    for key in SERVED:
        session.pop(key, None)


def proof_held() -> str:
    """The till's proof for the customer while it lasts, else "": without one, points need
    the customer's PIN first."""
    proof, until = session.get("proof"), session.get("proof_expires_at")
    if not proof or not until or dt.datetime.fromisoformat(until.removesuffix("Z")) <= now():
        return ""
    return proof


def category_choices() -> list[str]:
    rules = rules_for(g.program)
    return sorted(rules.excluded_categories | set(rules.category_multipliers))


def render_checkout(customer: dict[str, Any], *, quote: Quote | None = None,
                    lines: list[BasketLine] | None = None, error: str = "", status: int = 200,
                    confirm: dict[str, Any] | None = None) -> tuple[str, int]:
    rows = forms.basket_rows(request.form) if request.method == "POST" else []
    total_text = request.form.get("total", "") if request.method == "POST" else ""
    if lines and not rows and not total_text:
        rows, total_text = _typed_basket(lines)
    return render_template(
        "cashier/checkout.html", customer=customer, quote=quote, error=error,
        tier=_tier_of(customer), earned_lines=_earned_lines(quote),
        proof=proof_held(), pin_reason=PROOF_SENTENCES["typed_number"],
        rows=rows + [{"item": "", "category": "", "quantity": "", "price": ""}] * max(
            1, 3 - len(rows)),
        total_text=total_text,
        basket_json=forms.basket_to_json(lines) if lines else "", categories=category_choices(),
        excluded=sorted(rules_for(g.program).excluded_categories),
        confirm=confirm or {}, currency=g.program.currency), status


def _tier_of(customer: dict[str, Any]) -> dict[str, Any] | None:
    """The panel's tier and progress to the next, when the program has tiers."""
    if not rules_for(g.program).tiers:
        return None
    progress = offers.tier_of_account(g.program, customer["account"]["id"], now(),
                                      current_language())
    return tier_summary(progress, g.program.currency)


def _earned_lines(quote: Quote | None) -> list[str]:
    """The quote's bonuses as the till says them: "Double points today: +23"."""
    if quote is None:
        return []
    return [earned_line(line)
            for line in offers.earned_lines(g.program, quote, current_language())]


def _quote(card_number: Any, lines: list[BasketLine], redeem_points: int = 0) -> Quote:
    """The quote at this till's store: its campaigns apply as they will in the sale."""
    return checkout.quote(g.program, card_number, lines, now(), redeem_points, g.store.id)


def _typed_basket(lines: list[BasketLine]) -> tuple[list[dict[str, str]], str]:
    """The basket written back into the form fields it was typed in."""
    currency = g.program.currency
    if len(lines) == 1 and lines[0].sku == "TOTAL":
        return [], amount_field(lines[0].unit_price_minor, currency)
    return [{"item": line.sku, "category": line.category, "quantity": str(line.quantity),
             "price": amount_field(line.unit_price_minor, currency)} for line in lines], ""


@bp.get("/")
def index() -> Any:
    customer = customer_view()
    if customer is None:
        return render_template("cashier/identify.html")
    return render_checkout(customer)


@bp.post("/identify/card")
def identify_card() -> Any:
    number = request.form.get("card_number", "")
    # The page's script says "scanned" when the number came in as fast as a scanner types.
    entry = "scanned" if request.form.get("card_entry") == "scanned" else "typed"
    try:
        view = customers.look_up_card_at_till(g.program, g.terminal, number, entry, now())
    except LoyaltyError as error:
        return render_template("cashier/identify.html", error=error_sentence(error),
                               card_number=number), error.status
    if view["account"] is None:
        return render_template("cashier/identify.html", blank_card=view["card_number"],
                               error=_("This card is not linked to a customer yet: enrol it "
                                       "first.")), 409
    serve(view)
    return redirect(url_for("cashier.index"))


@bp.post("/identify/phone")
def identify_phone() -> Any:
    phone = request.form.get("phone", "")
    try:
        view = customers.identify(g.program, g.terminal, request.form.get("pin", ""), now(),
                                  phone=phone)
    except LoyaltyError as error:
        return render_template("cashier/identify.html", error=error_sentence(error),
                               phone=phone, show_phone=True), error.status, error.http_headers()
    serve(view)
    return redirect(url_for("cashier.index"))


@bp.post("/customer/pin")
def check_pin() -> Any:
    """The customer types their PIN at the till, so that points may be spent on a card number
    that was typed (the PIN gives the till a proof, as identifying by phone does)."""
    customer = customer_view()
    if customer is None:
        return redirect(url_for("cashier.index"))
    try:
        view = customers.identify(g.program, g.terminal, request.form.get("pin", ""), now(),
                                  card_number=session["card"])
    except LoyaltyError as error:
        return _back_to_checkout(customer, error)
    serve(view)
    flash(_("PIN checked: points can be used."), "success")
    return _back_to_checkout(view)


@bp.post("/customer/clear")
def clear_customer() -> Any:
    stop_serving()
    return redirect(url_for("cashier.index"))


def new_receipt_number() -> str:
    return checkout.new_receipt_number(g.program, now())


@bp.post("/quote")
def quote_basket() -> Any:
    customer = customer_view()
    if customer is None:
        return redirect(url_for("cashier.index"))
    try:
        lines = forms.parse_basket(request.form, g.program.currency)
        quote = _quote(session["card"], lines)
    except LoyaltyError as error:
        return render_checkout(customer, error=error_sentence(error), status=error.status)
    confirm = {"key": str(uuid.uuid4()), "receipt_number": new_receipt_number()}
    return render_checkout(customer, quote=quote, lines=lines, confirm=confirm)


@bp.post("/quote.json")
def quote_json() -> Any:
    """The live figures under the points field, computed by the core as the cashier types."""
    try:
        lines = forms.basket_from_json(request.form.get("basket"))
        redeem = forms.parse_whole(request.form.get("redeem_points"), _("Points to use"),
                                   default=0)
        quote = _quote(session.get("card"), lines, redeem)
    except LoyaltyError as error:
        return jsonify({"error": error_sentence(error)}), error.status
    currency = g.program.currency
    return jsonify({"paid_with_points": money(quote.redeemed_minor, currency),
                    "cash_due": money(quote.cash_minor, currency),
                    "points_earned": points(quote.points_earned),
                    "points_used": points(quote.points_redeemed),
                    "earned_lines": _earned_lines(quote)})


@bp.post("/sales")
def confirm_sale() -> Any:
    customer = customer_view()
    if customer is None:
        return redirect(url_for("cashier.index"))
    lines: list[BasketLine] = []
    try:
        lines = forms.basket_from_json(request.form.get("basket"))
        redeem = forms.parse_whole(request.form.get("redeem_points"), _("Points to use"),
                                   default=0)
        receipt = forms.parse_text(request.form.get("receipt_number"), _("Receipt number"))
        # The number comes from the session, not from a scan: the proof that identifying the
        # customer gave is what shows them at the till. The form carries the proof it was made
        # with, so that the same form sent again is the same request (and replays the sale).
        sale_request = sales.SaleRequest(card_number=session["card"], receipt_number=receipt,
                                         lines=lines, redeem_points=redeem, staff_id=g.staff.id,
                                         proof=request.form.get("proof") or None)
        reply = checkout.sell(g.program, g.terminal, sale_request, now(),
                              request.form.get("idempotency_key"))
    except LoyaltyError as error:
        return _checkout_after_error(customer, lines, error)
    stop_serving()
    return redirect(url_for("cashier.receipt", sale_id=reply["sale_id"]))


def _back_to_checkout(customer: dict[str, Any], error: LoyaltyError | None = None) -> Any:
    """Back where the PIN was typed: the confirm form with its basket, points and key, or
    the basket form."""
    if not request.form.get("basket"):
        if error is not None:
            flash(error_sentence(error), "error")
        return redirect(url_for("cashier.index"))
    try:
        lines = forms.basket_from_json(request.form.get("basket"))
    except LoyaltyError as lost:
        return render_checkout(customer, error=error_sentence(lost), status=lost.status)
    return _checkout_after_error(customer, lines, error)


def _checkout_after_error(customer: dict[str, Any], lines: list[BasketLine],
                          error: LoyaltyError | None) -> Any:
    """The confirm form again, with the error if any; the quote is redone at zero points."""
    quote = None
    if lines:
        try:
            quote = _quote(session["card"], lines)
        except LoyaltyError:
            quote = None
    confirm = {"key": request.form.get("idempotency_key") or str(uuid.uuid4()),
               "receipt_number": request.form.get("receipt_number") or new_receipt_number(),
               "points": request.form.get("redeem_points", "")}
    if error is None:
        return render_checkout(customer, quote=quote, lines=lines or None, confirm=confirm)
    page, status = render_checkout(customer, quote=quote, lines=lines or None, confirm=confirm,
                                   error=error_sentence(error), status=error.status)
    return page, status, error.http_headers()


@bp.get("/sales/<int:sale_id>")
def receipt(sale_id: int) -> Any:
    data = store_reports.receipt(g.program, g.store.id, sale_id, current_language(), now())
    wallet_qr = _inline_svg(cards.render_qr_svg(data["wallet_link"])) \
        if data["wallet_link"] else None
    return render_template("cashier/receipt.html", **data, wallet_qr=wallet_qr,
                           currency=g.program.currency)


def _inline_svg(document: bytes) -> Markup:
    """An SVG document as an element of the page: its XML declaration dropped."""
    return Markup(document.decode().split("?>", 1)[-1].strip())


@bp.route("/enrol", methods=["GET", "POST"])
def enrol() -> Any:
    if request.method == "GET" or request.form.get("start"):
        return render_template("cashier/enrol.html",
                               card_number=request.form.get("card_number", ""))
    try:
        card_number = forms.parse_text(request.form.get("card_number"), _("Card number"),
                                       required=False)
        pin = request.form.get("pin", "")
        if pin != request.form.get("pin_confirm", ""):
            raise FormError(_("The two PINs are not the same: type the PIN again."))
        first_name = forms.parse_text(request.form.get("first_name"), _("First name"),
                                      required=False, max_length=100)
        referral_code = forms.parse_text(request.form.get("referral_code"), _("Referral code"),
                                         required=False, max_length=32)
        number = customers.enrol(g.program, request.form.get("phone", ""), pin, now(),
                                 channel="till", store_id=g.store.id,
                                 first_name=first_name, card_number=card_number or None,
                                 actor=actor(), referral_code=referral_code or None)["card_number"]
    except LoyaltyError as error:
        return render_template("cashier/enrol.html", error=error_sentence(error),
                               card_number=request.form.get("card_number", ""),
                               phone=request.form.get("phone", ""),
                               first_name=request.form.get("first_name", ""),
                               referral_code=request.form.get("referral_code", "")), error.status
    serve({"card_number": number})
    flash(_("Card %(number)s is live.", number=number), "success")
    return redirect(url_for("cashier.index"))
