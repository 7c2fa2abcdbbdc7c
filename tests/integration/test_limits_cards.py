"""Linking plastic cards from the app (POST /me/cards): an account holds a few cards, tries a few
links an hour, and cannot tell an unknown number from another customer's card (one app user once
linked 252 blank stock cards in 15 seconds)."""
from __future__ import annotations

from sqlalchemy import select

from mobile_api.openapi import mobile_document
from mobile_app import PREFIX, MobileApp, mobile  # noqa: F401
from openapi_check import CheckedClient, error_code
from pos_loyalty import accounts, cards
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Card


def blank_cards(mobile: MobileApp, count: int) -> list[str]:
    return run_in_transaction(lambda: accounts.issue_cards(mobile.program(), count, utcnow()))


def link(mobile: MobileApp, token: str, number: str) -> int:
    return mobile.post("/me/cards", {"card_number": number}, token=token).status_code


def status_of(number: str) -> str:
    found = db.session.scalar(select(Card.status).where(Card.number == number))
    db.session.rollback()
    return found


def test_with_the_defaults_a_script_links_four_cards_then_stops(mobile: MobileApp):
    """Five cards an account (the virtual one included), ten tries an hour."""
    customer = mobile.register()
    stock = blank_cards(mobile, 20)
    replies = [link(mobile, customer.access_token, number) for number in stock]
    assert replies == [201] * 4 + [409] * 6 + [429] * 10
    assert [status_of(number) for number in stock[4:]] == ["blank"] * 16


def test_the_limit_answer_names_it(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["mobile"]["max_cards_per_account"] = 2
    customer = mobile.register()
    first, second = blank_cards(mobile, 2)
    assert link(mobile, customer.access_token, first) == 201
    reply = mobile.post("/me/cards", {"card_number": second}, token=customer.access_token)
    assert reply.status_code == 409
    assert reply.get_json()["error"] == {
        "code": "card_limit_reached", "message": "This account has as many cards as it may have.",
        "details": {"max_cards": 2}}


def test_a_card_already_yours_is_answered_at_the_limit(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["mobile"]["max_cards_per_account"] = 2
    customer = mobile.register()
    [blank] = blank_cards(mobile, 1)
    assert link(mobile, customer.access_token, blank) == 201
    assert link(mobile, customer.access_token, blank) == 200


def test_replaced_cards_no_longer_count(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["mobile"]["max_cards_per_account"] = 3
    customer = mobile.register()
    first, second = blank_cards(mobile, 2)
    assert link(mobile, customer.access_token, first) == 201
    run_in_transaction(lambda: accounts.replace_card(  # a new virtual card takes its place
        mobile.program(), accounts.find_card(mobile.program(), first), "manager", "lost",
        utcnow()))
    assert link(mobile, customer.access_token, second) == 201


def test_link_tries_are_limited_per_account_found_or_not(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["mobile"]["card_link_rate_limit"] = "3 per hour"
    customer, other = mobile.register(), mobile.register()
    [blank] = blank_cards(mobile, 1)
    unknown = cards.make_card_number("29", 99_999)
    assert [link(mobile, customer.access_token, unknown) for _ in range(3)] == [404] * 3
    refused = mobile.post("/me/cards", {"card_number": blank}, token=customer.access_token)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert status_of(blank) == "blank"
    assert link(mobile, other.access_token, blank) == 201


def test_unknown_numbers_and_other_customers_cards_get_one_answer(mobile: MobileApp):
    customer, other = mobile.register(), mobile.register()
    [taken] = blank_cards(mobile, 1)
    assert link(mobile, other.access_token, taken) == 201
    unknown = cards.make_card_number("29", 99_999)
    answers = [mobile.post("/me/cards", {"card_number": number}, token=customer.access_token)
               for number in (unknown, taken, other.card_number)]
    assert [(reply.status_code, reply.get_json()) for reply in answers] == [
        (404, {"error": {"code": "card_not_found",
                         "message": "No blank card has this number."}})] * 3


def test_the_refusals_are_the_documented_answers(mobile: MobileApp):
    mobile.app.config["LOYALTY"]["mobile"].update(max_cards_per_account=1,
                                                  card_link_rate_limit="1 per hour")
    customer = mobile.register()
    [blank] = blank_cards(mobile, 1)
    checked = CheckedClient(mobile.client, PREFIX, mobile_document(),
                            {"X-App-Key": mobile.app_key,
                             "Authorization": f"Bearer {customer.access_token}"})
    assert error_code(checked.post("/me/cards", {"card_number": blank})) \
        == (409, "card_limit_reached")
    assert error_code(checked.post("/me/cards", {"card_number": blank})) \
        == (429, "too_many_requests")
