"""Before login: branding and rules, promotions running now, stores nearest first, OpenAPI."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from pos_loyalty.brand import create_promotion
from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Program


def test_branding_defaults_to_the_program_and_config(mobile: MobileApp):
    reply = mobile.get("/branding")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "program": {"slug": "demo", "name": "Demo Boulangerie"},
        "app_name": "Demo Boulangerie",
        "colors": {"primary": "#1f2937", "secondary": "#f59e0b"},
        "logo_url": "", "currency": "EUR", "currency_exponent": 2, "locale": "fr_FR",
        "timezone": "Europe/Paris",
        "point_value": {"points": "10", "value_minor": 100},
        "rules": {"earn_points_per_unit": "1", "redeem_points_per_unit": "10",
                  "min_cash_minor": 100, "max_redeem_share": "1", "pending_days": 0,
                  "expiry_months": 12,
                  "excluded_categories": ["gift_card", "lottery", "tobacco"]},
        "tiers": {"measure": "points", "period_months": 12, "tiers": []},
    }


def test_branding_follows_the_programs_own_branding_and_rules(mobile: MobileApp):
    def rebrand() -> None:
        program = db.session.get(Program, mobile.program_id)
        program.branding = {"app_name": "Mie Câline", "primary_color": "#aa0000",
                            "logo_url": "https://cdn.example/logo.png"}
        program.rules = {"redeem_points_per_unit": "100", "min_cash_minor": 50}
    run_in_transaction(rebrand)
    body = mobile.get("/branding").get_json()
    assert body["app_name"] == "Mie Câline"
    assert body["colors"] == {"primary": "#aa0000", "secondary": "#f59e0b"}
    assert body["logo_url"] == "https://cdn.example/logo.png"
    assert body["point_value"] == {"points": "100", "value_minor": 100}
    assert body["rules"]["min_cash_minor"] == 50


def test_promotions_lists_only_those_running_now(mobile: MobileApp):
    now = utcnow()

    def promote() -> None:
        program = db.session.get(Program, mobile.program_id)
        create_promotion(program, "Double points", now - dt.timedelta(days=1),
                         now + dt.timedelta(days=2), body="x2 ce week-end")
        create_promotion(program, "Past", now - dt.timedelta(days=9), now - dt.timedelta(days=2))
        create_promotion(program, "Future", now + dt.timedelta(days=2),
                         now + dt.timedelta(days=9))
    run_in_transaction(promote)
    promotions = mobile.get("/promotions").get_json()["promotions"]
    assert [(p["title"], p["body"]) for p in promotions] == [("Double points", "x2 ce week-end")]
    assert promotions[0]["ends_at"].endswith("Z")


def test_stores_nearest_first(mobile: MobileApp):
    def open_stores() -> None:
        program = programs.default_program()
        programs.create_store(program, "Lyon", address="Part-Dieu", latitude=45.7606,
                              longitude=4.8590, opening_hours="Mo-Sa 07:00-20:00",
                              phone="+33478000000")
        programs.create_store(program, "Paris", latitude=48.8566, longitude=2.3522)
        programs.create_store(program, "Kiosk")
    run_in_transaction(open_stores)
    near_paris = mobile.get("/stores?lat=48.85&lng=2.35").get_json()["stores"]
    assert [s["name"] for s in near_paris] == ["Paris", "Lyon", "Kiosk"]
    assert near_paris[0]["distance_m"] < 1000
    assert 390_000 < near_paris[1]["distance_m"] < 400_000
    assert near_paris[2]["distance_m"] is None
    near_lyon = mobile.get("/stores?lat=45.76&lng=4.86").get_json()["stores"]
    assert near_lyon[0] == {"id": near_lyon[0]["id"], "name": "Lyon", "address": "Part-Dieu",
                            "phone": "+33478000000", "opening_hours": "Mo-Sa 07:00-20:00",
                            "latitude": 45.7606, "longitude": 4.859,
                            "distance_m": near_lyon[0]["distance_m"]}
    unsorted = mobile.get("/stores").get_json()["stores"]
    assert [s["name"] for s in unsorted] == ["Kiosk", "Lyon", "Paris"]
    assert unsorted[0]["distance_m"] is None


@pytest.mark.parametrize("query, field", [("lat=91&lng=0", "lat"), ("lat=0&lng=181", "lng"),
                                          ("lat=abc&lng=0", "lat"), ("lat=nan&lng=0", "lat"),
                                          ("lat=45", "lat"), ("lng=4", "lat"),
                                          ("lat=inf&lng=0", "lat")])
def test_stores_refuses_bad_coordinates(mobile: MobileApp, query, field):
    reply = mobile.get(f"/stores?{query}")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["details"]["field"] == field


def test_openapi_document_lists_every_endpoint_without_an_app_key(client):
    reply = client.get("/api/mobile/v1/openapi.json")
    assert reply.status_code == 200
    document = reply.get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/openapi.json", "/branding", "/promotions", "/stores", "/auth/register",
        "/auth/verify", "/auth/login", "/auth/refresh", "/auth/logout", "/auth/pin/reset", "/me",
        "/me/export", "/me/pin", "/me/card", "/me/card/barcode.svg", "/me/card/barcode.png",
        "/me/card/qr.svg", "/me/card/qr.png", "/me/cards", "/me/balance", "/me/history",
        "/me/tier", "/campaigns", "/me/referral", "/me/devices", "/me/devices/{device_id}",
        "/me/wallet/apple", "/me/wallet/google", "/me/wallet/link"}
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/mobile/v1"))
             for rule in client.application.url_map.iter_rules()
             if rule.rule.startswith("/api/mobile/v1/")}
    assert rules == set(document["paths"])


def test_unknown_mobile_paths_answer_json_404(mobile: MobileApp):
    reply = mobile.get("/nothing-here")
    assert reply.status_code == 404
    assert reply.get_json()["error"]["code"] == "not_found"
    reply = mobile.call("DELETE", "/branding")
    assert reply.status_code == 405
    assert reply.get_json()["error"]["code"] == "method_not_allowed"
