"""Domain errors. Each carries the stable API `code` and HTTP status the faces answer with."""
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


def define_error(name: str, code: str, status: int, message: str) -> type[LoyaltyError]:
    """A LoyaltyError subclass with its API code, HTTP status and default message."""
    return type(name, (LoyaltyError,), {"code": code, "status": status, "message": message,
                                        "__doc__": message})


ValidationFailed = define_error("ValidationFailed", "validation_error", 422,
                          "A field of the request is missing or invalid.")
MalformedRequest = define_error("MalformedRequest", "malformed_request", 400,
                          "The request body must be a JSON object.")
UnsupportedMediaType = define_error("UnsupportedMediaType", "unsupported_media_type", 415,
                              "Send the request body as application/json.")
Unauthorized = define_error("Unauthorized", "unauthorized", 401,
                      "A valid terminal key is required (Authorization: Bearer <key>).")
Forbidden = define_error("Forbidden", "forbidden", 403, "You may not do this.")
NotFound = define_error("NotFound", "not_found", 404, "Nothing here.")
InvalidCardNumber = define_error("InvalidCardNumber", "invalid_card_number", 422,
                           "This card number is not valid (format or check digit).")
CardNotFound = define_error("CardNotFound", "card_not_found", 404, "No card has this number.")
CardBlocked = define_error("CardBlocked", "card_blocked", 403,
                     "This card is blocked, lost or replaced.")
CardNotLinked = define_error("CardNotLinked", "card_not_linked", 409,
                       "This card is not linked to a customer yet.")
CardAlreadyLinked = define_error("CardAlreadyLinked", "card_already_linked", 409,
                           "This card already belongs to a customer.")
AccountNotFound = define_error("AccountNotFound", "account_not_found", 404,
                         "No customer has this phone number.")
AccountBlocked = define_error("AccountBlocked", "account_blocked", 403,
                        "This account is blocked: its points cannot be used.")
PhoneTaken = define_error("PhoneTaken", "phone_taken", 409,
                    "A customer with this phone number already exists.")
InvalidPin = define_error("InvalidPin", "invalid_pin", 401, "Wrong PIN.")
Locked = define_error("Locked", "locked", 423,
                "Too many wrong PINs: the account is locked for a while.")
InsufficientPoints = define_error("InsufficientPoints", "insufficient_points", 422,
                            "The account does not have that many points available.")
RedeemLimitExceeded = define_error("RedeemLimitExceeded", "redeem_limit_exceeded", 422,
                             "More points than this bill allows.")
DuplicateReceipt = define_error("DuplicateReceipt", "duplicate_receipt", 409,
                          "This receipt number was already used on this terminal.")
ConcurrentChange = define_error("ConcurrentChange", "conflict", 409,
                                "This conflicts with changes made at the same moment; retry.")
IdempotencyConflict = define_error("IdempotencyConflict", "idempotency_conflict", 409,
                             "This Idempotency-Key was used with a different request.")
IdempotencyKeyMissing = define_error("IdempotencyKeyMissing", "idempotency_key_required", 400,
                               "Send an Idempotency-Key header with every write.")
SaleNotFound = define_error("SaleNotFound", "sale_not_found", 404, "No such sale for this terminal.")
SaleVoided = define_error("SaleVoided", "sale_voided", 409, "This sale was voided.")
ReturnExceedsSale = define_error("ReturnExceedsSale", "return_exceeds_sale", 422,
                           "This return is more than what is left of the sale.")
HoldNotFound = define_error("HoldNotFound", "hold_not_found", 404, "No such hold for this terminal.")
HoldClosed = define_error("HoldClosed", "hold_closed", 409,
                    "This hold was already captured, voided or has expired.")
