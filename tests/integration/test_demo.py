"""The demo's data: what `make demo` loads must load, on either engine."""
from sqlalchemy import func, select

from pos_loyalty import demo, verification
from pos_loyalty.db import db, run_in_transaction
from pos_loyalty.models import Sale


def test_demo_data_loads_twenty_customers_with_history_and_a_consistent_ledger(app):
    key, customers = run_in_transaction(demo.load_demo_data)
    assert key.startswith("tk_")
    assert len(customers) == 20
    # Every customer made 2 to 6 visits, all in the one transaction that loads the demo.
    assert 40 <= db.session.scalar(select(func.count()).select_from(Sale)) <= 120
    assert verification.verify_accounts() == []
