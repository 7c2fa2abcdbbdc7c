"""Apple Wallet configured on the test app: signing files from a test chain, and a device
calling Apple's pass web service through the Flask test client."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apple_pass_credentials import PASS_TYPE_ID, PassChain, bundle_files, make_pass_chain
from pos_loyalty.db import run_in_transaction
from pos_loyalty.wallet import apple_passes

SERVICE = "/api/wallet/apple/v1"


@pytest.fixture(scope="module")
def pass_chain() -> PassChain:
    return make_pass_chain()


@dataclass
class AppleWallet:
    """The Wallet app of one device, and the use cases the worker calls."""
    client: FlaskClient
    shop: Any
    folder: Path

    def account_of(self, card_number: str) -> int:
        return self.shop.look_up(card_number)["account"]["id"]

    def pkpass(self, account_id: int) -> bytes:
        return run_in_transaction(lambda: apple_passes.apple_pass_for(
            self.shop.program, account_id, self.shop.now))

    def mark_updated(self, account_id: int) -> list[tuple[str, str]]:
        return run_in_transaction(lambda: apple_passes.mark_updated(account_id,
                                                                    self.shop.now))

    def register(self, serial: str, token: str, device: str = "device-1",
                 push_token: str = "push-1", pass_type: str = PASS_TYPE_ID) -> Any:
        return self.client.post(f"{SERVICE}/devices/{device}/registrations/{pass_type}/{serial}",
                                json={"pushToken": push_token}, headers=_auth(token))

    def unregister(self, serial: str, token: str, device: str = "device-1",
                   pass_type: str = PASS_TYPE_ID) -> Any:
        return self.client.delete(
            f"{SERVICE}/devices/{device}/registrations/{pass_type}/{serial}",
            headers=_auth(token))

    def updated(self, since: str | None = None, device: str = "device-1",
                pass_type: str = PASS_TYPE_ID) -> Any:
        query = {"passesUpdatedSince": since} if since is not None else {}
        return self.client.get(f"{SERVICE}/devices/{device}/registrations/{pass_type}",
                               query_string=query)

    def fetch(self, serial: str, token: str, since: str | None = None,
              pass_type: str = PASS_TYPE_ID) -> Any:
        headers = {**_auth(token), **({"If-Modified-Since": since} if since else {})}
        return self.client.get(f"{SERVICE}/passes/{pass_type}/{serial}", headers=headers)


def pass_document(pkpass: bytes) -> dict[str, Any]:
    return json.loads(bundle_files(pkpass)["pass.json"])


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"ApplePass {token}"}


def configure_wallet(app: Flask, chain: PassChain, folder: Path, **settings: Any) -> None:
    """[wallet] set as a store owner would, for this test (the app puts it back after)."""
    app.config["LOYALTY"]["wallet"].update(chain.write(folder), **settings)


@pytest.fixture
def wallet(app: Flask, client: FlaskClient, shop: Any, pass_chain: PassChain,
           tmp_path: Path) -> AppleWallet:
    configure_wallet(app, pass_chain, tmp_path)
    return AppleWallet(client, shop, tmp_path)
