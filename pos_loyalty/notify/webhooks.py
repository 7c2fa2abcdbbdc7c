"""Twilio's calls to us: delivery status callbacks and customers' texts, all signature-checked."""
from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from pos_loyalty.clock import now
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, OutboxMessage, Program
from pos_loyalty.notify.outbox import cancel_waiting
from pos_loyalty.notify.texts import render, sms_config
from pos_loyalty.payloads import plain_text
from pos_loyalty.wallet.links import link_url, wallet_offered

bp = Blueprint("twilio_webhooks", __name__, url_prefix="/webhooks/twilio")

# Twilio's message statuses -> ours; the others (accepted, queued, sending, ...) change nothing.
STATUS_OF_PROVIDER = {"sent": "sent", "delivered": "delivered", "read": "delivered",
                      "undelivered": "undelivered", "failed": "failed", "canceled": "failed"}
RANK = {"queued": 0, "sending": 0, "dead": 0, "sent": 1, "delivered": 2, "undelivered": 2,
        "failed": 2}


def public_url(config: dict[str, Any]) -> str:
    """The URL Twilio signed: the configured public base URL, else the URL the request came to.

    Forwarded headers count only from the proxies [service] trusted_proxies trusts: with none,
    they are the client's own word (a forged X-Forwarded-Host would let a request signed for
    another site pass here).
    """
    query = request.query_string.decode()
    path = request.path + (f"?{query}" if query else "")
    base = config["public_base_url"].rstrip("/")
    if base:
        return base + path
    proxies = int(current_app.config["LOYALTY"]["service"]["trusted_proxies"])
    # ProxyFix has already applied the trusted proxies' X-Forwarded-Proto and -Host (or, with
    # none, left the peer's own scheme and Host).
    scheme, host = request.scheme, request.host
    if proxies <= 0:
        return f"{scheme}://{host}{request.script_root}{path}"
    port = _added_by_proxies(request.headers.get("X-Forwarded-Port"), proxies)
    if port and ":" not in host and port != {"https": "443", "http": "80"}.get(scheme):
        host = f"{host}:{port}"
    prefix = _added_by_proxies(request.headers.get("X-Forwarded-Prefix"), proxies).rstrip("/")
    return f"{scheme}://{host}{prefix}{request.script_root}{path}"


def _added_by_proxies(value: str | None, proxies: int) -> str:
    """The value the outermost trusted proxy appended, as ProxyFix picks it; the values before
    it are the client's."""
    values = [part.strip() for part in (value or "").split(",")]
    return values[-proxies] if value and len(values) >= proxies else ""


def _check_signature(config: dict[str, Any]) -> None:
    token = config["twilio_auth_token"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403, "A valid X-Twilio-Signature is required.")
    if not RequestValidator(token).validate(public_url(config), request.form, signature):
        current_app.logger.warning("Twilio signature mismatch for %s", public_url(config))
        abort(403, "A valid X-Twilio-Signature is required.")


@bp.post("/status")
def delivery_status() -> tuple[str, int]:
    _check_signature(sms_config())
    form = request.form
    outbox_id = request.args.get("outbox_id", type=int)
    sid = plain_text(form.get("MessageSid", ""), "MessageSid")
    status = plain_text(form.get("MessageStatus", ""), "MessageStatus")
    run_in_transaction(lambda: _record_status(outbox_id, sid, status,
                                              form.get("ErrorCode", type=int)))
    return "", 204


def _record_status(outbox_id: int | None, sid: str, provider_status: str,
                   error_code: int | None) -> None:
    query = select(OutboxMessage).with_for_update()
    query = query.where(OutboxMessage.id == outbox_id) if outbox_id is not None else \
        query.where(OutboxMessage.provider_sid == sid)
    message = db.session.scalar(query.execution_options(populate_existing=True))
    if message is None or (message.provider_sid and sid and message.provider_sid != sid):
        return  # not ours, or the callback of an earlier duplicate attempt
    moment = now()
    message.provider_sid = message.provider_sid or sid or None
    message.provider_status = provider_status[:20]
    if error_code:
        message.error_code = error_code
    status = STATUS_OF_PROVIDER.get(provider_status)
    if status is None or RANK[status] <= RANK.get(message.status, 2):
        return
    message.status, message.status_changed_at, message.locked_until = status, moment, None
    message.sent_at = message.sent_at or moment
    if status == "delivered":
        message.delivered_at = moment


@bp.post("/inbound")
def inbound_text() -> Response:
    """BALANCE/SOLDE answers the balance, WALLET/CARTE the add-to-wallet link; STOP/START
    follow Twilio's opt-out; else help."""
    _check_signature(sms_config())
    sender = plain_text(request.form.get("From", ""), "From")
    word = _keyword(request.form.get("Body", ""))
    reply = run_in_transaction(lambda: _answer(sender, word))
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return Response(str(twiml), mimetype="application/xml")


def _keyword(body: str) -> str:
    words = body.strip().split()
    if not words:
        return ""
    decomposed = unicodedata.normalize("NFKD", words[0].upper())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _answer(sender: str, word: str) -> str:
    accounts = db.session.scalars(select(Account).where(Account.phone_e164 == sender,
                                                        Account.status != "closed")
                                  .order_by(Account.id)).all() if sender else []
    config = sms_config()
    if word in config["opt_out_keywords"] or word in config["opt_in_keywords"]:
        opted_out = word in config["opt_out_keywords"]
        ids = [account.id for account in accounts]
        if ids:
            db.session.execute(update(Account).where(Account.id.in_(ids))
                               .values(sms_opt_out=opted_out))
            if opted_out:
                cancel_waiting(ids, f"the customer texted {word}", now(), config["urgent_kinds"])
        return ""  # Twilio's own opt-out handling answers STOP and START
    if not accounts:
        program = db.session.scalar(select(Program).order_by(Program.id).limit(1))
        return _help(program) if program else ""
    replies = []
    for account in accounts:
        program = db.session.get(Program, account.program_id)
        program_config = sms_config(program)
        if word in program_config["balance_keywords"]:
            replies.append(render(program, account, "balance", program_config,
                                  balance=account.available_points))
        elif word in program_config["wallet_keywords"] and wallet_offered(program):
            replies.append(render(program, account, "wallet", program_config,
                                  link=link_url(program, account.id, now())))
        else:
            replies.append(render(program, account, "help", program_config))
    return "\n".join(replies)


def _help(program: Program) -> str:
    return render(program, None, "help", sms_config(program))
