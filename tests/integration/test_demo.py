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


def test_demo_without_serving_prints_no_url_and_says_how_to_serve(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_DB", tmp_path / "demo.sqlite3")
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "http://" not in result.output
    assert "Terminal API key: tk_" in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Not served (--no-serve). To serve this data: "
        f"LOYALTY_DATABASE_URL=sqlite:///{tmp_path / 'demo.sqlite3'} pos-loyalty serve")
