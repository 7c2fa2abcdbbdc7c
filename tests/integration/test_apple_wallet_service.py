"""Apple's pass web service, as an iPhone's Wallet uses it: register, be told of a change,
fetch the new pass, unregister; and what a wrong token or another brand's pass gets."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from apple_pass_credentials import PASS_TYPE_ID, openssl_verifies
import apple_wallet_setup
from apple_wallet_setup import AppleWallet, pass_document
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.errors import WalletNotConfigured
from pos_loyalty.models import Account, PassRegistration, Program, WalletPass
from pos_loyalty.wallet import apple_passes
from pos_loyalty.wallet.apple_pass import auth_token


pass_chain, wallet = apple_wallet_setup.pass_chain, apple_wallet_setup.wallet  # fixtures


def live_passes(account_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Account, account_id).wallet_passes


def test_apple_wallet_pass_follows_the_balance_from_registration_to_removal(
        wallet: AppleWallet, pass_chain, tmp_path):
    card = wallet.shop.customer(points=100, first_name="Camille")
    account_id = wallet.account_of(card)
    pkpass = wallet.pkpass(account_id)
    assert openssl_verifies(pkpass, tmp_path / "root.pem", tmp_path)
    first = pass_document(pkpass)
    serial, token = first["serialNumber"], first["authenticationToken"]
    assert first["storeCard"]["primaryFields"][0]["value"] == 100
    assert live_passes(account_id) == 0

    assert wallet.register(serial, token).status_code == 201
    assert wallet.register(serial, token).status_code == 200
    assert live_passes(account_id) == 1
    listed = wallet.updated()
    assert listed.status_code == 200 and listed.get_json()["serialNumbers"] == [serial]
    old_tag = listed.get_json()["lastUpdated"]
    fetched = wallet.fetch(serial, token)
    assert fetched.status_code == 200 and fetched.mimetype == "application/vnd.apple.pkpass"
    seen = fetched.headers["Last-Modified"]

    wallet.shop.now += dt.timedelta(minutes=5)
    wallet.shop.sell(card, 2000)
    assert wallet.mark_updated(account_id) == [("push-1", PASS_TYPE_ID)]
    listed = wallet.updated(old_tag)
    assert listed.status_code == 200
    assert listed.get_json()["serialNumbers"] == [serial]
    assert int(listed.get_json()["lastUpdated"]) > int(old_tag)
    assert wallet.updated(listed.get_json()["lastUpdated"]).status_code == 204
    fetched = wallet.fetch(serial, token, since=seen)
    assert fetched.status_code == 200
    assert pass_document(fetched.data)["storeCard"]["primaryFields"][0]["value"] == 120
    assert pass_document(fetched.data)["serialNumber"] == serial
    not_changed = wallet.fetch(serial, token, since=fetched.headers["Last-Modified"])
    assert (not_changed.status_code, not_changed.data) == (304, b"")

    assert wallet.unregister(serial, token).status_code == 200
    assert wallet.updated().status_code == 204
    assert live_passes(account_id) == 0


def test_apple_wallet_updates_within_one_second_each_get_a_new_last_modified(
        wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    document = pass_document(wallet.pkpass(account_id))
    serial, token = document["serialNumber"], document["authenticationToken"]
    seen = wallet.fetch(serial, token).headers["Last-Modified"]
    wallet.shop.now += dt.timedelta(milliseconds=200)
    wallet.mark_updated(account_id)
    assert wallet.fetch(serial, token, since=seen).status_code == 200


def test_apple_wallet_same_pass_and_serial_every_time(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    serials = {pass_document(wallet.pkpass(account_id))["serialNumber"] for _ in range(2)}
    assert len(serials) == 1 and len(serials.pop()) == 32
    assert db.session.scalar(select(WalletPass.wallet).where(
        WalletPass.account_id == account_id)) == "apple"


def test_apple_wallet_wrong_token_is_refused_without_saying_whether_the_pass_exists(
        wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    serial = pass_document(wallet.pkpass(account_id))["serialNumber"]
    wrong = auth_token("another-serial")
    for reply in (wallet.register(serial, wrong), wallet.fetch(serial, wrong),
                  wallet.unregister(serial, wrong), wallet.register("no-such-serial", wrong),
                  wallet.fetch("no-such-serial", wrong), wallet.fetch(serial, "")):
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "pass_unauthorized"
    assert live_passes(account_id) == 0


def test_apple_wallet_right_token_of_a_pass_that_is_gone_or_of_another_type_is_404(
        wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    serial = pass_document(wallet.pkpass(account_id))["serialNumber"]
    assert wallet.fetch("gone", auth_token("gone")).status_code == 404
    reply = wallet.fetch(serial, auth_token(serial), pass_type="pass.other")
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (404, "pass_not_found")


def test_apple_wallet_another_brands_pass_is_not_reached_through_ours(wallet: AppleWallet):
    program, _, _ = wallet.shop.till.other_brand()
    run_in_transaction(lambda: setattr(db.session.get(Program, program.id), "branding",
                                       {"wallet": {"apple_pass_type_id": "pass.other"}}))
    ours = wallet.account_of(wallet.shop.customer(points=10))
    our_serial = pass_document(wallet.pkpass(ours))["serialNumber"]
    theirs = _their_pass(program.id)
    assert wallet.register(theirs, auth_token(theirs)).status_code == 404
    assert wallet.register(theirs, auth_token(our_serial)).status_code == 401
    assert wallet.register(theirs, auth_token(theirs), pass_type="pass.other").status_code == 201
    assert wallet.register(our_serial, auth_token(our_serial)).status_code == 201
    listed = wallet.updated()
    assert listed.get_json()["serialNumbers"] == [our_serial]
    assert wallet.updated(pass_type="pass.other").get_json()["serialNumbers"] == [theirs]


def _their_pass(program_id: int) -> str:
    """A pass of the other brand's customer (made directly: their brand has no card yet)."""
    def make() -> str:
        account = db.session.scalar(select(Account).where(Account.program_id != program_id))
        stranger = Account(program_id=program_id, phone_e164="+33600000999",
                           pin_hash=account.pin_hash, status="active")
        db.session.add(stranger)
        db.session.flush()
        db.session.add(WalletPass(program_id=program_id, account_id=stranger.id,
                                  wallet="apple", serial="their-serial"))
        return "their-serial"
    return run_in_transaction(make)


def test_apple_wallet_dead_push_tokens_are_forgotten(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    document = pass_document(wallet.pkpass(account_id))
    serial, token = document["serialNumber"], document["authenticationToken"]
    wallet.register(serial, token, device="phone", push_token="alive")
    wallet.register(serial, token, device="watch", push_token="dead")
    run_in_transaction(lambda: apple_passes.forget_registration_tokens(["dead"]))
    assert wallet.mark_updated(account_id) == [("alive", PASS_TYPE_ID)]
    assert live_passes(account_id) == 1
    run_in_transaction(lambda: apple_passes.forget_registration_tokens(["alive"]))
    assert wallet.mark_updated(account_id) == []
    assert live_passes(account_id) == 0
    assert db.session.scalars(select(PassRegistration)).all() == []


def test_apple_wallet_a_new_push_token_replaces_the_old_one(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    document = pass_document(wallet.pkpass(account_id))
    serial, token = document["serialNumber"], document["authenticationToken"]
    assert wallet.register(serial, token, push_token="first").status_code == 201
    assert wallet.register(serial, token, push_token="second").status_code == 200
    assert wallet.mark_updated(account_id) == [("second", PASS_TYPE_ID)]


def test_apple_wallet_registration_needs_a_push_token(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    document = pass_document(wallet.pkpass(account_id))
    reply = wallet.client.post(
        f"/api/wallet/apple/v1/devices/d1/registrations/{PASS_TYPE_ID}/"
        f"{document['serialNumber']}", json={},
        headers={"Authorization": f"ApplePass {document['authenticationToken']}"})
    assert (reply.status_code, reply.get_json()["error"]["details"]) == (
        422, {"field": "pushToken"})


def test_apple_wallet_account_without_a_pass_has_nothing_to_wake(wallet: AppleWallet):
    account_id = wallet.account_of(wallet.shop.customer(points=10))
    assert wallet.mark_updated(account_id) == []


def test_apple_wallet_logs_go_to_the_apps_log_each_line_capped(wallet: AppleWallet, caplog):
    with caplog.at_level(logging.WARNING):
        reply = wallet.client.post("/api/wallet/apple/v1/log",
                                   json={"logs": ["Web service error: 500", "x" * 2000]})
    assert reply.status_code == 200
    lines = [record.getMessage() for record in caplog.records
             if record.getMessage().startswith("apple wallet: ")]
    assert lines == ["apple wallet: Web service error: 500", "apple wallet: " + "x" * 500]
    assert wallet.client.post("/api/wallet/apple/v1/log",
                              json={"logs": "one"}).status_code == 422


def test_apple_wallet_is_not_offered_until_configured(app, shop):
    account_id = shop.look_up(shop.customer(points=10))["account"]["id"]
    with pytest.raises(WalletNotConfigured, match="apple_pass_type_id"):
        run_in_transaction(lambda: apple_passes.apple_pass_for(shop.program, account_id,
                                                              shop.now))
    assert db.session.scalars(select(WalletPass)).all() == []
