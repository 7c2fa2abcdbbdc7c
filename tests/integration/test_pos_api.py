"""The POS API contract, end to end through the Flask test client, on both engines."""
from pos_loyalty import cards


def test_scanned_card_shows_the_account(till):
    card = till.customer(points=250, first_name="Léa")
    reply = till.get(f"/cards/{card}")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["card_number"] == card and body["status"] == "active"
    account = body["account"]
    assert account["first_name"] == "Léa"
    assert account["available_points"] == 250 and account["pending_points"] == 0
    assert account["available_value_minor"] == 2500
    assert account["can_redeem"] is True
    assert account["phone_masked"].startswith("+33") and "*" in account["phone_masked"]


def test_unknown_card_is_404_and_bad_check_digit_is_422(till):
    unknown = cards.make_card_number("29", 999_999)
    assert till.get(f"/cards/{unknown}").get_json()["error"]["code"] == "card_not_found"
    bad = unknown[:-1] + str((int(unknown[-1]) + 1) % 10)
    reply = till.get(f"/cards/{bad}")
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "invalid_card_number"
    assert till.get("/cards/abc").status_code == 422


def test_blank_card_has_no_account(till, runner):
    number = runner.invoke(args=["cards", "issue", "--count", "1"]).output.split()[-1]
    reply = till.get(f"/cards/{number}")
    assert reply.status_code == 200
    assert reply.get_json() == {"card_number": number, "status": "blank", "account": None}


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
    assert reply.get_json()["card_number"] == card
    assert reply.get_json()["account"]["available_points"] == 40


def test_wrong_pin_is_401_and_five_in_a_row_lock_for_fifteen_minutes(till):
    till.customer(pin="4321")
    for attempt in range(5):
        reply = till.post("/identify", {"phone": till.last_phone, "pin": "0000"})
        assert reply.status_code == 401
        assert reply.get_json()["error"]["code"] == "invalid_pin"
    locked = till.post("/identify", {"phone": till.last_phone, "pin": "4321"})
    assert locked.status_code == 423
    assert locked.get_json()["error"]["code"] == "locked"
    assert locked.get_json()["error"]["details"]["locked_until"].endswith("Z")


def test_a_right_pin_resets_the_wrong_pin_count(till):
    till.customer(pin="4321")
    for _ in range(4):
        till.post("/identify", {"phone": till.last_phone, "pin": "0000"})
    assert till.post("/identify", {"phone": till.last_phone, "pin": "4321"}).status_code == 200
    for _ in range(4):
        assert till.post("/identify", {"phone": till.last_phone, "pin": "0000"}).status_code == 401
    assert till.post("/identify", {"phone": till.last_phone, "pin": "4321"}).status_code == 200


def test_quote_for_a_total_and_for_lines(till):
    card = till.customer(points=1000)
    body = till.post("/quote", {"card_number": card, "total_minor": 2000}).get_json()
    assert body["total_minor"] == 2000
    assert body["eligible_earn_minor"] == 2000
    assert body["max_redeem_points"] == 190 and body["max_redeem_minor"] == 1900
    assert body["min_cash_minor"] == 100 and body["points_if_no_redeem"] == 20
    lines = [{"sku": "CIG", "category": "tobacco", "quantity": 1, "unit_price_minor": 1100},
             {"sku": "BREAD", "category": "bakery", "quantity": 3, "unit_price_minor": 120}]
    body = till.post("/quote", {"card_number": card, "lines": lines}).get_json()
    assert body["total_minor"] == 1460
    assert body["eligible_earn_minor"] == 360
    assert body["points_if_no_redeem"] == 3


def test_sale_spends_part_of_the_bill_in_points_and_earns_on_the_rest(till):
    card = till.customer(points=500)
    reply = till.sell(card, total_minor=2000, redeem_points=100)
    assert reply.status_code == 201
    body = reply.get_json()
    assert body["receipt_number"].startswith("R") and body["sale_id"] > 0
    assert (body["total_minor"], body["points_redeemed"], body["redeemed_minor"],
            body["cash_due_minor"], body["points_earned"]) == (2000, 100, 1000, 1000, 10)
    assert body["balance"] == {"available": 410, "pending": 0}
    assert till.balance(card) == {"available": 410, "pending": 0}


def test_same_key_and_body_replays_the_first_sale(till):
    card = till.customer(points=500)
    first = till.sell(card, total_minor=2000, redeem_points=100, receipt="A1", key="k-1")
    again = till.sell(card, total_minor=2000, redeem_points=100, receipt="A1", key="k-1")
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert till.balance(card)["available"] == 410


def test_same_key_with_another_body_is_a_conflict(till):
    card = till.customer(points=500)
    till.sell(card, total_minor=2000, receipt="A1", key="k-1")
    reply = till.sell(card, total_minor=3000, receipt="A1", key="k-1")
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "idempotency_conflict"


def test_same_receipt_twice_on_a_terminal_is_refused(till):
    card = till.customer()
    assert till.sell(card, total_minor=500, receipt="A1", key="k-1").status_code == 201
    reply = till.sell(card, total_minor=500, receipt="A1", key="k-2")
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "duplicate_receipt"


def test_sale_without_idempotency_key_is_refused(till):
    card = till.customer()
    reply = till.client.post("/api/pos/v1/sales", headers=till.headers,
                             json={"card_number": card, "receipt_number": "X",
                                   "total_minor": 100})
    assert reply.status_code == 400
    assert reply.get_json()["error"]["code"] == "idempotency_key_required"


def test_more_points_than_allowed_is_422_and_nothing_is_saved(till):
    card = till.customer(points=500)
    reply = till.sell(card, total_minor=2000, redeem_points=191)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "redeem_limit_exceeded"
    assert till.balance(card)["available"] == 500


def test_blocked_account_cannot_spend(till, app):
    from pos_loyalty import accounts
    from pos_loyalty.db import run_in_transaction, utcnow
    card = till.customer(points=500)

    def block():
        program = till.program()
        account = accounts.account_of_card(accounts.find_card(program, card))
        accounts.set_account_status(program, account, "blocked", "manager", "fraud", utcnow())
    run_in_transaction(block)
    reply = till.sell(card, total_minor=2000, redeem_points=10)
    assert reply.status_code == 403
    assert reply.get_json()["error"]["code"] == "account_blocked"
    body = till.get(f"/cards/{card}").get_json()["account"]
    assert body["available_points"] == 500 and body["can_redeem"] is False


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


def test_partial_return_takes_back_earned_and_gives_back_spent_points(till):
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000, redeem_points=100).get_json()
    reply = till.post(f"/sales/{sale['sale_id']}/returns", {"amount_minor": 1000}, key="ret-1")
    assert reply.status_code == 201
    body = reply.get_json()
    assert body["points_reversed"] == 5 and body["points_restored"] == 50
    assert body["refund_cash_minor"] == 500
    assert body["balance"] == {"available": 455, "pending": 0}


def test_a_return_after_a_return_never_reverses_more_than_the_sale_earned(till):
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000, redeem_points=100).get_json()
    path = f"/sales/{sale['sale_id']}/returns"
    got = [till.post(path, {"amount_minor": 700}, key=f"r{i}").get_json() for i in range(2)]
    last = till.post(path, {"amount_minor": 600}, key="r2").get_json()
    assert sum(r["points_reversed"] for r in got + [last]) == 10
    assert sum(r["points_restored"] for r in got + [last]) == 100
    over = till.post(path, {"amount_minor": 1}, key="r3")
    assert over.status_code == 422
    assert over.get_json()["error"]["code"] == "return_exceeds_sale"
    assert till.balance(card)["available"] == 500


def test_return_of_lines_reverses_only_the_points_those_lines_earned(till):
    card = till.customer()
    lines = [{"sku": "CIG", "category": "tobacco", "quantity": 1, "unit_price_minor": 1000},
             {"sku": "CAKE", "category": "pastry", "quantity": 2, "unit_price_minor": 1000}]
    sale = till.sell(card, lines=lines).get_json()
    assert sale["points_earned"] == 20
    path = f"/sales/{sale['sale_id']}/returns"
    tobacco = till.post(path, {"lines": [{"sku": "CIG", "quantity": 1}]}, key="l1").get_json()
    assert tobacco["points_reversed"] == 0
    cake = till.post(path, {"lines": [{"sku": "CAKE", "quantity": 1}]}, key="l2").get_json()
    assert cake["points_reversed"] == 10
    too_many = till.post(path, {"lines": [{"sku": "CAKE", "quantity": 2}]}, key="l3")
    assert too_many.status_code == 422


def test_return_after_spending_the_points_may_go_negative_and_is_flagged(till):
    card = till.customer()
    sale = till.sell(card, total_minor=10_000).get_json()
    till.sell(card, total_minor=2000, redeem_points=100)
    reply = till.post(f"/sales/{sale['sale_id']}/returns", {"amount_minor": 10_000}, key="neg")
    assert reply.get_json()["points_reversed"] == 100
    assert till.balance(card)["available"] == 10 - 100
    from pos_loyalty import accounts
    account = accounts.account_of_card(accounts.find_card(till.program(), card))
    assert account.negative_flagged is True


def test_void_undoes_the_sale_once_and_only_on_its_terminal(till, app):
    from pos_loyalty import programs
    from pos_loyalty.db import run_in_transaction
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000, redeem_points=100).get_json()
    _, other_key = run_in_transaction(
        lambda: programs.create_terminal(till.program(), till.store_id, "Caisse 2"))
    other = till.client.post(f"/api/pos/v1/sales/{sale['sale_id']}/void",
                             headers={"Authorization": f"Bearer {other_key}"})
    assert other.status_code == 404
    reply = till.post(f"/sales/{sale['sale_id']}/void")
    assert reply.status_code == 200
    assert reply.get_json()["balance"] == {"available": 500, "pending": 0}
    again = till.post(f"/sales/{sale['sale_id']}/void")
    assert again.status_code == 409
    assert till.post(f"/sales/{sale['sale_id']}/returns", {"amount_minor": 1},
                     key="after-void").status_code == 409


def test_hold_then_capture_fewer_points(till):
    card = till.customer(points=500)
    hold = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 200,
                                "ttl_seconds": 60})
    assert hold.status_code == 201
    assert hold.get_json()["expires_at"].endswith("Z")
    assert till.balance(card)["available"] == 300
    captured = till.post(f"/holds/{hold.get_json()['hold_id']}/capture", {"points": 150})
    assert captured.status_code == 200
    assert captured.get_json()["balance"]["available"] == 350
    again = till.post(f"/holds/{hold.get_json()['hold_id']}/void")
    assert again.status_code == 409


def test_hold_void_gives_the_points_back(till):
    card = till.customer(points=500)
    hold = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 200})
    reply = till.post(f"/holds/{hold.get_json()['hold_id']}/void")
    assert reply.status_code == 200
    assert till.balance(card)["available"] == 500


def test_hold_for_more_than_the_balance_is_refused(till):
    card = till.customer(points=50)
    reply = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 51})
    assert reply.status_code == 422
    assert reply.get_json()["error"]["code"] == "insufficient_points"


def test_expired_hold_releases_its_points_by_itself(till, app):
    import datetime as dt
    from pos_loyalty.db import utcnow
    card = till.customer(points=500)
    hold = till.post("/holds", {"card_number": card, "receipt_number": "H1", "points": 200,
                                "ttl_seconds": 5}).get_json()
    app.extensions["pos_loyalty.clock"] = lambda: utcnow() + dt.timedelta(seconds=10)
    assert till.balance(card)["available"] == 500
    reply = till.post(f"/holds/{hold['hold_id']}/capture")
    assert reply.status_code == 409
    assert reply.get_json()["error"]["code"] == "hold_closed"


def test_sale_can_capture_a_hold(till):
    card = till.customer(points=500)
    hold = till.post("/holds", {"card_number": card, "receipt_number": "H1",
                                "points": 100}).get_json()
    sale = till.post("/sales", {"card_number": card, "receipt_number": "H1",
                                "total_minor": 2000, "redeem_points": 80,
                                "hold_id": hold["hold_id"]}, key="hs")
    assert sale.status_code == 201
    body = sale.get_json()
    assert body["points_redeemed"] == 80 and body["points_earned"] == 12
    assert till.balance(card)["available"] == 432
    void = till.post(f"/sales/{body['sale_id']}/void")
    assert void.get_json()["balance"]["available"] == 500


def test_a_terminal_sees_nothing_of_another_program(till):
    from pos_loyalty import programs
    from pos_loyalty.db import db, run_in_transaction
    from pos_loyalty.models import Program
    card = till.customer(points=500)
    sale = till.sell(card, total_minor=2000).get_json()
    hold = till.post("/holds", {"card_number": card, "receipt_number": "H",
                                "points": 10}).get_json()

    def other_brand():
        program = Program(slug="other", name="Other brand", currency="EUR",
                          timezone="Europe/Paris", locale="fr_FR", rules={}, branding={})
        db.session.add(program)
        db.session.flush()
        store = programs.create_store(program, "Elsewhere")
        return programs.create_terminal(program, store.id)[1]
    headers = {"Authorization": f"Bearer {run_in_transaction(other_brand)}"}
    api = "/api/pos/v1"
    assert till.client.get(f"{api}/cards/{card}", headers=headers).status_code == 404
    for path, body in [("/quote", {"card_number": card, "total_minor": 100}),
                       ("/holds", {"card_number": card, "receipt_number": "X", "points": 1}),
                       (f"/sales/{sale['sale_id']}/void", None),
                       (f"/holds/{hold['hold_id']}/void", None)]:
        assert till.client.post(api + path, json=body, headers=headers).status_code == 404
    reply = till.client.post(f"{api}/sales/{sale['sale_id']}/returns", json={"amount_minor": 1},
                             headers={**headers, "Idempotency-Key": "x"})
    assert reply.status_code == 404
    assert till.balance(card)["available"] == 500 + 20 - 10


def test_a_switched_off_terminal_is_refused(till, app):
    from pos_loyalty.db import db, run_in_transaction
    from pos_loyalty.models import Terminal
    app.config["LOYALTY"]["service"]["auth_cache_seconds"] = 0
    card = till.customer()
    assert till.get(f"/cards/{card}").status_code == 200

    def switch_off():
        db.session.get(Terminal, till.terminal_id).active = False
    run_in_transaction(switch_off)
    reply = till.get(f"/cards/{card}")
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "unauthorized"
