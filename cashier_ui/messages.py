"""Every error the core reports, as one plain sentence in the till's language."""
from __future__ import annotations

import math
from typing import Any

from flask import g

from cashier_ui.i18n import gettext as _
from cashier_ui.i18n import lazy_gettext, money
from pos_loyalty.errors import LoyaltyError

SENTENCES = {
    "invalid_card_number": lazy_gettext(
        "This card number is not valid: check the digits, the last one is a check digit."),
    "card_not_found": lazy_gettext("No card has this number."),
    "card_blocked": lazy_gettext("This card is blocked, lost or replaced: it cannot be used."),
    "card_not_linked": lazy_gettext("This card is not linked to a customer yet: enrol it first."),
    "card_already_linked": lazy_gettext("This card already belongs to a customer."),
    "account_not_found": lazy_gettext("No customer has this phone number."),
    "account_blocked": lazy_gettext("This account is blocked: its points cannot be used."),
    "phone_taken": lazy_gettext("A customer with this phone number already exists."),
    "phone_country_not_allowed": lazy_gettext(
        "This program sends no SMS to this phone's country: enrol a phone of the program's "
        "country."),
    "insufficient_points": lazy_gettext(
        "The customer does not have that many points available."),
    "duplicate_receipt": lazy_gettext(
        "This receipt number was already used on this till: use the next one."),
    "idempotency_conflict": lazy_gettext(
        "This sale was already sent with other values: start it again."),
    "sale_not_found": lazy_gettext("No such receipt in this store."),
    "sale_voided": lazy_gettext("This sale was voided."),
    "void_window_closed": lazy_gettext(
        "This sale can no longer be voided: make a return instead."),
    "invalid_login": lazy_gettext("Wrong username or password."),
    "login_not_for_here": lazy_gettext(
        "This login is for the back office (/admin), not the till."),
    "busy": lazy_gettext("The server is busy checking passwords: try again in a moment."),
    "forbidden": lazy_gettext("You may not do this."),
    "not_found": lazy_gettext("Nothing was found."),
    "conflict": lazy_gettext("Someone changed this at the same moment: nothing was saved, retry."),
    "hold_not_found": lazy_gettext("No such hold for this till."),
    "hold_closed": lazy_gettext("This hold was already used, cancelled or has expired."),
    "referral_code_unknown": lazy_gettext(
        "No customer has this referral code: check it, or leave it empty."),
    "referral_self": lazy_gettext("A customer cannot give their own referral code."),
    "referral_not_newcomer": lazy_gettext(
        "A referral code is for new customers only, and this person was a customer before: "
        "leave it empty."),
}

FIELD_SENTENCES = {
    "phone": lazy_gettext("This phone number is not valid."),
    "pin": lazy_gettext("A PIN is 4 to 8 digits."),
    "reason": lazy_gettext("Give a reason."),
    "points": lazy_gettext("Adjust by a non-zero number of points."),
    "lines": lazy_gettext("The basket is empty: enter a total or lines."),
    "total_minor": lazy_gettext("The total must be more than zero."),
    "amount_minor": lazy_gettext("Enter an amount or lines to return."),
    "redeem_points": lazy_gettext("The points cannot be negative."),
    "status": lazy_gettext("Choose active or blocked."),
    "referral_code": lazy_gettext("A referral code is 8 letters and digits."),
}


# Why points could not be spent (`rules.presence_refusal`), as the cashier can mend it.
PROOF_SENTENCES = {
    "typed_number": lazy_gettext(
        "To use points, the customer types their PIN (or scan their card or the card in their "
        "app)."),
    "live_code_expired": lazy_gettext(
        "The code on the customer's phone is out of date: ask them to open their card again "
        "and scan it, or to type their PIN."),
}


class FormError(LoyaltyError):
    """A field the till could not read; its message is already in the till's language."""
    code = "form_error"
    status = 422


def error_sentence(error: LoyaltyError) -> str:
    """What the cashier reads: translated, with the numbers the core gave, never a trace."""
    details: dict[str, Any] = error.details
    if isinstance(error, FormError):
        return error.message
    if error.code == "invalid_pin":
        left = details.get("attempts_left")
        if left is None:
            return _("Wrong PIN.")
        return _("Wrong PIN: %(left)s tries left, then a wait.", left=left)
    if error.code == "too_many_tries":
        return _("Too many tries: wait %(minutes)s min, or scan the card.",
                 minutes=minutes_to_wait(error))
    if error.code == "proof_required":
        return str(PROOF_SENTENCES.get(details.get("reason"), PROOF_SENTENCES["typed_number"]))
    if error.code == "redeem_limit_exceeded" and "max_redeem_points" in details:
        return _("At most %(points)s points can be used on this bill.",
                 points=details["max_redeem_points"])
    if error.code == "receipt_too_large":
        return _("This bill is larger than one sale may be: at most %(amount)s.",
                 amount=money(details["max_total_minor"], g.program.currency))
    if error.code == "too_many_points":
        return _("This sale would earn more than %(points)s points, the most one sale may earn.",
                 points=details["max_points"])
    if error.code == "return_exceeds_sale":
        if "returnable_minor" in details:
            return _("This return is more than what is left of the sale: at most %(amount)s.",
                     amount=money(details["returnable_minor"], g.program.currency))
        return _("This return is more than what is left on the receipt.")
    if error.code == "validation_error" and details.get("field") in FIELD_SENTENCES:
        return str(FIELD_SENTENCES[details["field"]])
    if error.code in SENTENCES:
        return str(SENTENCES[error.code])
    return error.message


def unexpected_sentence(database_down: bool) -> str:
    if database_down:
        return _("The connection to the database failed: nothing was saved. Retry in a moment.")
    return _("Something went wrong on our side: nothing was saved. Retry.")


def minutes_to_wait(error: LoyaltyError) -> int:
    return max(1, math.ceil(error.details["retry_after_seconds"] / 60))


def login_error_sentence(error: LoyaltyError) -> str:
    """A refused staff login in words: no card to scan there."""
    if error.code == "too_many_tries":
        return _("Too many tries: wait %(minutes)s min.", minutes=minutes_to_wait(error))
    return error_sentence(error)
