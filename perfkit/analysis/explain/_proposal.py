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
import json
import re

import sqlalchemy as sa

from perfkit import __version__
from perfkit.analysis.explain._report import IndexProposal
from perfkit.analysis.explain._session import MYSQL_PREFIX_LENGTH, TableInfo
from perfkit.analysis.sqlinfo import ColumnPredicate

#: PostgreSQL's identifier limit (MySQL allows 64).
_MAX_NAME = 63


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


def index_name(table: str, columns: list[str]) -> str:
    """``ix_<table>_<col>_<col>`` in lower case, hashed short past 63 characters."""
    name = "_".join(["ix", table, *columns]).lower()
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


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
        migration_text=_migration(
            name, table.name, columns, dialect.name, revision, prefixed
        ),
        migration_filename=f"{revision}_add_{safe_name}.py",
        advice=advice,
    )


def _migration(
    name: str,
    table: str,
    columns: list[str],
    dialect: str,
    revision: str,
    prefixed: set[str],
) -> str:
    """A complete Alembic migration file; every name is a Python literal."""
    # JSON strings, lists and objects of strings are valid Python literals too.
    create_args = [_literal(name), _literal(table), _literal(columns), "unique=False"]
    drop_args = [_literal(name), f"table_name={_literal(table)}"]
    if prefixed:
        lengths = dict.fromkeys(sorted(prefixed), MYSQL_PREFIX_LENGTH)
        create_args.append(f"mysql_length={_literal(lengths)}")
    if dialect == "postgresql":
        create_args.append("postgresql_concurrently=True")
        drop_args.append("postgresql_concurrently=True")
    create = _call("op.create_index", create_args)
    drop = _call("op.drop_index", drop_args)
    if dialect == "postgresql":
        block = "    with op.get_context().autocommit_block():\n"
        create = block + _indent(create, 8)
        drop = block + _indent(drop, 8)
        why = (
            "\n# CONCURRENTLY builds the index without blocking writes; PostgreSQL\n"
            "# refuses it inside a transaction, hence the autocommit blocks.\n"
        )
    else:
        create, drop, why = _indent(create, 4), _indent(drop, 4), ""
    summary = re.sub(r"[^A-Za-z0-9_, ]+", "_", f"{name} on {table}")
    return (
        f'"""Add index {summary}.\n\n'
        f"Proposed by perfkit {__version__} after the database's own query plan\n"
        "showed a full scan of the table.\n\n"
        f"Revision ID: {revision}\n"
        "Revises: set down_revision below\n"
        '"""\n\n'
        "from alembic import op\n\n"
        f"revision = {_literal(revision)}\n"
        "# Set this to your current head revision (`alembic heads` prints it);\n"
        "# None would start a second, unrelated history.\n"
        "down_revision = None\n"
        "branch_labels = None\n"
        "depends_on = None\n"
        f"{why}\n\n"
        f"def upgrade() -> None:\n{create}\n\n\n"
        f"def downgrade() -> None:\n{drop}\n"
    )


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)


def _call(function: str, args: list[str]) -> str:
    one_line = f"{function}({', '.join(args)})"
    if len(one_line) <= 80:
        return one_line
    return f"{function}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())
