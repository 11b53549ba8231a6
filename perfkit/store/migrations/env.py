"""Alembic environment for the span store.

perfkit runs its migrations itself when a store is opened (see
:mod:`perfkit.store.migrate`), handing over an open connection through
``config.attributes["connection"]``; no ``alembic.ini`` is needed. Offline mode
(``alembic upgrade --sql``) writes the DDL for the URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context

from perfkit.store.tables import metadata

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    # Batch mode lets later migrations alter tables on SQLite, which has no
    # ALTER COLUMN.
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
