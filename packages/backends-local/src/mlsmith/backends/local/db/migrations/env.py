"""Alembic environment: always runs on the connection handed in by ``migrate.upgrade_to_head``
(or a test), inside the caller's transaction."""

from __future__ import annotations

from alembic import context

from mlsmith.backends.local.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through SqlMetadataStore.migrate(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
