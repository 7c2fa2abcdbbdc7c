"""Statements sent together: what comes back, what reaches the database, and when."""
import datetime as dt

import pytest
from sqlalchemy import bindparam, event, func, insert, select, update

from pos_loyalty import statements
from pos_loyalty.db import TryAgain, db, run_in_transaction, utcnow
from pos_loyalty.errors import ConcurrentChange
from pos_loyalty.idempotency import STORE_ANSWER
from pos_loyalty.models import IdempotencyKey, Program, Store
from pos_loyalty.statements import Step, Writes

stores = Store.__table__
ADD_STORE = insert(stores)
STORE_NAMES = select(stores.c.name).where(stores.c.program_id == bindparam("program_id")) \
    .order_by(stores.c.name)
RENAME_STORE = (update(stores).where(stores.c.id == bindparam("store_id"))
                .values(name=bindparam("new_name")).returning(stores.c.id))
RENAME_STORE_CALLED = (update(stores).where(stores.c.name == "Rouen")
                       .values(name=bindparam("new_name")).returning(stores.c.id))


@pytest.fixture
def program_id(app):
    def make():
        program = Program(slug="statements", name="Statements", currency="EUR",
                          timezone="Europe/Paris", locale="fr_FR", rules={}, branding={})
        db.session.add(program)
        db.session.flush()
        return program.id
    return run_in_transaction(make)


def store_names(program_id):
    db.session.expire_all()
    return db.session.scalars(STORE_NAMES, {"program_id": program_id}).all()


def a_store(program_id, name):
    return Step(ADD_STORE, {"program_id": program_id, "name": name})


def test_steps_run_together_bring_back_each_ones_rows(program_id):
    def work():
        return statements.run_together([
            a_store(program_id, "Lyon"),
            Step(STORE_NAMES, {"program_id": program_id}),
            Step(select(func.count()).select_from(stores), {}),
        ])
    added, names, counted = run_in_transaction(work)
    assert added.rows == []
    # One statement on PostgreSQL: its parts all see the database as it was when it began.
    engine = db.engine.dialect.name
    assert names.rows == ([] if engine == "postgresql" else [("Lyon",)])
    assert counted.rows == ([(0,)] if engine == "postgresql" else [(1,)])
    assert store_names(program_id) == ["Lyon"]


def test_many_parameter_sets_of_one_step_write_one_row_each(program_id):
    run_in_transaction(lambda: statements.run_together([Step(ADD_STORE, [
        {"program_id": program_id, "name": name} for name in ("Caen", "Brest", "Arles")])]))
    assert store_names(program_id) == ["Arles", "Brest", "Caen"]


def test_a_step_without_parameter_sets_writes_nothing(program_id):
    outcome, = run_in_transaction(lambda: statements.run_together([Step(ADD_STORE, [])]))
    assert outcome == statements.Outcome([], 0)
    assert store_names(program_id) == []


def test_writes_wait_until_sent_then_go_together(program_id):
    def work():
        writes = Writes()
        for name in ("Nantes", "Niort", "Nevers"):
            writes.add(a_store(program_id, name))
        before = store_names(program_id)
        writes.send()
        return before, len(writes), store_names(program_id)
    assert run_in_transaction(work) == ([], 0, ["Nantes", "Nevers", "Niort"])


def test_writes_never_sent_are_never_written(program_id):
    def work():
        Writes().add(a_store(program_id, "Laval"))
    run_in_transaction(work)
    assert store_names(program_id) == []


def test_a_write_touching_other_rows_than_expected_commits_nothing(program_id):
    def work():
        writes = Writes()
        writes.add(a_store(program_id, "Nice"))
        writes.add(Step(RENAME_STORE, {"store_id": -1, "new_name": "Nowhere"}),
                   expect_rows=1, error=TryAgain)
        writes.send()
    with pytest.raises(ConcurrentChange):
        run_in_transaction(work, retries=2)
    assert store_names(program_id) == []


def test_a_unique_violation_nobody_expected_is_a_conflict_to_retry(program_id):
    def clashing_stores():
        """Two stores with one id: the second breaks the primary key."""
        writes = Writes()
        for name in ("Metz", "Metz bis"):
            writes.add(Step(ADD_STORE, {"id": 990_001, "program_id": program_id, "name": name}))
        writes.send()
    with pytest.raises(ConcurrentChange):
        run_in_transaction(clashing_stores, retries=0)
    assert store_names(program_id) == []


def test_a_rollback_after_sending_undoes_the_writes(program_id):
    def work():
        writes = Writes()
        writes.add(a_store(program_id, "Tours"))
        writes.send()
        raise ValueError("changed my mind")
    with pytest.raises(ValueError):
        run_in_transaction(work)
    assert store_names(program_id) == []


def test_an_insert_gets_the_python_defaults_of_the_columns_it_leaves_out(program_id):
    before = utcnow()
    run_in_transaction(lambda: statements.run_together([
        a_store(program_id, "Dax"), a_store(program_id, "Pau")]))
    db.session.expire_all()
    rows = db.session.execute(select(Store.address, Store.created_at)
                              .where(Store.program_id == program_id)).all()
    assert [address for address, _ in rows] == ["", ""]
    assert all(before - dt.timedelta(seconds=1) <= created <= utcnow() for _, created in rows)


def test_values_the_statement_carries_and_json_parameters_are_bound(program_id):
    def work():
        statements.run_together([a_store(program_id, "Rouen")])
        db.session.add(IdempotencyKey(scope="test", key="k1", request_hash="h",
                                      created_at=utcnow()))
        db.session.flush()
        return statements.run_together([
            Step(RENAME_STORE_CALLED, {"new_name": "Rouen centre"}),
            Step(STORE_ANSWER, {"b_scope": "test", "b_key": "k1", "b_status": 200,
                                "b_response": {"sale_id": 7, "lines": ["a", "b"]}}),
        ])
    renamed, _ = run_in_transaction(work)
    assert len(renamed.rows) == 1
    assert store_names(program_id) == ["Rouen centre"]
    stored = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "k1"))
    assert (stored.status_code, stored.response) == (200, {"sale_id": 7, "lines": ["a", "b"]})


def test_a_sale_is_two_statements_on_postgresql(till, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs inside the process: its statements run one by one")
    card = till.customer(points=500)
    assert till.sell(card, total_minor=1000, redeem_points=10).status_code == 201
    sent, one_statement = [], statements._as_one_statement

    def watched(connection, steps, parts):
        sent.append([step.statement.table.name if step.statement.is_dml else "select"
                     for step in steps])
        return one_statement(connection, steps, parts)
    monkeypatch.setattr(statements, "_as_one_statement", watched)
    others = []
    listener = (lambda _conn, _cursor, sql, *_: others.append(sql))
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert till.sell(card, total_minor=2000, redeem_points=50).status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert others == []
    first_read, writes = sent
    assert first_read == ["idempotency_key", "select", "select"]
    assert sorted(set(writes)) == ["account", "daily_issuance", "idempotency_key",
                                   "ledger_entry", "lot_draw", "outbox_message", "point_lot",
                                   "sale", "sale_line"]
