"""Run the store's Alembic migrations from code, without an ``alembic.ini``.

:class:`~perfkit.store.Store` calls :func:`upgrade` when it opens a database, so
a store is always at the schema of the perfkit that opens it. The functions
here are also what the migration tests drive up and down.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from perfkit.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

logger = logging.getLogger(__name__)

#: The folder holding env.py and the versions.
MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest revision in ``migrations/versions``, known without importing
#: Alembic (half a second): a store already at it opens without Alembic. A
#: test checks it against Alembic's own answer.
HEAD: Final = "0001"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations.

    ``connection``, when given, is the open connection env.py migrates.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this perfkit knows, as Alembic finds it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (the newest by default).

    Raises:
        StoreError: the database was written by a newer perfkit, whose
            revision this one does not know.
    """
    if revision == "head" and _recorded_revision(engine) == HEAD:
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None and _unknown(script, current):
        raise StoreError(
            f"the store is at schema revision {current}, which this perfkit does "
            "not know; it was written by a newer perfkit, so upgrade perfkit"
        )
    head = script.get_current_head()
    if revision == "head" and current == head:
        return
    with engine.begin() as connection:
        # Two processes opening a new store at once must not both create it:
        # take the schema lock, then look again, since the other may have
        # migrated the store while this one waited.
        _lock_schema(connection)
        current = MigrationContext.configure(connection).get_current_revision()
        if revision == "head" and current == head:
            return
        logger.debug("migrating the store from %s to %s", current or "empty", revision)
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str = "base") -> None:
    """Migrate the database down to ``revision``; ``"base"`` drops every table."""
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def _lock_schema(connection: sa.Connection) -> None:
    # Held until the transaction ends. SQLite: the database's write lock,
    # taken at once (pysqlite would otherwise run the DDL outside any
    # transaction). PostgreSQL: an advisory lock, as DDL takes no lock that
    # would keep a second CREATE TABLE from running.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK}
        )


#: The PostgreSQL advisory lock key of schema migrations ("perfkit" in ASCII).
_SCHEMA_LOCK = int.from_bytes(b"perfkit", "big")


def _recorded_revision(engine: sa.Engine) -> str | None:
    # The revision in alembic_version, read with plain SQL; None when the
    # table is missing or holds other than one row.
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).all()
    except sa.exc.DBAPIError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is None
    except CommandError:
        return True
