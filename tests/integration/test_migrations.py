"""The migrations build exactly the schema the models describe, and can be undone."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from pos_loyalty.app import MIGRATIONS_DIR
from pos_loyalty.db import db


def test_migrated_schema_has_no_drift_from_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_empty_and_upgrade_again(app):
    db.session.remove()
    downgrade(directory=str(MIGRATIONS_DIR), revision="base")
    with db.engine.connect() as connection:
        tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(directory=str(MIGRATIONS_DIR))
    with db.engine.connect() as connection:
        assert "ledger_entry" in db.inspect(connection).get_table_names()


def test_undoing_0006_cancels_the_sms_still_waiting_for_their_text(app, till):
    till.sell(till.customer(), total_minor=1500)  # its SMS holds the event, no text yet
    db.session.remove()
    downgrade(directory=str(MIGRATIONS_DIR), revision="0005")
    try:
        with db.engine.connect() as connection:
            row = connection.execute(text(
                "SELECT status, body, segments, encoding, last_error FROM outbox_message")).one()
    finally:
        upgrade(directory=str(MIGRATIONS_DIR))
    assert tuple(row) == ("cancelled", "", 1, "GSM-7", "no text: migration 0006 was undone")
