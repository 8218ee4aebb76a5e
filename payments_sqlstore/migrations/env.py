"""Alembic environment: runs on the connection given by ``payments_sqlstore.schema``.

Revisions are applied with ``payments db upgrade`` (``payments_sqlstore.upgrade``), never
with a URL read from a file, so this environment needs no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from payments_sqlstore.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the payments migrations through payments_sqlstore.upgrade(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,  # SQLite and PostgreSQL both roll DDL back
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
