"""Alembic environment: runs on the connection given by ``payments_sqlstore.schema``.

Revisions are applied with ``payments db upgrade`` (``payments_sqlstore.upgrade``), never
with a URL read from a file, so this environment needs no ``alembic.ini``. The layout
(``payments_sqlstore.layout``) names our tables and our version table, so that our
schema and its history can live beside another application's, Alembic's included.
"""

from __future__ import annotations

from alembic import context

from payments_sqlstore.migrations.naming import layout
from payments_sqlstore.tables import tables_for

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the payments migrations through payments_sqlstore.upgrade(url)")
ours = layout()

context.configure(
    connection=connection,
    target_metadata=tables_for(ours.table_prefix).metadata,
    version_table=ours.version_table,
    transactional_ddl=True,  # SQLite and PostgreSQL both roll DDL back
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
