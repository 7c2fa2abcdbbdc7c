"""Possession before spending, through the POS API on both engines: a card number alone earns;
spending needs the card scanned (a plastic card, the phone's card with its live code) or the
proof that the PIN gives (PRODUCT rule 11, issue 10 item 1)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mobile_app import MobileApp, mobile  # noqa: F401
from pos_loyalty import programs
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Account, Card, Sale

T0 = dt.datetime(2026, 11, 30, 10, 0, 0)   # at the start of a 30-second step


class Clock:
    """The app's clock, frozen and moved by hand."""

    def __init__(self, app: Any) -> None:
        self.moment = T0
        app.extensions["pos_loyalty.clock"] = lambda: self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)


@pytest.fixture
def clock(app):
    return Clock(app)


def refusal(reply: Any) -> tuple[int, str, str | None]:
    error = reply.get_json()["error"]
    return reply.status_code, error["code"], error.get("details", {}).get("reason")


def spend(till: Any, card: str, key: str, **sent: Any) -> Any:
    """A 20.00 sale that uses 100 points (10.00)."""
    return till.post("/sales", {"card_number": card, "receipt_number": key, "total_minor": 2000,
                                "redeem_points": 100, **sent}, key=key)


def proof_for(till: Any, card: str, pin: str = "1234") -> str:
    reply = till.post("/identify", {"card_number": card, "pin": pin})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["proof"]


def second_terminal(till: Any) -> dict[str, str]:
    _, key = run_in_transaction(lambda: programs.create_terminal(
        till.program(), till.store_id, "Caisse 2"))
    return {"Authorization": f"Bearer {key}"}


def sales() -> int:
    return db.session.scalar(select(func.count()).select_from(Sale))


# --- a typed number earns, it does not spend ------------------------------------------------

def test_a_typed_card_number_earns_but_cannot_spend(till):
    card = till.customer(points=500)
    assert refusal(spend(till, card, "S1", card_entry="typed")) \
        == (403, "proof_required", "typed_number")
    assert refusal(spend(till, card, "S2")) == (403, "proof_required", "typed_number")
    assert sales() == 0 and till.balance(card)["available"] == 500
    earned = till.sell(card, total_minor=2000, card_entry="typed")
    assert earned.status_code == 201 and earned.get_json()["points_earned"] == 20


def test_a_scanned_plastic_card_spends(till):
    card = till.customer(points=500)
    reply = spend(till, card, "S1", card_entry="scanned")
    assert reply.status_code == 201
    assert reply.get_json()["balance"] == {"available": 410, "pending": 0}


def test_card_entry_is_typed_or_scanned(till):
    card = till.customer(points=500)
    for wrong in ("keyed", "", 1, ["scanned"]):
        reply = spend(till, card, f"S-{wrong}", card_entry=wrong)
        assert reply.status_code == 422
        assert reply.get_json()["error"]["details"] == {"field": "card_entry"}


def test_a_hold_needs_the_customer_there_and_its_capture_does_not_again(till):
    card = till.customer(points=500)
    typed = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 200})
    assert refusal(typed) == (403, "proof_required", "typed_number")
    held = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 200,
                                "proof": proof_for(till, card)})
    assert held.status_code == 201
    sale = till.post("/sales", {"card_number": card, "receipt_number": "H1", "total_minor": 2000,
                                "redeem_points": 150, "hold_id": held.get_json()["hold_id"]},
                     key="S-H1")
    assert sale.status_code == 201
    assert till.balance(card)["available"] == 500 - 150 + 5


# --- identify: the PIN gives a proof -----------------------------------------------------------

def test_identify_by_card_number_and_pin_gives_a_proof_that_spends(till, clock):
    card = till.customer(points=500, pin="2468")
    reply = till.post("/identify", {"card_number": card, "pin": "2468"})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["card_number"] == card and body["account"]["available_points"] == 500
    assert body["proof_expires_at"] == "2026-11-30T10:05:00Z"
    assert spend(till, card, "S1", proof=body["proof"]).status_code == 201


def test_identify_by_phone_gives_a_proof_too(till, clock):
    card = till.customer(points=500, pin="2468")
    body = till.post("/identify", {"phone": till.last_phone, "pin": "2468"}).get_json()
    assert body["card_number"] == card and body["proof"].startswith("pf1.")
    assert spend(till, card, "S1", proof=body["proof"], card_entry="typed").status_code == 201


def test_identify_wants_phone_or_card_number_and_counts_wrong_pins_either_way(till):
    card = till.customer(pin="2468")
    for both_or_none in ({"pin": "2468"}, {"phone": till.last_phone, "card_number": card,
                                           "pin": "2468"}):
        assert till.post("/identify", both_or_none).status_code == 422
    assert till.post("/identify", {"card_number": card}).status_code == 422
    lefts = [till.post("/identify", {"card_number": card, "pin": "0000"}).get_json()["error"]
             ["details"]["attempts_left"] for _ in range(2)]
    lefts.append(till.post("/identify", {"phone": till.last_phone, "pin": "0000"}).get_json()[
        "error"]["details"]["attempts_left"])
    assert lefts == [4, 3, 2]
    for _ in range(2):
        till.post("/identify", {"card_number": card, "pin": "0000"})
    assert refusal(till.post("/identify", {"card_number": card, "pin": "2468"}))[:2] \
        == (429, "too_many_tries")


def test_identify_by_a_blank_card_is_409(till, runner):
    blank = runner.invoke(args=["cards", "issue", "--count", "1"]).output.split()[-1]
    reply = till.post("/identify", {"card_number": blank, "pin": "1234"})
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (409, "card_not_linked")


def test_a_proof_is_for_its_terminal_and_its_customer_only(till, clock):
    card, other_card = till.customer(points=500), till.customer(points=500)
    proof = proof_for(till, card)
    assert refusal(spend(till, other_card, "S1", proof=proof)) \
        == (403, "proof_required", "proof_invalid")
    elsewhere = till.client.post("/api/pos/v1/sales", json={
        "card_number": card, "receipt_number": "S2", "total_minor": 2000, "redeem_points": 100,
        "proof": proof}, headers={**second_terminal(till), "Idempotency-Key": "S2"})
    assert refusal(elsewhere) == (403, "proof_required", "proof_invalid")
    assert refusal(spend(till, card, "S3", proof=proof[:-2] + "xx")) \
        == (403, "proof_required", "proof_invalid")
    assert spend(till, card, "S4", proof=proof).status_code == 201


def test_a_proof_ends_after_five_minutes(till, clock):
    card = till.customer(points=500)
    proof = proof_for(till, card)
    clock.advance(minutes=4, seconds=59)
    assert spend(till, card, "S1", proof=proof).status_code == 201
    clock.advance(seconds=1)
    assert refusal(spend(till, card, "S2", proof=proof)) \
        == (403, "proof_required", "proof_invalid")


def test_the_proof_lasts_as_long_as_the_setting_says(app, till, clock):
    app.config["LOYALTY"]["security"]["proof_seconds"] = 60
    card = till.customer(points=500)
    proof = till.post("/identify", {"card_number": card, "pin": "1234"}).get_json()
    assert proof["proof_expires_at"] == "2026-11-30T10:01:00Z"


# --- idempotency: a retry replays, whatever became of its proof --------------------------------

def test_a_retried_sale_replays_its_answer_after_its_proof_ended(till, clock):
    card = till.customer(points=500)
    proof = proof_for(till, card)
    first = spend(till, card, "S1", proof=proof)
    clock.advance(minutes=10)
    again = spend(till, card, "S1", proof=proof)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and sales() == 1


def test_the_key_covers_card_entry_and_proof(till, clock):
    card = till.customer(points=500)
    assert spend(till, card, "S1", card_entry="scanned").status_code == 201
    assert refusal(spend(till, card, "S1", card_entry="scanned", proof=proof_for(till, card))) \
        == (409, "idempotency_conflict", None)
    assert till.sell(card, total_minor=500, key="E1", card_entry="typed").status_code == 201
    assert refusal(till.sell(card, total_minor=500, key="E1", card_entry="scanned")) \
        == (409, "idempotency_conflict", None)


# --- the look-up: POST keeps the number out of the URL, a scan gives a proof ----------------

def test_posted_look_up_answers_as_the_get_does(till):
    card = till.customer(points=250, first_name="Léa")
    got = till.get(f"/cards/{card}").get_json()
    posted = till.post("/cards/lookup", {"card_number": card})
    assert posted.status_code == 200
    assert posted.get_json() == {**got, "proof": None, "proof_expires_at": None}
    assert till.post("/cards/lookup", {"card_number": card[:-1] + "x"}).status_code == 422
    assert till.post("/cards/lookup", {}).get_json()["error"]["code"] == "invalid_card_number"


def test_looking_up_a_scanned_plastic_card_gives_a_proof_for_the_sale_minutes_later(till, clock):
    card = till.customer(points=500)
    looked_up = till.post("/cards/lookup", {"card_number": card, "card_entry": "scanned"})
    proof = looked_up.get_json()["proof"]
    clock.advance(minutes=3)
    assert spend(till, card, "S1", proof=proof).status_code == 201


# --- the phone's card and its live code --------------------------------------------------------

def phone_card(mobile: MobileApp, points: int, till: Any) -> tuple[Any, dict[str, Any]]:
    customer = mobile.register()
    till.adjust(customer.card_number, points)
    return customer, mobile.get("/me/card", customer.access_token).get_json()


def test_the_phone_s_card_spends_with_its_live_code_and_a_screenshot_stops_working(
        till, mobile, clock):
    customer, shown = phone_card(mobile, 500, till)
    assert shown["scan_value"] == f"{customer.card_number}-{shown['live_code']}"
    assert (shown["live_code_expires_at"], shown["refresh_in_seconds"]) \
        == ("2026-11-30T10:00:30Z", 30)
    clock.advance(seconds=59)    # the next step: the code before is still taken
    assert spend(till, shown["scan_value"], "S1", card_entry="scanned").status_code == 201
    clock.advance(seconds=1)     # a screenshot, a minute later
    assert refusal(spend(till, shown["scan_value"], "S2", card_entry="scanned")) \
        == (403, "proof_required", "live_code_expired")
    fresh = mobile.get("/me/card", customer.access_token).get_json()
    assert fresh["live_code"] != shown["live_code"]
    assert spend(till, fresh["scan_value"], "S3", card_entry="scanned").status_code == 201


def test_a_virtual_card_scanned_without_its_live_code_earns_but_does_not_spend(till, mobile):
    customer, _ = phone_card(mobile, 500, till)
    bare = customer.card_number
    assert refusal(spend(till, bare, "S1", card_entry="scanned")) \
        == (403, "proof_required", "virtual_card_without_live_code")
    earned = till.sell(bare, total_minor=2000, card_entry="scanned")
    assert earned.status_code == 201 and earned.get_json()["points_earned"] == 20
    assert spend(till, bare, "S2", proof=proof_for(till, bare)).status_code == 201


def test_a_typed_live_code_does_not_spend(till, mobile):
    _, shown = phone_card(mobile, 500, till)
    assert refusal(spend(till, shown["scan_value"], "S1", card_entry="typed")) \
        == (403, "proof_required", "typed_number")


def test_wrong_live_codes_are_counted_and_then_the_right_one_is_refused_too(till, mobile):
    customer, shown = phone_card(mobile, 500, till)
    wrong = f"{customer.card_number}-{(int(shown['live_code']) + 1) % 10**6:06d}"
    for attempt in range(5):
        assert refusal(spend(till, wrong, f"W{attempt}", card_entry="scanned")) \
            == (403, "proof_required", "live_code_invalid")
    assert refusal(spend(till, shown["scan_value"], "S1", card_entry="scanned")) \
        == (403, "proof_required", "live_code_locked")
    assert spend(till, shown["scan_value"], "S2", card_entry="scanned",
                 proof=proof_for(till, customer.card_number)).status_code == 201


def test_the_scanned_live_code_is_read_by_every_till_call(till, mobile):
    customer, shown = phone_card(mobile, 500, till)
    assert till.get(f"/cards/{shown['scan_value']}").get_json()["card_number"] \
        == customer.card_number
    looked_up = till.post("/cards/lookup", {"card_number": shown["scan_value"],
                                            "card_entry": "scanned"}).get_json()
    assert looked_up["card_number"] == customer.card_number and looked_up["proof"]
    quote = till.post("/quote", {"card_number": shown["scan_value"], "total_minor": 2000})
    assert quote.get_json()["max_redeem_points"] == 190
    typed = till.post("/cards/lookup", {"card_number": shown["scan_value"]}).get_json()
    assert typed["proof"] is None


def test_the_live_code_secret_is_made_once_when_the_phone_first_shows_its_card(
        till, mobile, clock):
    customer = mobile.register()    # register() asked for the card already
    account = db.session.get(Account, customer.account_id)
    db.session.refresh(account)
    secret = account.live_code_secret
    assert secret is not None and len(bytes.fromhex(secret)) == 20
    codes = {mobile.get("/me/card", customer.access_token).get_json()["live_code"]
             for _ in range(3)}
    db.session.refresh(account)
    assert account.live_code_secret == secret and len(codes) == 1


def test_an_account_made_before_live_codes_gets_its_secret_lazily(till, mobile):
    card = till.customer(points=500, plastic=False)
    account_id = db.session.scalar(select(Card.account_id).where(Card.number == card))
    assert db.session.get(Account, account_id).live_code_secret is None
    tokens = mobile.post("/auth/login", {"phone": till.last_phone, "pin": "1234"}).get_json()
    shown = mobile.get("/me/card", tokens["access_token"]).get_json()
    assert shown["card_number"] == card
    assert spend(till, shown["scan_value"], "S1", card_entry="scanned").status_code == 201


def test_a_plastic_card_on_the_phone_spends_scanned_bare_or_with_its_code(till, mobile, runner):
    customer, _ = phone_card(mobile, 500, till)
    blank = runner.invoke(args=["cards", "issue", "--count", "1"]).output.split()[-1]
    assert mobile.post("/me/cards", {"card_number": blank},
                       token=customer.access_token).status_code == 201
    shown = mobile.get("/me/card", customer.access_token).get_json()
    assert shown["scan_value"].startswith(f"{blank}-")
    assert spend(till, shown["scan_value"], "S1", card_entry="scanned").status_code == 201
    assert spend(till, blank, "S2", card_entry="scanned").status_code == 201


# --- card numbers: drawn at random; the old ones keep working ----------------------------------

def test_a_batch_of_cards_is_not_a_sequence(runner):
    numbers = runner.invoke(args=["cards", "issue", "--count", "500"]).output.split()
    assert len(set(numbers)) == 500 and all(n.startswith("29") for n in numbers)
    serials = sorted(int(number[2:12]) for number in numbers)
    assert max(b - a for a, b in zip(serials, serials[1:])) > 1000
    assert not any(b - a == 1 for a, b in zip(serials, serials[1:]))


def test_a_number_already_taken_is_drawn_again(till, monkeypatch):
    taken = till.customer()
    fresh = "2904815162343"
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr("pos_loyalty.cards.random_card_number", lambda *_: next(draws))
    card = till.customer()
    assert card == fresh
    assert db.session.scalar(select(func.count()).select_from(Card)
                             .where(Card.number == taken)) == 1


def test_a_code128_program_draws_its_numbers_at_random_too(till, runner):
    till.set_rules(card_symbology="code128", card_prefix="BK")
    numbers = runner.invoke(args=["cards", "issue", "--count", "3"]).output.split()
    assert len(set(numbers)) == 3
    assert all(len(number) == 12 and number.startswith("BK") for number in numbers)
    assert till.get(f"/cards/{numbers[0]}").get_json()["status"] == "blank"


def test_a_card_numbered_in_sequence_before_keeps_working(till):
    card = till.customer(points=500)

    def renumber() -> None:   # as issued before numbers were random: prefix, serial 1, check
        db.session.execute(update(Card).where(Card.number == card)
                           .values(number="2900000000018"))
    run_in_transaction(renumber)
    assert till.get("/cards/2900000000018").get_json()["account"]["available_points"] == 500
    assert spend(till, "2900000000018", "S1", card_entry="scanned").status_code == 201
