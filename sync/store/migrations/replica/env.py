"""Alembic environment of the replica file (run by sync.store.migrate, never by the alembic CLI)."""

from alembic import context

from sync.store import schema

connection = context.config.attributes["connection"]
# Batch mode: SQLite cannot ALTER most things, so Alembic copies and renames tables.
context.configure(connection=connection, target_metadata=schema.replica, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
