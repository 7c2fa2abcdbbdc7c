"""The POS API as a face, through the Flask test client, on both engines: terminal keys,
parsing, status codes, answer shapes and the Idempotency-Key header, one happy path per
endpoint. What each action does (points, balances, returns, holds) is tested on the use cases
themselves: test_usecases*.py.
"""
from pos_loyalty import accounts, cards, programs
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Hold, Terminal
from pos_loyalty.usecases import customers

ACCOUNT_FIELDS = {"id", "first_name", "phone_masked", "status", "available_points",
                  "pending_points", "available_value_minor", "can_redeem", "tier"}
QUOTE_FIELDS = {"total_minor", "eligible_earn_minor", "max_redeem_points", "max_redeem_minor",
                "min_cash_minor", "points_if_no_redeem", "redeem_points", "redeemed_minor",
                "cash_due_minor", "points_earned", "base_points", "tier_points",
                "applied_campaigns", "tier"}
SALE_FIELDS = {"sale_id", "receipt_number", "total_minor", "points_redeemed", "redeemed_minor",
               "cash_due_minor", "points_earned", "points_capped", "balance", "base_points",
               "tier_points", "applied_campaigns", "tier", "tier_reached"}
RETURN_FIELDS = {"return_id", "sale_id", "amount_minor", "points_reversed", "points_restored",
                 "refund_cash_minor", "balance"}
BALANCE_FIELDS = {"available", "pending"}


def refusal(reply):
    return reply.status_code, reply.get_json()["error"]["code"]


def test_a_scanned_card_answers_what_the_use_case_sees(till):
    card = till.customer(points=250, first_name="Léa")
    reply = till.get(f"/cards/{card}")
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == {"card_number", "status", "account"}
    assert set(body["account"]) == ACCOUNT_FIELDS
    assert body == customers.look_up_card(till.program(), card, utcnow())


def test_unknown_card_is_404_and_bad_check_digit_is_422(till):
    unknown = cards.make_card_number("29", 999_999)
    assert till.get(f"/cards/{unknown}").get_json()["error"]["code"] == "card_not_found"
    bad = unknown[:-1] + str((int(unknown[-1]) + 1) % 10)
    reply = till.get(f"/cards/{bad}")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "invalid_card_number"
    assert till.get("/cards/abc").status_code == 422


def test_requests_without_a_valid_terminal_key_are_401(till):
    assert till.client.get("/api/pos/v1/cards/2900000000018").status_code == 401
    reply = till.client.get("/api/pos/v1/cards/2900000000018",
                            headers={"Authorization": "Bearer tk_wrong"})
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"


def test_identify_by_phone_and_pin(till):
    card = till.customer(points=40, pin="4321")
    reply = till.post("/identify", {"phone": till.last_phone, "pin": "4321"})
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == {"card_number", "status", "account", "proof", "proof_expires_at"}
    assert body["card_number"] == card and set(body["account"]) == ACCOUNT_FIELDS


def test_wrong_pin_is_401_and_after_five_the_till_waits_with_a_429(till):
    till.customer(pin="4321")
    for attempt in range(5):
        reply = till.post("/identify", {"phone": till.last_phone, "pin": "0000"})
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "invalid_pin"
    waiting = till.post("/identify", {"phone": till.last_phone, "pin": "4321"})
    assert waiting.status_code == 429
    assert waiting.get_json()["error"]["code"] == "too_many_tries"
    assert int(waiting.headers["Retry-After"]) == waiting.get_json()["error"]["details"][
        "retry_after_seconds"]


def test_a_quote_reads_a_total_or_lines_and_answers_every_figure(till):
    card = till.customer(points=1000)
    reply = till.post("/quote", {"card_number": card, "total_minor": 2000, "redeem_points": 55})
    assert reply.status_code == 200
    body = reply.get_json()
    assert set(body) == QUOTE_FIELDS
    assert (body["total_minor"], body["redeem_points"]) == (2000, 55)
    lines = [{"sku": "CIG", "category": "tobacco", "quantity": 1, "unit_price_minor": 1100},
             {"sku": "BREAD", "category": "bakery", "quantity": 3, "unit_price_minor": 120}]
    reply = till.post("/quote", {"card_number": card, "lines": lines})
    assert reply.status_code == 200
    assert reply.get_json()["total_minor"] == 1460


def test_a_sale_answers_201_with_its_figures_and_balance(till):
    card = till.customer(points=500)
    reply = till.sell(card, total_minor=2000, redeem_points=100, receipt="R-42")
    assert reply.status_code == 201
    body = reply.get_json()
    assert set(body) == SALE_FIELDS and set(body["balance"]) == BALANCE_FIELDS
    assert body["sale_id"] > 0
    assert (body["receipt_number"], body["total_minor"], body["points_redeemed"]) == (
        "R-42", 2000, 100)


def test_same_key_and_body_replays_the_first_sale(till):
    card = till.customer(points=500)
    first = till.sell(card, total_minor=2000, redeem_points=100, receipt="A1", key="k-1")
    again = till.sell(card, total_minor=2000, redeem_points=100, receipt="A1", key="k-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()


def test_same_key_with_another_body_is_a_conflict(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=2000, receipt="A1", key="k-1")
    reply = till.sell(card, total_minor=3000, receipt="A1", key="k-1")
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "idempotency_conflict"


def test_sale_without_idempotency_key_is_refused(till):
    card = till.customer()
    reply = till.client.post("/api/pos/v1/sales", headers=till.headers,
                             json={"card_number": card, "receipt_number": "X",
                                   "total_minor": 100})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "idempotency_key_required"


def test_a_refused_sale_answers_its_status_and_code(till):
    card, blocked, lost = till.customer(points=500), till.customer(), till.customer()
    assert till.sell(card, total_minor=500, receipt="A1", key="k-1").status_code == 201
    assert refusal(till.sell(card, total_minor=500, receipt="A1", key="k-2")) == (
        409, "duplicate_receipt")
    assert refusal(till.sell(card, total_minor=2000, redeem_points=191)) == (
        422, "redeem_limit_exceeded")

    def block_one_replace_the_other():
        program = till.program()
        account = accounts.account_of_card(accounts.find_card(program, blocked))
        accounts.set_account_status(program, account, "blocked", "manager", "fraud", utcnow())
        accounts.replace_card(program, accounts.find_card(program, lost), "manager", "lost",
                              utcnow())
    run_in_transaction(block_one_replace_the_other)
    assert refusal(till.sell(blocked, total_minor=2000, redeem_points=10)) == (
        403, "account_blocked")
    assert refusal(till.sell(lost, total_minor=500)) == (403, "card_blocked")


def test_bad_input_gets_clear_4xx_errors(till):
    card = till.customer(points=10)
    cases = [
        ({"card_number": card, "receipt_number": "R", "total_minor": -5}, 422),
        ({"card_number": card, "receipt_number": "R", "total_minor": 10**15}, 422),
        ({"card_number": card, "receipt_number": "R", "total_minor": "12"}, 422),
        ({"card_number": card, "receipt_number": "R", "total_minor": 1.5}, 422),
        ({"card_number": card, "receipt_number": "", "total_minor": 100}, 422),
        ({"card_number": card, "receipt_number": "R", "lines": []}, 422),
        ({"card_number": card, "receipt_number": "R", "lines": [{"sku": "A"}]}, 422),
        ({"card_number": card, "receipt_number": "R", "total_minor": 100,
          "redeem_points": -1}, 422),
        ({"card_number": 12, "receipt_number": "R", "total_minor": 100}, 422),
        ([1, 2], 400),
    ]
    for index, (body, status) in enumerate(cases):
        reply = till.post("/sales", body, key=f"bad-{index}")
        assert reply.status_code == status, (body, reply.get_json())
        assert "code" in reply.get_json()["error"]
    broken = till.client.post("/api/pos/v1/sales", data="{not json",
                              headers={**till.headers, "Idempotency-Key": "x",
                                       "Content-Type": "application/json"})
    assert broken.status_code == 400
    form = till.client.post("/api/pos/v1/sales", data="a=b",
                            headers={**till.headers, "Idempotency-Key": "y"})
    assert form.status_code == 415
    assert till.client.get("/api/pos/v1/nowhere", headers=till.headers).status_code == 404
    assert till.client.get("/api/pos/v1/sales", headers=till.headers).status_code == 405


def test_a_return_reads_an_amount_or_lines(till):
    card = till.customer(points=500)
    sale = till.sell(card, lines=[
        {"sku": "CAKE", "category": "pastry", "quantity": 2, "unit_price_minor": 1000}]).get_json()
    path = f"/sales/{sale['sale_id']}/returns"
    by_amount = till.post(path, {"amount_minor": 500}, key="ret-1")
    assert by_amount.status_code == 201
    assert set(by_amount.get_json()) == RETURN_FIELDS
    assert by_amount.get_json()["amount_minor"] == 500
    by_lines = till.post(path, {"lines": [{"sku": "CAKE", "quantity": 1}]}, key="ret-2")
    assert by_lines.status_code == 201
    assert by_lines.get_json()["amount_minor"] == 1000
    for index, body in enumerate([{}, {"amount_minor": 1, "lines": []}, {"amount_minor": 0},
                                  {"lines": []}, {"lines": "CAKE"}, {"lines": ["CAKE"]},
                                  {"lines": [{"sku": "CAKE", "quantity": 0}]}]):
        reply = till.post(path, body, key=f"bad-{index}")
        assert refusal(reply) == (422, "validation_error"), body


def test_a_refused_return_or_void_answers_its_status_and_code(till):
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000, redeem_points=100).get_json()
    path = f"/sales/{sale['sale_id']}"
    assert refusal(till.post(f"{path}/returns", {"amount_minor": 2001}, key="over")) == (
        422, "return_exceeds_sale")
    _, other_key = run_in_transaction(
        lambda: programs.create_terminal(till.program(), till.store_id, "Caisse 2"))
    other = till.client.post(f"/api/pos/v1{path}/void",
                             headers={"Authorization": f"Bearer {other_key}"})
    assert refusal(other) == (404, "sale_not_found")
    voided = till.post(f"{path}/void")
    assert voided.status_code == 200
    assert set(voided.get_json()) == {"sale_id", "status", "points_reversed", "points_restored",
                                      "balance"}
    assert refusal(till.post(f"{path}/void")) == (409, "sale_voided")
    assert refusal(till.post(f"{path}/returns", {"amount_minor": 1}, key="after-void")) == (
        409, "sale_voided")


def test_a_hold_is_made_captured_or_voided_and_a_sale_can_spend_it(till):
    card = till.customer(points=500)
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H1", "points": 200,
                                "ttl_seconds": 60})
    assert hold.status_code == 201
    assert set(hold.get_json()) == {"hold_id", "points", "expires_at", "balance"}
    assert hold.get_json()["expires_at"].endswith("Z")
    hold_id = hold.get_json()["hold_id"]
    captured = till.post(f"/holds/{hold_id}/capture", {"points": 150})
    assert captured.status_code == 200
    assert set(captured.get_json()) == {"hold_id", "status", "captured_points",
                                        "released_points", "balance"}
    assert captured.get_json()["captured_points"] == 150
    second = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                  "receipt_number": "H2", "points": 10}).get_json()
    whole = till.post(f"/holds/{second['hold_id']}/capture")
    assert whole.status_code == 200 and whole.get_json()["captured_points"] == 10
    third = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                 "receipt_number": "H3", "points": 10}).get_json()
    released = till.post(f"/holds/{third['hold_id']}/void")
    assert released.status_code == 200
    assert set(released.get_json()) == {"hold_id", "status", "released_points", "balance"}
    held = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H4", "points": 100}).get_json()
    sale = till.post("/sales", {"card_number": card, "receipt_number": "H4",
                                "total_minor": 2000, "redeem_points": 80,
                                "hold_id": held["hold_id"]}, key="hs")
    assert sale.status_code == 201
    assert db.session.get(Hold, held["hold_id"]).sale_id == sale.get_json()["sale_id"]


def test_a_refused_hold_answers_its_status_and_code(till):
    card = till.customer(points=50)
    assert refusal(till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                        "receipt_number": "H1",
                                        "points": 51})) == (422, "insufficient_points")
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned",
                                "receipt_number": "H1", "points": 20}).get_json()
    assert till.post(f"/holds/{hold['hold_id']}/capture").status_code == 200
    assert refusal(till.post(f"/holds/{hold['hold_id']}/void")) == (409, "hold_closed")
    assert refusal(till.post(f"/holds/{hold['hold_id']}/capture")) == (409, "hold_closed")


def test_a_terminal_key_opens_its_own_program_only(till):
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000).get_json()
    hold = till.post("/holds", {"card_number": card, "card_entry": "scanned", "receipt_number": "H",
                                "points": 10}).get_json()
    _, _, other_key = till.other_brand()
    headers = {"Authorization": f"Bearer {other_key}"}
    api = "/api/pos/v1"
    assert till.client.get(f"{api}/cards/{card}", headers=headers).status_code == 404
    for path, body in [("/quote", {"card_number": card, "total_minor": 100}),
                       ("/holds", {"card_number": card, "card_entry": "scanned",
                                   "receipt_number": "X", "points": 1}),
                       (f"/sales/{sale['sale_id']}/void", None),
                       (f"/holds/{hold['hold_id']}/void", None)]:
        assert till.client.post(api + path, json=body, headers=headers).status_code == 404
    reply = till.client.post(f"{api}/sales/{sale['sale_id']}/returns", json={"amount_minor": 1},
                             headers={**headers, "Idempotency-Key": "x"})
    assert reply.status_code == 404


def test_a_switched_off_terminal_is_refused(till, app):
    app.config["LOYALTY"]["service"]["auth_cache_seconds"] = 0
    card = till.customer()
    assert till.get(f"/cards/{card}").status_code == 200

    def switch_off():
        db.session.get(Terminal, till.terminal_id).active = False
    run_in_transaction(switch_off)
    reply = till.get(f"/cards/{card}")
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"
