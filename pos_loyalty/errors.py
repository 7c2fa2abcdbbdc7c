"""Every error a caller may see, as named classes: each has its API `code`, HTTP status and
default message. The faces map them once (the app's handler for JSON, `cashier_ui.messages`
for the till's sentences), and the OpenAPI documents list their codes from here.
"""
from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    """Base of every error a caller may see; never a 500."""
    code = "loyalty_error"
    status = 400
    message = "The request could not be carried out."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}

    def http_headers(self) -> dict[str, str]:
        """Headers the answer carries besides its body (Retry-After for a refused try)."""
        return {}


class Refusal(Exception):
    """A refused try that must be remembered (a wrong PIN, password or code, a reused token).

    Raised with the error to answer; the unit of work (`db.run_in_transaction`) commits what
    the try wrote, such as a failure counter or a revoked session, then raises `error`. Any
    other error rolls everything back.
    """

    def __init__(self, error: LoyaltyError) -> None:
        super().__init__(error.message)
        self.error = error


def all_errors() -> list[type[LoyaltyError]]:
    """Every concrete error class, for documents and tests that list the codes."""
    found, todo = [], list(LoyaltyError.__subclasses__())
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


# --- the request itself -----------------------------------------------------------------

class ValidationFailed(LoyaltyError):
    code = "validation_error"
    status = 422
    message = "A field of the request is missing or invalid."


class MalformedRequest(LoyaltyError):
    code = "malformed_request"
    status = 400
    message = "The request body must be a JSON object."


class UnsupportedMediaType(LoyaltyError):
    code = "unsupported_media_type"
    status = 415
    message = "Send the request body as application/json."


class Unauthorized(LoyaltyError):
    code = "unauthorized"
    status = 401
    message = "A valid terminal key is required (Authorization: Bearer <key>)."


class Forbidden(LoyaltyError):
    code = "forbidden"
    status = 403
    message = "You may not do this."


class NotFound(LoyaltyError):
    code = "not_found"
    status = 404
    message = "Nothing here."


class WaitBeforeRetry:
    """Mixin of the refusals that say how long to wait: `retry_after` seconds, in
    `details.retry_after_seconds` and in the Retry-After header."""

    def __init__(self, message: str | None = None, *, retry_after: int,
                 **details: Any) -> None:
        super().__init__(message, retry_after_seconds=retry_after,  # type: ignore[call-arg]
                         **details)
        self.retry_after = retry_after

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(WaitBeforeRetry, LoyaltyError):
    """A rate limit is spent (card lookups or identifications per terminal, card links per
    account): answered 429 with Retry-After, the seconds until a retry can succeed."""
    code = "too_many_requests"
    status = 429
    message = "Too many requests: wait before trying again."

# --- cards and accounts -----------------------------------------------------------------

class InvalidCardNumber(LoyaltyError):
    code = "invalid_card_number"
    status = 422
    message = "This card number is not valid (format or check digit)."


class CardNotFound(LoyaltyError):
    code = "card_not_found"
    status = 404
    message = "No card has this number."


class CardBlocked(LoyaltyError):
    code = "card_blocked"
    status = 403
    message = "This card is blocked, lost or replaced."


class ProofRequired(LoyaltyError):
    """Points are spent only with the customer there (`rules.require_presence`); `details.reason`
    says what the till sent short of that."""
    code = "proof_required"
    status = 403
    message = ("Spending points needs the customer at the till: scan the card or the phone's "
               "live code, or send the proof that identify gives for the PIN.")


class CardNotLinked(LoyaltyError):
    code = "card_not_linked"
    status = 409
    message = "This card is not linked to a customer yet."


class CardAlreadyLinked(LoyaltyError):
    code = "card_already_linked"
    status = 409
    message = "This card already belongs to a customer."


class CardLimitReached(LoyaltyError):
    code = "card_limit_reached"
    status = 409
    message = "This account has as many cards as it may have."


class InvalidLogin(LoyaltyError):
    """Wrong username or password for a staff login (the message never says which)."""
    code = "invalid_login"
    status = 401
    message = "Wrong username or password."


class LoginNotForHere(LoyaltyError):
    """A right password for a login whose role works elsewhere (a cashier at the back office,
    a finance user at the till)."""
    code = "login_not_for_here"
    status = 403
    message = "This login cannot be used here."


class InvalidSecondFactor(LoyaltyError):
    """A wrong, spent or missing two-factor code."""
    code = "invalid_second_factor"
    status = 401
    message = "Wrong or already used code."


class AccountNotFound(LoyaltyError):
    code = "account_not_found"
    status = 404
    message = "No customer has this phone number."


class AccountBlocked(LoyaltyError):
    code = "account_blocked"
    status = 403
    message = "This account is blocked: its points cannot be used."


class PhoneCountryNotAllowed(LoyaltyError):
    """The program sends no SMS to this phone's country ([sms] allowed_countries)."""
    code = "phone_country_not_allowed"
    status = 422
    message = "This program cannot send SMS to phone numbers of this country."


class PhoneTaken(LoyaltyError):
    code = "phone_taken"
    status = 409
    message = "A customer with this phone number already exists."


class InvalidPin(LoyaltyError):
    code = "invalid_pin"
    status = 401
    message = "Wrong PIN."


class TooManyTries(WaitBeforeRetry, LoyaltyError):
    """Too many wrong PINs or passwords for this account or from this till or address: wait
    `retry_after` seconds (also in the Retry-After header). Nothing else is locked."""
    code = "too_many_tries"
    status = 429
    message = "Too many wrong tries: wait before trying again."


class ServerBusy(LoyaltyError):
    """Every slot for slow password hashing is taken (a flood of logins): retry shortly."""
    code = "busy"
    status = 503
    message = "The server is busy checking passwords: retry in a moment."

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


# --- points, sales, holds ---------------------------------------------------------------

class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"
    status = 422
    message = "The account does not have that many points available."


class RedeemLimitExceeded(LoyaltyError):
    code = "redeem_limit_exceeded"
    status = 422
    message = "More points than this bill allows."


class ReceiptTooLarge(LoyaltyError):
    """Above the program's max_receipt_total_minor: a typo or a test, not a real sale."""
    code = "receipt_too_large"
    status = 422
    message = "This bill is larger than the program allows for one sale."


class TooManyPoints(LoyaltyError):
    """The sale would earn more than the program's max_points_per_sale."""
    code = "too_many_points"
    status = 422
    message = "This sale would earn more points than the program allows for one sale."


class DuplicateReceipt(LoyaltyError):
    code = "duplicate_receipt"
    status = 409
    message = "This receipt number was already used on this terminal."


class ConcurrentChange(LoyaltyError):
    code = "conflict"
    status = 409
    message = "This conflicts with changes made at the same moment; retry."


# --- idempotent writes ------------------------------------------------------------------

class IdempotencyConflict(LoyaltyError):
    code = "idempotency_conflict"
    status = 409
    message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyMissing(LoyaltyError):
    code = "idempotency_key_required"
    status = 400
    message = "Send an Idempotency-Key header with every write."


class SaleNotFound(LoyaltyError):
    code = "sale_not_found"
    status = 404
    message = "No such sale for this terminal."


class SaleVoided(LoyaltyError):
    code = "sale_voided"
    status = 409
    message = "This sale was voided."


class VoidWindowClosed(LoyaltyError):
    code = "void_window_closed"
    status = 409
    message = "This sale can no longer be voided: make a return instead."


class ReturnExceedsSale(LoyaltyError):
    code = "return_exceeds_sale"
    status = 422
    message = "This return is more than what is left of the sale."


class HoldNotFound(LoyaltyError):
    code = "hold_not_found"
    status = 404
    message = "No such hold for this terminal."


class HoldClosed(LoyaltyError):
    code = "hold_closed"
    status = 409
    message = "This hold was already captured, voided or has expired."


# --- the mobile app: keys, tokens, one-time codes ---------------------------------------

class InvalidAppKey(LoyaltyError):
    code = "invalid_app_key"
    status = 401
    message = "A valid app key is required (X-App-Key header)."


class InvalidToken(LoyaltyError):
    code = "invalid_token"
    status = 401
    message = "Log in again: the token is missing, expired or revoked."


class TokenReused(LoyaltyError):
    code = "token_reused"
    status = 401
    message = "This refresh token was already used; the session is closed. Log in again."


class InvalidCode(LoyaltyError):
    code = "invalid_code"
    status = 401
    message = "Wrong code."


class CodeExpired(LoyaltyError):
    code = "code_expired"
    status = 400
    message = "No valid code for this phone number: ask for a new one."


class TooManyAttempts(LoyaltyError):
    code = "too_many_attempts"
    status = 429
    message = "Too many wrong codes: ask for a new one."


class TooManyCodes(LoyaltyError):
    code = "too_many_codes"
    status = 429
    message = "Too many codes were sent to this phone number; try again later."


# --- referrals --------------------------------------------------------------------------

class ReferralCodeUnknown(LoyaltyError):
    """No open account of the program has this code (a typo, or a closed account's code)."""
    code = "referral_code_unknown"
    status = 422
    message = "No customer has this referral code."


class ReferralSelf(LoyaltyError):
    """The code given is the customer's own."""
    code = "referral_self"
    status = 422
    message = "A customer cannot give their own referral code."


class ReferralNotNewcomer(LoyaltyError):
    """A referral code is for a newcomer: not for a phone that had an account before (even
    erased), an account that has bought already or gave a code already, nor an account older
    than the referrer's."""
    code = "referral_not_newcomer"
    status = 422
    message = "A referral code is for new customers only: this customer was one before."


# --- the service ------------------------------------------------------------------------

class DatabaseUnavailable(LoyaltyError):
    """The database could not answer (connection lost, refused or locked): nothing was saved.
    Answered 503 with a Retry-After header; a till retries with the same Idempotency-Key."""
    code = "database_unavailable"
    status = 503
    message = "The database cannot be reached right now; nothing was saved. Retry in a moment."


# --- campaigns and promotions changed in the back office -------------------------------

class OfferEnded(LoyaltyError):
    """An ended campaign or promotion stays as it was, with what it gave: make a new one."""
    code = "offer_ended"
    status = 409
    message = "This has ended: it can no longer change."


class CampaignTermLocked(ValidationFailed):
    """A started campaign's earning terms stay as the sales already made were judged on
    them; `field` names the term."""
    code = "campaign_term_locked"
    message = "This term cannot change once the campaign has started."


# --- the back office's customer care ----------------------------------------------------

class AccountErased(LoyaltyError):
    """The customer's data was erased on their request: the account keeps its books but can
    no longer be changed (no adjustment, card, code or session)."""
    code = "account_erased"
    status = 409
    message = "This customer's data was erased: the account can no longer be changed."


class AdjustmentAlreadyDecided(LoyaltyError):
    """An adjustment request approved or rejected already (by another admin, or a second
    click): it is applied once, never twice."""
    code = "adjustment_already_decided"
    status = 409
    message = "This adjustment was already approved or rejected."


# --- stores and staff, as the back office keeps them ---------------------------------------

class UsernameTaken(ValidationFailed):
    """Another login of the program has this username."""
    code = "username_taken"
    message = "This username is taken."


class StoreHasHistory(LoyaltyError):
    """Sales, points or SMS were recorded at this store: it keeps its history, undeleted."""
    code = "store_has_history"
    status = 409
    message = "This store has sales or points history: it cannot be deleted."


class StoreHasStaff(LoyaltyError):
    """Logins still belong to the store that would be deleted."""
    code = "store_has_staff"
    status = 409
    message = "Logins still belong to this store: move them to another store first."


class LastAdmin(LoyaltyError):
    """The change would leave the program without an active admin."""
    code = "last_admin"
    status = 409
    message = "The program must keep an active admin: make another login admin first."


class OwnLoginChange(LoyaltyError):
    """An admin demoting or deactivating their own login (another admin may)."""
    code = "own_login"
    status = 409
    message = "You cannot demote or deactivate your own login: another admin can."


# --- imports ----------------------------------------------------------------------------

class ImportFileUnreadable(LoyaltyError):
    """A members file that cannot be read as a whole (not UTF-8, no header, no phone column);
    a bad line is not this error: it is reported with its line number and the rest goes on."""
    code = "import_file_unreadable"
    status = 422
    message = "This file cannot be read as a CSV of members."


class ImportFileChanged(LoyaltyError):
    """The file sent to import is not the one the dry run checked."""
    code = "import_file_changed"
    status = 422
    message = "This is not the file that was checked: check it again before importing."


# --- what tills report besides sales ----------------------------------------------------

class DayNotReported(LoyaltyError):
    """A till asked what it reported of a day (receipts without a card) and sent nothing."""
    code = "day_not_reported"
    status = 404
    message = "This terminal has reported nothing for this day."


# --- push and wallet ---------------------------------------------------------------------

class DeviceNotFound(LoyaltyError):
    code = "device_not_found"
    status = 404
    message = "No device of yours has this id."


class WalletNotConfigured(LoyaltyError):
    """The service has no credentials for this wallet (README "Push and wallet")."""
    code = "wallet_not_configured"
    status = 409
    message = "This program does not offer its card in this wallet yet."


class WalletLinkInvalid(LoyaltyError):
    """An "add to wallet" link that is not ours, altered, or past its hours."""
    code = "wallet_link_invalid"
    status = 404
    message = "This link is not valid or has expired: ask for a new one."


class PassAuthenticationFailed(LoyaltyError):
    """Apple's pass web service: the ApplePass token does not belong to this pass."""
    code = "pass_unauthorized"
    status = 401
    message = "This pass's authentication token is not valid."


class PassNotFound(LoyaltyError):
    code = "pass_not_found"
    status = 404
    message = "No pass has this type and serial number."
