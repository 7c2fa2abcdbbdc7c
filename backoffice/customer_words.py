"""The words the customer pages use for the core's codes (statuses, SMS kinds), in the
reader's language; an unknown code is shown as it is."""
from __future__ import annotations

from typing import Any

from backoffice.i18n import lazy_gettext

ACCOUNT_STATUSES = {"active": lazy_gettext("active"), "blocked": lazy_gettext("blocked"),
                    "closed": lazy_gettext("erased")}
CARD_STATUSES = {"blank": lazy_gettext("blank"), "active": lazy_gettext("active"),
                 "blocked": lazy_gettext("blocked"), "lost": lazy_gettext("lost"),
                 "replaced": lazy_gettext("replaced"), "closed": lazy_gettext("closed")}
CARD_KINDS = {"plastic": lazy_gettext("plastic"), "virtual": lazy_gettext("in the app")}
SMS_STATUSES = {"queued": lazy_gettext("waiting"), "sending": lazy_gettext("sending"),
                "sent": lazy_gettext("sent"), "delivered": lazy_gettext("delivered"),
                "undelivered": lazy_gettext("undelivered"), "failed": lazy_gettext("failed"),
                "dead": lazy_gettext("given up"), "cancelled": lazy_gettext("cancelled")}
SMS_KINDS = {"balance": lazy_gettext("balance"), "expiry": lazy_gettext("expiry warning"),
             "tier": lazy_gettext("tier"), "otp": lazy_gettext("one-time code")}
REQUEST_STATUSES = {"pending": lazy_gettext("waiting for an admin"),
                    "approved": lazy_gettext("approved"), "rejected": lazy_gettext("rejected")}


def _namer(names: dict[str, Any]) -> Any:
    return lambda code: str(names.get(code, code))


def customer_words() -> dict[str, Any]:
    """Template helpers: account_status(code), card_status(code), ..."""
    return {"account_status": _namer(ACCOUNT_STATUSES), "card_status": _namer(CARD_STATUSES),
            "card_kind": _namer(CARD_KINDS), "sms_status": _namer(SMS_STATUSES),
            "sms_kind": _namer(SMS_KINDS), "request_status": _namer(REQUEST_STATUSES)}
