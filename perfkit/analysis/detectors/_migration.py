"""An index to add, as SQL and as an Alembic migration, when no plan made one.

With ``--app-db`` the EXPLAIN helper proposes the index itself; without a
database, the missing-index detector only knows a table and its filter
columns, and writes the same kind of proposal from them.
"""

from __future__ import annotations

import hashlib

from perfkit.analysis.model import Suggestion

#: PostgreSQL's identifier limit, the shortest of the supported databases.
_MAX_NAME = 63

_MIGRATION = '''"""Add index {name} on {table} ({columns}).

Suggested by perfkit: {reason}

Revision ID: {revision}
Revises: set down_revision to your current head
"""

from alembic import op

revision = "{revision}"
down_revision = None  # your current head, e.g. "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def index_name(table: str, columns: list[str]) -> str:
    """``ix_<table>_<columns>``, shortened with a hash past 63 characters."""
    name = "_".join(["ix", table, *columns])
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def index_suggestion(
    table: str, columns: list[str], *, dialect: str | None, reason: str
) -> Suggestion:
    """The CREATE INDEX statement and a migration file adding the index."""
    name = index_name(table, columns)
    quoted = ", ".join(columns)
    listed = ", ".join(repr(c) for c in columns)
    postgres = dialect == "postgres"
    if postgres:
        # A plain CREATE INDEX locks writes to the table while it builds.
        create = f"CREATE INDEX CONCURRENTLY {name} ON {table} ({quoted});"
        upgrade = (
            "    with op.get_context().autocommit_block():\n"
            f"        op.create_index({name!r}, {table!r}, [{listed}],"
            " postgresql_concurrently=True)"
        )
        downgrade = (
            "    with op.get_context().autocommit_block():\n"
            f"        op.drop_index({name!r}, table_name={table!r},"
            " postgresql_concurrently=True)"
        )
    else:
        create = f"CREATE INDEX {name} ON {table} ({quoted});"
        upgrade = f"    op.create_index({name!r}, {table!r}, [{listed}])"
        downgrade = f"    op.drop_index({name!r}, table_name={table!r})"
    revision = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    text = _MIGRATION.format(
        name=name,
        table=table,
        columns=quoted,
        reason=reason,
        revision=revision,
        upgrade=upgrade,
        downgrade=downgrade,
    )
    return Suggestion(
        summary=f"Add an index on {table} ({quoted})",
        detail=reason,
        code=create,
        files={f"{revision}_add_{name}.py": text},
    )
