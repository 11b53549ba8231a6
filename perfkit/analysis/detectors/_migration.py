"""An index to add, as SQL and as an Alembic migration, when no plan made one.

With ``--app-db`` the EXPLAIN step proposes the index from the database's own
description of the table; without a database, the missing-index detector only
knows a table and its filter columns from the statement, and proposes the
index from those. Both write the migration with
:mod:`perfkit.analysis.index_migration`.
"""

from __future__ import annotations

import hashlib

from perfkit.analysis.index_migration import index_name, migration_text
from perfkit.analysis.model import Suggestion

#: sqlglot dialect names -> SQLAlchemy's, which the migration writer takes.
_SQLALCHEMY_DIALECTS = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}


def index_suggestion(
    table: str, columns: list[str], *, dialect: str | None, reason: str
) -> Suggestion:
    """The CREATE INDEX statement and a migration file adding the index.

    Args:
        table: The table the statement filters.
        columns: The index columns, in order.
        dialect: The sqlglot dialect of the statement, if known.
        reason: Why the index is proposed, shown as the suggestion's detail.
    """
    name = index_name(table, columns)
    listed = ", ".join(columns)
    engine = _SQLALCHEMY_DIALECTS.get(dialect or "", "")
    if engine == "postgresql":
        # A plain CREATE INDEX locks writes to the table while it builds.
        create = f"CREATE INDEX CONCURRENTLY {name} ON {table} ({listed});"
    else:
        create = f"CREATE INDEX {name} ON {table} ({listed});"
    revision = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    text = migration_text(
        name, table, columns, dialect=engine, revision=revision, reason=reason
    )
    return Suggestion(
        summary=f"Add an index on {table} ({listed})",
        detail=reason,
        code=create,
        files={f"{revision}_add_{name}.py": text},
    )
