"""The POS API limits card lookups and identifications per terminal ([pos_api] *_rate_limit):
a stolen terminal key cannot walk the card numbers or try PINs at the speed of a script."""
from __future__ import annotations

from openapi_check import CheckedClient, error_code

from pos_loyalty import cards, programs
from pos_loyalty.db import run_in_transaction
from pos_loyalty.openapi import pos_document

PREFIX = "/api/pos/v1"
UNKNOWN_CARD = cards.make_card_number("29", 99_999)  # never issued here


def limit(app, setting: str, value: str) -> None:
    """The limits are read per request, so a test sets them on its app."""
    app.config["LOYALTY"]["pos_api"][setting] = value


def second_terminal_headers(till) -> dict[str, str]:
    def work() -> str:
        return programs.create_terminal(till.program(), till.store_id, "Caisse 2")[1]
    return {"Authorization": f"Bearer {run_in_transaction(work)}"}


def test_card_lookups_stop_at_the_terminal_s_limit_with_a_retry_after(app, till):
    limit(app, "lookup_rate_limit", "3 per hour")
    card = till.customer()
    assert [till.get(f"/cards/{card}").status_code for _ in range(3)] == [200, 200, 200]
    refused = till.get(f"/cards/{card}")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.get_json()["error"]["details"]["retry_after_seconds"] \
        == int(refused.headers["Retry-After"])


def test_unknown_numbers_count_as_lookups(app, till):
    """Walking the numbers is what the limit stops: a miss costs the same as a hit."""
    limit(app, "lookup_rate_limit", "2 per hour")
    card = till.customer()
    assert [till.get(f"/cards/{UNKNOWN_CARD}").status_code for _ in range(2)] == [404, 404]
    assert till.get(f"/cards/{card}").status_code == 429


def test_each_terminal_has_its_own_budget(app, till, client):
    limit(app, "lookup_rate_limit", "1 per hour")
    card = till.customer()
    assert [till.get(f"/cards/{card}").status_code for _ in range(2)] == [200, 429]
    other = client.get(f"{PREFIX}/cards/{card}", headers=second_terminal_headers(till))
    assert other.status_code == 200


def test_identifications_have_their_own_limit(app, till):
    limit(app, "identify_rate_limit", "2 per hour")
    limit(app, "lookup_rate_limit", "2 per hour")
    card = till.customer(pin="2468")
    attempt = {"phone": till.last_phone, "pin": "2468"}
    assert [till.post("/identify", attempt).status_code for _ in range(3)] == [200, 200, 429]
    assert till.get(f"/cards/{card}").status_code == 200


def test_wrong_pins_count_as_identifications(app, till):
    limit(app, "identify_rate_limit", "2 per hour")
    till.customer(pin="2468")
    wrong = {"phone": till.last_phone, "pin": "1111"}
    assert [till.post("/identify", wrong).status_code for _ in range(2)] == [401, 401]
    refused = till.post("/identify", {"phone": till.last_phone, "pin": "2468"})
    assert (refused.status_code, refused.get_json()["error"]["code"]) \
        == (429, "too_many_requests")


def test_an_empty_limit_never_refuses(app, till):
    limit(app, "lookup_rate_limit", "")
    card = till.customer()
    assert {till.get(f"/cards/{card}").status_code for _ in range(5)} == {200}


def test_the_refusal_is_the_documented_answer(app, till, client):
    limit(app, "lookup_rate_limit", "1 per hour")
    limit(app, "identify_rate_limit", "1 per hour")
    card = till.customer(pin="2468")
    checked = CheckedClient(client, PREFIX, pos_document(), till.headers)
    assert checked.get(f"/cards/{card}").status_code == 200
    assert error_code(checked.get(f"/cards/{card}")) == (429, "too_many_requests")
    identify = {"phone": till.last_phone, "pin": "2468"}
    assert checked.post("/identify", identify).status_code == 200
    assert error_code(checked.post("/identify", identify)) == (429, "too_many_requests")
