def test_sale_spends_and_earns(till):
    card = till.customer(points=500)
    reply = till.sell(card, total_minor=2000, redeem_points=100)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["redeemed_minor"] == 1000
    assert body["cash_due_minor"] == 1000
    assert body["points_earned"] == 10
    assert body["balance"] == {"available": 410, "pending": 0}
