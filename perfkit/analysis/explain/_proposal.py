"""The index that would remove a full scan, as SQL and as an Alembic migration.

Columns come in the order a B-tree index serves them: the columns compared
with a value by equality, then at most one compared by range (an index cannot
narrow on anything after a range column). When the statement compares the
table with values on no column, the columns it is joined on are used. A
proposal is dropped when an existing index, primary key or unique constraint
already leads with the same columns (in any order, when all are equalities).

On PostgreSQL the migration builds the index ``CONCURRENTLY`` so writes go
on while it builds; PostgreSQL refuses that inside a transaction, so the
migration runs it in Alembic's ``autocommit_block()``. ``create_sql`` stays
the plain statement, which is what a test or a small table wants.
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from perfkit.analysis.explain._report import IndexProposal
from perfkit.analysis.explain._session import TableInfo
from perfkit.analysis.index_migration import (
    MYSQL_PREFIX_LENGTH,
    index_name,
    migration_text,
)
from perfkit.analysis.sqlinfo import ColumnPredicate


def index_columns(
    table: TableInfo, predicates: list[ColumnPredicate], fallback: list[str]
) -> list[str]:
    """The columns of an index serving the statement's predicates on ``table``.

    Args:
        table: The table as the database describes it.
        predicates: Every predicate of the statement (other tables' ignored).
        fallback: Columns to use when no predicate names this table (the
            columns of SQLite's automatic index).
    """
    mine = [p for p in predicates if p.table == table.name]
    equal = [p.column for p in mine if p.kind == "equality" and p.source == "filter"]
    ranged = [p.column for p in mine if p.kind == "range" and p.source == "filter"]
    wanted = equal + ranged[:1]
    if not wanted:
        wanted = [p.column for p in mine if p.kind == "equality"] or fallback
    columns: list[str] = []
    for name in wanted:
        column = table.column(name)
        if column is not None and column not in columns:
            columns.append(column)
    return columns


def already_indexed(table: TableInfo, columns: list[str], *, unordered: bool) -> bool:
    """Whether an existing index leads with ``columns``.

    Args:
        table: The table as the database describes it.
        columns: The proposed index columns.
        unordered: Compare as a set (right when every column is an equality).
    """
    wanted = [c.lower() for c in columns]
    for existing in table.indexes:
        lead = [c.lower() for c in existing[: len(wanted)]]
        if lead == wanted or (unordered and sorted(lead) == sorted(wanted)):
            return True
    return False


def build(table: TableInfo, columns: list[str], dialect: sa.Dialect) -> IndexProposal:
    """The SQL, the migration and the advice for an index on ``table (columns)``."""
    name = index_name(table.name, columns)
    quote = dialect.identifier_preparer.quote
    prefixed = {c for c in columns if c in table.prefix_only}
    parts = ", ".join(
        quote(c) + (f"({MYSQL_PREFIX_LENGTH})" if c in prefixed else "")
        for c in columns
    )
    create_sql = f"CREATE INDEX {quote(name)} ON {quote(table.name)} ({parts});"
    if dialect.name in ("mysql", "mariadb"):
        drop_sql = f"DROP INDEX {quote(name)} ON {quote(table.name)};"
    else:
        drop_sql = f"DROP INDEX {quote(name)};"
    advice = (
        f"Add index {name} on {table.name} ({', '.join(columns)}) so the database "
        "can find the rows without reading the whole table."
    )
    if dialect.name == "postgresql":
        advice += (
            " On a table that takes writes, build it with CREATE INDEX CONCURRENTLY:"
            " writes go on meanwhile, but it cannot run inside a transaction, so the"
            " migration runs it in an autocommit block."
        )
    revision = hashlib.sha1(
        f"{dialect.name}:{table.name}:{columns}".encode(), usedforsecurity=False
    ).hexdigest()[:12]
    safe_name = re.sub(r"[^a-z0-9_]+", "_", name.lower())
    return IndexProposal(
        table=table.name,
        columns=columns,
        name=name,
        create_sql=create_sql,
        drop_sql=drop_sql,
        migration_text=migration_text(
            name,
            table.name,
            columns,
            dialect=dialect.name,
            revision=revision,
            reason="the database's own query plan showed a full scan of the table.",
            prefixed=prefixed,
        ),
        migration_filename=f"{revision}_add_{safe_name}.py",
        advice=advice,
    )
