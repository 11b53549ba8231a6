"""An index to add, as an Alembic migration with upgrade and downgrade.

Both paths to a missing index write their migration here: the one a query
plan proved (:mod:`perfkit.analysis.explain`) and the one inferred from a
statement alone (:mod:`perfkit.analysis.detectors.missing_index`). Table and
column names come from traces, so they are untrusted: every name enters the
file as a JSON literal (which Python reads as the same string) and the
docstring keeps only plain characters, so a hostile name cannot become code.
"""

from __future__ import annotations

import hashlib
import json
import re

from perfkit._version import __version__

#: PostgreSQL's identifier limit (MySQL allows 64).
_MAX_NAME = 63
#: Characters of a MySQL TEXT/BLOB column an index can cover (utf8mb4, 767 bytes).
MYSQL_PREFIX_LENGTH = 191


def index_name(table: str, columns: list[str]) -> str:
    """``ix_<table>_<col>_<col>`` in lower case, hashed short past 63 characters."""
    name = "_".join(["ix", table, *columns]).lower()
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def migration_text(
    name: str,
    table: str,
    columns: list[str],
    *,
    dialect: str,
    revision: str,
    reason: str,
    prefixed: set[str] | frozenset[str] = frozenset(),
) -> str:
    """A complete Alembic migration file adding the index, and its downgrade.

    Args:
        name: The index name (see :func:`index_name`).
        table: The table, as the statement or the database names it.
        columns: The index columns, in order.
        dialect: SQLAlchemy's dialect name: ``postgresql`` builds the index
            concurrently in an autocommit block; others build it plainly.
        revision: The migration's revision id.
        reason: Why perfkit proposes it, one sentence for the docstring.
        prefixed: MySQL TEXT/BLOB columns that need a prefix length.
    """
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
        f"Proposed by perfkit {__version__}: {_inert(reason)}\n\n"
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


def _inert(text: str) -> str:
    """Text that cannot end the docstring it is written into."""
    return re.sub(r'["\\]+', "'", " ".join(text.split()))


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)


def _call(function: str, args: list[str]) -> str:
    one_line = f"{function}({', '.join(args)})"
    if len(one_line) <= 80:
        return one_line
    return f"{function}(\n" + "".join(f"    {arg},\n" for arg in args) + ")"


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())
