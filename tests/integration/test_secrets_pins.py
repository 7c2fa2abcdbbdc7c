"""PINs at the till and in the app: keyed hashes, old hashes upgraded, wrong tries throttled per
till and per address across accounts, and an unknown phone that looks like a wrong PIN."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from mobile_app import MobileApp, mobile, new_phone  # noqa: F401
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account

OLD_ARGON2 = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


def pin_hash_of(phone: str) -> str:
    stored = db.session.scalar(select(Account.pin_hash).where(Account.phone_e164 == phone))
    db.session.rollback()
    return stored


def second_till(till):
    """Another terminal of the same store, with its own key."""
    def make() -> str:
        return programs.create_terminal(till.program(), till.store_id, "Caisse 2")[1]
    return {"Authorization": f"Bearer {run_in_transaction(make)}"}


def test_a_new_pin_is_stored_as_a_keyed_hash_not_argon2(till):
    till.customer(pin="2468")
    stored = pin_hash_of(till.last_phone)
    assert stored.startswith("hmac-sha256$") and "2468" not in stored
    assert till.post("/identify", {"phone": till.last_phone, "pin": "2468"}).status_code == 200


def test_an_argon2_pin_from_before_works_and_is_replaced_at_the_next_right_pin(till):
    till.customer(pin="2468")
    phone = till.last_phone
    run_in_transaction(lambda: db.session.execute(
        update(Account).where(Account.phone_e164 == phone)
        .values(pin_hash=OLD_ARGON2.hash("2468"))))
    assert till.post("/identify", {"phone": phone, "pin": "0000"}).status_code == 401
    assert pin_hash_of(phone).startswith("$argon2")
    assert till.post("/identify", {"phone": phone, "pin": "2468"}).status_code == 200
    assert pin_hash_of(phone).startswith("hmac-sha256$")
    assert till.post("/identify", {"phone": phone, "pin": "2468"}).status_code == 200


def test_one_till_spraying_a_pin_over_many_accounts_is_made_to_wait(till):
    phones = []
    for _ in range(11):
        till.customer(pin="2468")
        phones.append(till.last_phone)
    for phone in phones[:10]:
        assert till.post("/identify", {"phone": phone, "pin": "1234"}).status_code == 401
    # 10 wrong PINs in 10 minutes from this till, each on another account: the till waits,
    # even with the right PIN of an account it never tried.
    waiting = till.post("/identify", {"phone": phones[10], "pin": "2468"})
    assert waiting.status_code == 429
    assert waiting.get_json()["error"]["code"] == "too_many_tries"
    assert 0 < int(waiting.headers["Retry-After"]) <= 10 * 60
    other = till.client.post("/api/pos/v1/identify", json={"phone": phones[10], "pin": "2468"},
                             headers=second_till(till))
    assert other.status_code == 200


def test_an_unknown_phone_at_the_till_answers_exactly_like_a_wrong_pin(till):
    till.customer(pin="2468")
    known, unknown = till.last_phone, "+33699999999"
    for left in (4, 3, 2, 1, 0):
        wrong = till.post("/identify", {"phone": known, "pin": "1111"})
        nobody = till.post("/identify", {"phone": unknown, "pin": "1111"})
        assert (nobody.status_code, nobody.get_json()) == (wrong.status_code, wrong.get_json())
        assert wrong.get_json() == {"error": {"code": "invalid_pin", "message": "Wrong PIN.",
                                              "details": {"attempts_left": left}}}
    wrong = till.post("/identify", {"phone": known, "pin": "1111"})
    nobody = till.post("/identify", {"phone": unknown, "pin": "1111"})
    assert (nobody.status_code, nobody.get_json()["error"]["code"]) == (429, "too_many_tries")
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (429, "too_many_tries")


def test_an_unknown_phone_at_app_login_answers_exactly_like_a_wrong_pin(mobile: MobileApp):
    customer = mobile.register()
    wrong = mobile.post("/auth/login", {"phone": customer.phone, "pin": "1111"})
    nobody = mobile.post("/auth/login", {"phone": new_phone(), "pin": "1111"})
    assert (nobody.status_code, nobody.get_json()) == (wrong.status_code, wrong.get_json())
    assert wrong.status_code == 401


def test_one_address_spraying_a_pin_over_many_phones_is_made_to_wait(mobile: MobileApp):
    for _ in range(10):
        assert mobile.post("/auth/login", {"phone": new_phone(), "pin": "1234"}).status_code \
            == 401
    customer = mobile.register()
    reply = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin})
    assert reply.status_code == 429
    assert int(reply.headers["Retry-After"]) > 0
    elsewhere = mobile.post("/auth/login", {"phone": customer.phone, "pin": customer.pin},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("language, sentence", [
    ("en", "Too many tries: wait 10 min, or scan the card."),
    ("fr", "Trop d'essais : attendez 10 min, ou scannez la carte."),
])
def test_the_till_tells_the_cashier_how_long_to_wait(till, language, sentence):
    from pos_loyalty.errors import TooManyTries
    from cashier_ui.messages import error_sentence
    with till.app.test_request_context("/cashier/"):
        from flask import session
        session["lang"] = language
        assert error_sentence(TooManyTries(retry_after=541)) == sentence
