"""`pos-loyalty programs app-key` (a key per program, printed once, stored as a hash) and
`pos-loyalty promotions` (what the app shows under promotions)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from mobile_api.cli import program_moment
from mobile_app import make_program
from pos_loyalty import programs
from pos_loyalty.clock import now
from pos_loyalty.db import db
from pos_loyalty.models import AppKey, Promotion
from pos_loyalty.security import hash_api_key


def test_app_key_command_prints_a_working_key_and_keeps_only_its_hash(runner, client):
    result = runner.invoke(args=["programs", "app-key", "--label", "iOS app"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ak_") and len(key) > 40
    stored = db.session.scalars(select(AppKey)).all()
    assert [(k.label, k.key_hash) for k in stored] == [("iOS app", hash_api_key(key))]
    reply = client.get("/api/mobile/v1/branding", headers={"X-App-Key": key})
    assert reply.status_code == 200
    assert reply.get_json()["program"]["slug"] == "demo"


def test_app_key_for_a_named_program(runner, client):
    make_program("bakery")
    result = runner.invoke(args=["programs", "app-key", "--program", "bakery"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    reply = client.get("/api/mobile/v1/branding", headers={"X-App-Key": key})
    assert reply.get_json()["program"]["slug"] == "bakery"


def test_app_key_for_an_unknown_program_fails(runner):
    result = runner.invoke(args=["programs", "app-key", "--program", "nope"])
    assert result.exit_code == 2
    assert "no program 'nope'" in result.output


def test_an_inactive_key_is_refused(runner, client):
    key = runner.invoke(args=["programs", "app-key"]).output.strip().splitlines()[-1]
    db.session.execute(AppKey.__table__.update().values(active=False))
    db.session.commit()
    reply = client.get("/api/mobile/v1/branding", headers={"X-App-Key": key})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "invalid_app_key"


# --- promotions ------------------------------------------------------------------------------

def test_a_promotion_created_from_the_command_line_shows_in_the_app(runner, client, app):
    key = runner.invoke(args=["programs", "app-key"]).output.strip().splitlines()[-1]
    today = programs.local_day(programs.default_program(), now())
    result = runner.invoke(args=[
        "promotions", "create", "Double points", "--starts", today.isoformat(),
        "--ends", (today + dt.timedelta(days=2)).isoformat(), "--body", "This weekend only"])
    assert result.exit_code == 0, result.output
    promotion_id = int(result.output.strip().splitlines()[-1])
    shown = client.get("/api/mobile/v1/promotions", headers={"X-App-Key": key}).get_json()
    assert [(p["id"], p["title"], p["body"]) for p in shown["promotions"]] == \
        [(promotion_id, "Double points", "This weekend only")]
    listed = runner.invoke(args=["promotions", "list"]).output.strip().split("\t")
    assert listed[0] == str(promotion_id) and listed[-1] == "Double points"


def test_promotion_dates_are_the_programs_local_days(runner, app):
    program = programs.default_program()   # Europe/Paris: UTC+1 in December
    assert program.timezone == "Europe/Paris"
    assert program_moment(program, "2026-12-24", "starts") == dt.datetime(2026, 12, 23, 23)
    assert program_moment(program, "2026-12-24", "ends") == dt.datetime(2026, 12, 24, 23)
    assert program_moment(program, "2026-12-24T18:30", "ends") == \
        dt.datetime(2026, 12, 24, 17, 30)
    assert program_moment(program, "2026-12-24T18:30+00:00", "starts") == \
        dt.datetime(2026, 12, 24, 18, 30)


def test_a_promotion_needs_readable_dates_in_order_and_is_made_once(runner):
    def create(*args: str) -> Any:
        return runner.invoke(args=["promotions", "create", "Soldes", *args])
    unreadable = create("--starts", "24/12/2026", "--ends", "2026-12-31")
    assert unreadable.exit_code == 2 and "--starts: expected a date like" in unreadable.output
    backwards = create("--starts", "2026-12-31", "--ends", "2026-12-24")
    assert backwards.exit_code == 2 and "A promotion ends after it starts." in backwards.output
    assert create("--starts", "2026-12-24", "--ends", "2026-12-31").exit_code == 0
    again = create("--starts", "2026-12-24", "--ends", "2027-01-31")
    assert again.exit_code == 2 and "already starts then" in again.output
    assert len(db.session.scalars(select(Promotion)).all()) == 1


def test_past_promotions_are_listed_only_with_all(runner):
    runner.invoke(args=["promotions", "create", "Old", "--starts", "2020-01-01",
                        "--ends", "2020-01-31"])
    assert runner.invoke(args=["promotions", "list"]).output == ""
    assert "\tOld" in runner.invoke(args=["promotions", "list", "--all"]).output
