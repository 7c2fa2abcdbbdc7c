"""Statements sent together: what comes back, what reaches the database, and when."""
import pytest
from sqlalchemy import bindparam, func, insert, select, update

from pos_loyalty import batch
from pos_loyalty.db import TryAgain, db, run_in_transaction
from pos_loyalty.errors import ConcurrentChange
from pos_loyalty.models import Program, Store

stores = Store.__table__
ADD_STORE = insert(stores)
STORE_NAMES = select(stores.c.name).where(stores.c.program_id == bindparam("program_id")) \
    .order_by(stores.c.name)
RENAME_STORE = (update(stores).where(stores.c.id == bindparam("store_id"))
                .values(name=bindparam("new_name")).returning(stores.c.id))


@pytest.fixture
def program_id(app):
    def make():
        program = Program(slug="batch", name="Batch", currency="EUR", timezone="Europe/Paris",
                          locale="fr_FR", rules={}, branding={})
        db.session.add(program)
        db.session.flush()
        return program.id
    return run_in_transaction(make)


def store_names(program_id):
    db.session.expire_all()
    return db.session.scalars(STORE_NAMES, {"program_id": program_id}).all()


def a_store(program_id, name):
    return batch.Step(ADD_STORE, {"program_id": program_id, "name": name})


def test_steps_sent_as_one_statement_bring_back_each_ones_rows(program_id):
    def work():
        return batch.run_together([
            a_store(program_id, "Lyon"),
            batch.Step(STORE_NAMES, {"program_id": program_id}),
            batch.Step(select(func.count()).select_from(stores), {}),
        ], as_one_statement=True)
    added, names, counted = run_in_transaction(work)
    assert added.rows == []
    # One statement: its parts all see the database as it was when it began.
    engine = db.engine.dialect.name
    assert names.rows == ([] if engine == "postgresql" else [("Lyon",)])
    assert counted.rows == ([(0,)] if engine == "postgresql" else [(1,)])
    assert store_names(program_id) == ["Lyon"]


def test_many_parameter_sets_of_one_step_write_one_row_each(program_id):
    run_in_transaction(lambda: batch.run_together([batch.Step(ADD_STORE, [
        {"program_id": program_id, "name": name} for name in ("Caen", "Brest", "Arles")])],
        as_one_statement=True))
    assert store_names(program_id) == ["Arles", "Brest", "Caen"]


def test_deferred_writes_wait_for_the_commit_and_go_together(program_id):
    def work():
        for name in ("Nantes", "Niort", "Nevers"):
            batch.defer(a_store(program_id, name))
        return len(db.session.info[batch.DEFERRED])
    assert run_in_transaction(work) == 3
    assert store_names(program_id) == ["Nantes", "Nevers", "Niort"]


def test_a_deferred_write_touching_other_rows_than_expected_commits_nothing(program_id):
    def work():
        batch.defer(a_store(program_id, "Nice"))
        batch.defer(batch.Step(RENAME_STORE, {"store_id": -1, "new_name": "Nowhere"}),
                    expect_rows=1, error=TryAgain)
    with pytest.raises(ConcurrentChange):
        run_in_transaction(work, retries=2)
    assert store_names(program_id) == []


def clashing_stores(program_id):
    """Two stores with one id: the second breaks the primary key."""
    for name in ("Metz", "Metz bis"):
        batch.defer(batch.Step(ADD_STORE, {"id": 990_001, "program_id": program_id,
                                           "name": name}))


def test_a_unique_violation_nobody_expected_is_a_conflict_to_retry(program_id):
    with pytest.raises(ConcurrentChange):
        run_in_transaction(lambda: clashing_stores(program_id), retries=0)
    assert store_names(program_id) == []


def test_rollback_forgets_deferred_writes(program_id):
    def work():
        batch.defer(a_store(program_id, "Tours"))
        raise ValueError("changed my mind")
    with pytest.raises(ValueError):
        run_in_transaction(work)
    run_in_transaction(lambda: None)
    assert store_names(program_id) == []


def test_a_riding_step_is_checked_before_the_caller_sees_its_rows(program_id):
    seen = []

    def refuse(outcome):
        seen.append(outcome.rows)
        raise LookupError("claimed already")

    def work():
        batch.send_with_next(batch.Step(STORE_NAMES, {"program_id": program_id}), refuse)
        batch.run_together([a_store(program_id, "Pau")])
    with pytest.raises(LookupError):
        run_in_transaction(work)
    assert seen == [[]]
    assert store_names(program_id) == []


def test_a_riding_step_never_sent_stops_the_commit(program_id):
    def work():
        batch.defer(a_store(program_id, "Albi"))
        batch.send_with_next(batch.Step(STORE_NAMES, {"program_id": program_id}),
                             lambda outcome: None)
    with pytest.raises(RuntimeError, match="never sent"):
        run_in_transaction(work)
    assert store_names(program_id) == []


def test_rollback_forgets_a_riding_step_too(program_id):
    checked = []

    def work():
        batch.send_with_next(batch.Step(STORE_NAMES, {"program_id": program_id}),
                             checked.append)
        raise ValueError("refused before any statement")
    with pytest.raises(ValueError):
        run_in_transaction(work)
    run_in_transaction(lambda: batch.run_together([a_store(program_id, "Dax")]))
    assert checked == []
    assert store_names(program_id) == ["Dax"]


def test_a_query_after_deferred_writes_sees_them(program_id):
    def work():
        batch.defer(a_store(program_id, "Vannes"))
        through_batch = batch.run_together([batch.Step(STORE_NAMES, {"program_id": program_id})])
        batch.defer(a_store(program_id, "Vichy"))
        through_session = db.session.scalars(STORE_NAMES, {"program_id": program_id}).all()
        return through_batch[0].rows, through_session
    assert run_in_transaction(work) == ([("Vannes",)], ["Vannes", "Vichy"])
