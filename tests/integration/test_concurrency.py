"""Many tills at once: no balance goes below zero, no receipt counts twice."""
import threading

from sqlalchemy import func, select

from pos_loyalty import verification
from pos_loyalty.db import db
from pos_loyalty.db import utcnow
from pos_loyalty.models import Card, DailyIssuance, PointLot, Sale

THREADS = 20


def run_together(app, till, bodies_and_keys):
    """Send every request at the same moment, each from its own thread and DB session."""
    db.session.remove()  # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(len(bodies_and_keys))
    replies = [None] * len(bodies_and_keys)

    def send(index, body, key):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            reply = client.post("/api/pos/v1/sales", json=body,
                                headers={**till.headers, "Idempotency-Key": key})
            replies[index] = (reply.status_code, reply.get_json())
            db.session.remove()

    threads = [threading.Thread(target=send, args=(i, body, key))
               for i, (body, key) in enumerate(bodies_and_keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return replies


def test_twenty_tills_spending_the_whole_balance_at_once_only_one_succeeds(app, till):
    card = till.customer(points=190)
    requests = [({"card_number": card, "receipt_number": f"C{i}", "total_minor": 2000,
                  "redeem_points": 190, "card_entry": "scanned"}, f"spend-{i}")
                for i in range(THREADS)]
    replies = run_together(app, till, requests)
    statuses = sorted(status for status, _ in replies)
    assert statuses.count(201) == 1
    refused = [body["error"]["code"] for status, body in replies if status != 201]
    assert set(refused) <= {"insufficient_points", "redeem_limit_exceeded"}
    assert len(refused) == THREADS - 1
    assert till.balance(card) == {"available": 1, "pending": 0}
    assert verification.verify_accounts() == []


def test_twenty_replays_of_one_key_make_one_sale(app, till):
    card = till.customer(points=500)
    body = {"card_number": card, "receipt_number": "SAME", "total_minor": 2000,
            "redeem_points": 100, "card_entry": "scanned"}
    replies = run_together(app, till, [(body, "one-key")] * THREADS)
    assert [status for status, _ in replies] == [201] * THREADS
    assert len({reply["sale_id"] for _, reply in replies}) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Sale)) == 1
    assert till.balance(card) == {"available": 410, "pending": 0}
    assert verification.verify_accounts() == []


def test_one_receipt_from_twenty_keys_at_once_is_recorded_once(app, till):
    card = till.customer(points=500)
    body = {"card_number": card, "receipt_number": "DUP", "total_minor": 1000}
    replies = run_together(app, till, [(body, f"dup-{i}") for i in range(THREADS)])
    statuses = [status for status, _ in replies]
    assert statuses.count(201) == 1
    assert statuses.count(409) == THREADS - 1
    assert {body["error"]["code"] for status, body in replies if status == 409} == \
        {"duplicate_receipt"}
    assert verification.verify_accounts() == []



def test_sales_racing_for_the_last_points_under_the_daily_cap_never_pass_it(app, till):
    till.set_rules(daily_program_cap_points=100)
    cards = [till.customer() for _ in range(10)]
    assert till.sell(cards[0], total_minor=2000).get_json()["points_earned"] == 20
    requests = [({"card_number": card, "receipt_number": f"CAP{i}", "total_minor": 2000},
                 f"cap-{i}") for i, card in enumerate(cards)]
    replies = run_together(app, till, requests)
    assert [status for status, _ in replies] == [201] * 10
    earned = sorted(reply["points_earned"] for _, reply in replies)
    assert sum(earned) == 80 and earned[-4:] == [20, 20, 20, 20]
    assert sum(reply["points_capped"] for _, reply in replies) == 120
    db.session.expire_all()
    assert db.session.scalar(select(DailyIssuance.points)) == 100
    assert verification.verify_accounts() == []


def test_sales_waiting_for_one_account_draw_its_oldest_lots_first(app, till):
    card = till.customer()
    for _ in range(5):
        till.adjust(card, 30)          # five lots of 30, oldest first
    requests = [({"card_number": card, "receipt_number": f"LOT{i}", "total_minor": 2000,
                  "redeem_points": 10, "card_entry": "scanned"}, f"lot-{i}") for i in range(10)]
    replies = run_together(app, till, requests)
    assert [status for status, _ in replies] == [201] * 10
    db.session.expire_all()
    account_id = db.session.scalar(select(Card.account_id).where(Card.number == card))
    seeded = db.session.scalars(select(PointLot.remaining).where(
        PointLot.account_id == account_id, PointLot.sale_id.is_(None))
        .order_by(PointLot.id)).all()
    assert seeded == [0, 0, 0, 20, 30]
    assert till.balance(card)["available"] == 150 - 100 + 10 * 19   # 19.00 paid in cash
    assert verification.verify_accounts() == []


def test_two_customers_linking_one_blank_card_at_once_only_one_gets_it(app, till):
    from pos_loyalty import accounts
    from pos_loyalty.db import run_in_transaction
    from pos_loyalty.models import Account
    blank = run_in_transaction(lambda: accounts.issue_cards(till.program(), 1, utcnow()))[0]
    owners = [db.session.get(Card, db.session.scalar(select(Card.id).where(
        Card.number == till.customer()))).account_id for _ in range(2)]
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes = [None, None]

    def link(index):
        with app.app_context():
            def work():
                account = db.session.get(Account, owners[index])
                return accounts.link_card(till.program(), account, blank, utcnow()).number
            barrier.wait()
            try:
                outcomes[index] = run_in_transaction(work)
            except Exception as error:  # the loser's refusal is what this test checks
                outcomes[index] = type(error).__name__
            db.session.remove()

    threads = [threading.Thread(target=link, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted([blank, "CardAlreadyLinked"])
    assert db.session.scalar(select(Card.account_id).where(Card.number == blank)) in owners
