"""The benchmark's floor: a sale's rows written with no product around them (PostgreSQL only).

`POST /sale {"program_id", "store_id", "terminal_id", "card_number", "receipt_number",
"total_minor", "redeem_points", "key"}` writes what one checkout writes, into the same tables
with the same constraints and indexes: the idempotency key (claimed, then given its answer),
the locked account's new balance, the sale and its line, the redeem and earn entries, one lot
drawn from and its draw, the new lot, the day's issuance counter and the SMS row. Two
statements, like the app: one claims the key, locks the account and reads the oldest lot that
covers the points; one writes everything else.

Left out on purpose, because it is the product's work rather than the database's: terminal
authentication, validation, the rules (here 10 minor units per point spent, 1 point per 100 of
cash), drawing from several lots, caps, holds, pending windows, localised SMS texts, retries.
So checkout/rows says what the product's logic costs, and rows/baseline what its rows cost.
Not safe for concurrent sales on one account (the lot is read before the lock is waited for),
and the day's issuance row must exist (the checkout phase, run first, creates it): the bench
gives each terminal its own customers and runs this phase last.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg
from flask import Flask, jsonify, request

from baseline_app import bare_app

REDEEM_MINOR_PER_POINT = 10
EARN_MINOR_PER_POINT = 100
LOT_LIFETIME = dt.timedelta(days=365)

CLAIM_AND_READ = """
WITH claim AS (
  INSERT INTO idempotency_key (scope, key, request_hash, created_at)
  VALUES ($1::varchar, $2::varchar, $3::varchar, $4::timestamp)
  ON CONFLICT (scope, key) DO NOTHING RETURNING id)
SELECT account.id, card.id, account.available_points, account.phone_e164,
       (SELECT id FROM claim),
       (SELECT point_lot.id FROM point_lot
         WHERE point_lot.account_id = account.id AND point_lot.released
           AND point_lot.remaining >= $5::bigint
         ORDER BY point_lot.expires_at, point_lot.id LIMIT 1),
       nextval('sale_id_seq'), nextval('ledger_entry_id_seq'), nextval('ledger_entry_id_seq')
FROM card JOIN account ON account.id = card.account_id
WHERE card.program_id = $6::integer AND card.number = $7::varchar
FOR NO KEY UPDATE OF account
"""

WRITE_SALE = """
WITH sale_row AS (
  INSERT INTO sale (id, program_id, store_id, terminal_id, account_id, card_id, receipt_number,
                    kind, status, total_minor, points_redeemed, redeemed_minor, cash_minor,
                    eligible_earn_minor, earn_base_minor, points_earned, returned_minor,
                    returned_earn_base_minor, points_reversed, points_restored, created_at)
  VALUES ($1::integer, $2::integer, $3::integer, $4::integer, $5::integer, $6::integer,
          $7::varchar, 'sale', 'completed', $8::bigint, $9::bigint, $10::bigint, $11::bigint,
          $11::bigint, $11::bigint, $12::bigint, 0, 0, 0, 0, $13::timestamp)),
line AS (
  INSERT INTO sale_line (sale_id, line_no, sku, category, quantity, unit_price_minor,
                         amount_minor, earn_base_minor, returned_quantity)
  VALUES ($1::integer, 1, 'TOTAL', '', 1, $8::bigint, $8::bigint, $11::bigint, 0)),
balance AS (
  UPDATE account SET available_points = available_points - $9::bigint + $12::bigint,
                     lifetime_earned = lifetime_earned + $12::bigint,
                     lifetime_redeemed = lifetime_redeemed + $9::bigint
  WHERE id = $5::integer RETURNING available_points),
redeem AS (
  INSERT INTO ledger_entry (id, program_id, account_id, kind, points, pending_delta,
                            available_after, pending_after, sale_id, store_id, terminal_id,
                            actor, reason, created_at)
  VALUES ($14::bigint, $2::integer, $5::integer, 'redeem', -$9::bigint, 0, $16::bigint, 0,
          $1::integer, $3::integer, $4::integer, '', '', $13::timestamp)),
earn AS (
  INSERT INTO ledger_entry (id, program_id, account_id, kind, points, pending_delta,
                            available_after, pending_after, sale_id, store_id, terminal_id,
                            actor, reason, created_at)
  VALUES ($15::bigint, $2::integer, $5::integer, 'earn', $12::bigint, 0,
          $16::bigint + $12::bigint, 0, $1::integer, $3::integer, $4::integer, '', '',
          $13::timestamp)),
drawn AS (
  UPDATE point_lot SET remaining = remaining - $9::bigint WHERE id = $17::integer),
draw AS (
  INSERT INTO lot_draw (entry_id, lot_id, points, restored)
  VALUES ($14::bigint, $17::integer, $9::bigint, 0)),
new_lot AS (
  INSERT INTO point_lot (program_id, account_id, entry_id, sale_id, points, remaining, released,
                         available_at, expires_at, created_at)
  VALUES ($2::integer, $5::integer, $15::bigint, $1::integer, $12::bigint, $12::bigint, true,
          $13::timestamp, $18::timestamp, $13::timestamp)),
issued AS (
  UPDATE daily_issuance SET points = points + $12::bigint
  WHERE program_id = $2::integer AND day = $19::date),
sms AS (
  INSERT INTO outbox_message (program_id, account_id, kind, to_phone, body, status, attempts,
                              send_after, created_at, segments, encoding, payload,
                              status_changed_at)
  VALUES ($2::integer, $5::integer, 'balance', $20::varchar, $21::varchar, 'queued', 0,
          $13::timestamp, $13::timestamp, 1, 'GSM-7', $22::json, $13::timestamp)),
answer AS (
  UPDATE idempotency_key SET status_code = 201, response = $23::json
  WHERE scope = $24::varchar AND key = $25::varchar)
SELECT available_points FROM balance
"""


def create_app() -> Flask:
    """The gunicorn entry point."""
    app, engine = bare_app(__name__)

    @app.post("/sale")
    def sale() -> Any:
        try:
            with engine.begin() as connection:   # commits, or rolls back on Refused
                return jsonify(_sale(connection, request.get_json())), 201
        except Refused as refused:
            return jsonify({"error": str(refused)}), refused.status

    return app


class Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status


def _sale(connection: Any, body: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    scope, key = f"floor:{body['terminal_id']}", body["key"]
    redeem, total = int(body["redeem_points"]), int(body["total_minor"])
    cursor = psycopg.RawCursor(connection.connection.driver_connection)
    found = cursor.execute(CLAIM_AND_READ, [
        scope, key, "-", now, redeem, body["program_id"], body["card_number"]]).fetchone()
    if found is None:
        raise Refused(404, "card_not_found")
    account_id, card_id, before, phone, claimed, lot_id, sale_id, *entry_ids = found
    if claimed is None or lot_id is None:
        raise Refused(409, "replayed" if claimed is None else "no_lot_covers_the_points")
    cash = total - redeem * REDEEM_MINOR_PER_POINT
    earned = cash // EARN_MINOR_PER_POINT
    after = before - redeem + earned
    reply = {"sale_id": sale_id, "points_redeemed": redeem, "points_earned": earned,
             "balance": {"available": after, "pending": 0}}
    sms = f"+{earned} points, {redeem} points used. Balance: {after} points."
    cursor.execute(WRITE_SALE, [
        sale_id, body["program_id"], body["store_id"], body["terminal_id"], account_id, card_id,
        body["receipt_number"], total, redeem, redeem * REDEEM_MINOR_PER_POINT, cash, earned, now,
        entry_ids[0], entry_ids[1], before - redeem, lot_id, now + LOT_LIFETIME, now.date(),
        phone, sms, json.dumps({"change": earned - redeem, "balance": after}), json.dumps(reply),
        scope, key]).fetchone()
    return reply
