"""What Twilio charged for each SMS: `outbox_message.price_micros` (millionths of
`price_unit`, positive for a cost) and `price_unit`, for the analytics' SMS cost.

Twilio prices a message only after sending it: the create answer's `price` is usually null,
and status callbacks never carry it. So the worker, when no SMS is due ([sms]
price_fetch_interval_seconds apart), asks Twilio again (`GET .../Messages/<sid>.json`) for a
bounded batch of messages in a final status (delivered, undelivered, failed) for at least
price_fetch_after_minutes and still unpriced. A message Twilio has not priced yet, or whose
answer was unreadable or failed, is asked again price_fetch_retry_minutes later: until then
its `locked_until` (unused once a message is final) holds the next try. Once
price_fetch_give_up_days have passed since it was due to be sent, it stays without a price.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import or_, select, update

from pos_loyalty.clock import now as clock_now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import OutboxMessage
from pos_loyalty.notify.texts import sms_config

log = logging.getLogger(__name__)

FINAL_STATUSES = ("delivered", "undelivered", "failed")
MICROS = Decimal(1_000_000)
# A million units for one SMS is no price: an answer beyond it is unreadable, not stored.
MAX_PRICE_MICROS = 10**12
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Price:
    """Millionths of `unit` (ISO 4217), positive for a cost."""
    micros: int
    unit: str


class PriceFetchFailed(Exception):
    """Twilio's answer gave no price we can store. `stop`: Twilio is unreachable or busy
    (network, 429, 5xx), so the rest of the pass waits too."""

    def __init__(self, message: str, *, stop: bool = False) -> None:
        super().__init__(message)
        self.message, self.stop = message, stop


@runtime_checkable
class PriceSource(Protocol):
    """A sender that can say what a sent message cost (Twilio; not the console)."""

    def fetch_price(self, sid: str) -> Price | None: ...


def read_price(price: Any, unit: Any) -> Price | None:
    """Twilio's `price` (a decimal string, negative for a cost: "-0.00750") and `price_unit`
    as a Price, exactly (no float); None while Twilio has not priced the message."""
    if price is None:
        return None
    if not isinstance(price, str) or not isinstance(unit, str) \
            or not CURRENCY_CODE.fullmatch(unit.upper()):
        raise PriceFetchFailed(f"unreadable price {price!r} {unit!r}")
    try:
        micros = -Decimal(price.strip()) * MICROS
    except InvalidOperation:
        raise PriceFetchFailed(f"unreadable price {price!r}") from None
    if not micros.is_finite() or micros != micros.to_integral_value() \
            or abs(micros) > MAX_PRICE_MICROS:
        raise PriceFetchFailed(f"price {price!r} is not a whole number of millionths")
    return Price(int(micros), unit.upper())


@dataclass
class PriceReport:
    asked: int = 0
    priced: int = 0
    not_yet: int = 0   # Twilio has not priced it yet: asked again later
    failed: int = 0    # an unreadable answer or an error: asked again later


def price_round(source: PriceSource) -> PriceReport:
    """One pass: ask the price of up to [sms] price_fetch_batch messages, record each answer."""
    config, moment = sms_config(), clock_now()
    report = PriceReport()
    for outbox_id, sid in run_in_transaction(lambda: _unpriced(moment, config)):
        report.asked += 1
        try:
            price = source.fetch_price(sid)
        except Exception as error:  # a bad answer must not stop the worker: ask again later
            stop = isinstance(error, PriceFetchFailed) and error.stop
            log.warning("price of SMS %s (outbox row %s) not read: %r", sid, outbox_id, error)
            report.failed += 1
            run_in_transaction(lambda i=outbox_id: _ask_again_later(i, moment, config))
            if stop:
                break
            continue
        if price is None:
            report.not_yet += 1
            run_in_transaction(lambda i=outbox_id: _ask_again_later(i, moment, config))
        else:
            report.priced += 1
            run_in_transaction(lambda i=outbox_id, p=price: _record_price(i, p))
    return report


def _unpriced(moment: dt.datetime, config: dict[str, Any]) -> list[tuple[int, str]]:
    """(outbox id, Twilio sid) of the messages whose price to ask now, the longest final
    first. `send_after` bounds the search through the (status, send_after) index."""
    settled = moment - dt.timedelta(minutes=config["price_fetch_after_minutes"])
    oldest = moment - dt.timedelta(days=config["price_fetch_give_up_days"])
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.provider_sid)
        .where(OutboxMessage.channel == "sms",
               OutboxMessage.status.in_(FINAL_STATUSES), OutboxMessage.send_after >= oldest,
               OutboxMessage.price_micros.is_(None), OutboxMessage.provider_sid.is_not(None),
               OutboxMessage.status_changed_at <= settled,
               or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= moment))
        .order_by(OutboxMessage.status_changed_at, OutboxMessage.id)
        .limit(config["price_fetch_batch"]))
    return [(outbox_id, sid) for outbox_id, sid in rows]


def _ask_again_later(outbox_id: int, moment: dt.datetime, config: dict[str, Any]) -> None:
    retry_at = moment + dt.timedelta(minutes=config["price_fetch_retry_minutes"])
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.id == outbox_id,
                              OutboxMessage.status.in_(FINAL_STATUSES))
                       .values(locked_until=retry_at))


def _record_price(outbox_id: int, price: Price) -> None:
    db.session.execute(update(OutboxMessage)
                       .where(OutboxMessage.id == outbox_id, OutboxMessage.price_micros.is_(None))
                       .values(price_micros=price.micros, price_unit=price.unit,
                               locked_until=None))
