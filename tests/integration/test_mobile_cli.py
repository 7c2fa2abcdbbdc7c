"""`pos-loyalty programs app-key`: a key per program, printed once, stored as a hash."""
from __future__ import annotations

from sqlalchemy import select

from mobile_app import make_program
from pos_loyalty.db import db
from pos_loyalty.models import AppKey
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
