"""PostgreSQL: ``EXPLAIN (FORMAT JSON)`` in a read-only transaction.

Detection rule: a ``Seq Scan`` node (parallel or not) that has a ``Filter``
reads every row of its table to keep some; on a table the statement filters
or joins, that is a full scan. ``Index Scan``, ``Index Only Scan`` and
``Bitmap Index Scan`` nodes are existing indexes in use. The cost is the root
node's ``Total Cost``.

With the hypopg extension installed in the database, the proposed index is
created hypothetically (it exists only in this connection's memory; nothing
is written), the statement is planned again, and the new total cost is
reported; the hypothetical index is dropped straight after. Where hypopg is
not installed that step is skipped: perfkit never installs extensions.

Safety: ``SET TRANSACTION READ ONLY`` comes first in the transaction, then
``SET LOCAL statement_timeout`` and ``lock_timeout``; the transaction is
rolled back. Plain ``EXPLAIN`` plans without executing (never ``ANALYZE``),
and psycopg sends it as a prepared statement, which PostgreSQL refuses to
run if it holds more than one command.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from perfkit.analysis.explain._report import RawPlan, TableAccess

_INDEX_NODES = frozenset({"Index Scan", "Index Only Scan", "Bitmap Index Scan"})
_DETAIL_KEYS = (
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
)


def begin_read_only(connection: Any, timeout_ms: int) -> None:
    """Open a read-only transaction with a statement and lock timeout."""
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        cursor.execute(f"SET LOCAL lock_timeout = {int(timeout_ms)}")


def explain(connection: Any, statement: str) -> RawPlan:
    """Plan a checked SELECT and read its scans, index use and cost.

    Args:
        connection: A psycopg connection set up by :func:`begin_read_only`.
        statement: A checked SELECT with literals in place of placeholders.
    """
    root = _plan(connection, statement)
    lines: list[str] = []
    accesses: list[TableAccess] = []
    uses_index = False
    for node, depth in _walk(root, 0):
        lines += _describe(node, depth)
        uses_index = uses_index or node["Node Type"] in _INDEX_NODES
        if "Relation Name" in node:
            accesses.append(
                TableAccess(
                    table=node["Relation Name"],
                    full_scan=node["Node Type"] == "Seq Scan" and "Filter" in node,
                    weight=float(node.get("Total Cost", 0.0)),
                )
            )
    return RawPlan(lines, accesses, uses_index, float(root["Total Cost"]))


def hypopg_schema(connection: Any) -> str | None:
    """The schema hypopg is installed in, or ``None`` when it is not."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'"
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def cost_with_index(
    connection: Any, statement: str, schema: str, table: str, columns: list[str]
) -> float:
    """The plan's total cost with a hypothetical index on ``table (columns)``."""
    from psycopg import sql  # an optional dependency, there when this runs

    create = sql.SQL("CREATE INDEX ON {} ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT indexrelid FROM {}.hypopg_create_index(%s)").format(
                sql.Identifier(schema)
            ),
            (create.as_string(connection),),
        )
        row = cursor.fetchone()
        assert row is not None
        try:
            return float(_plan(connection, statement)["Total Cost"])
        finally:
            # Hypothetical indexes outlive a rollback; drop ours now.
            cursor.execute(
                sql.SQL("SELECT {}.hypopg_drop_index(%s)").format(
                    sql.Identifier(schema)
                ),
                (row[0],),
            )


def _plan(connection: Any, statement: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        # prepare=True: the extended protocol, one command only, no % parsing.
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", prepare=True)
        row = cursor.fetchone()
    assert row is not None
    document = row[0]
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def _walk(node: dict[str, Any], depth: int) -> Iterator[tuple[dict[str, Any], int]]:
    yield node, depth
    for child in node.get("Plans", []):
        yield from _walk(child, depth + 1)


def _describe(node: dict[str, Any], depth: int) -> list[str]:
    """Plan node lines in the shape of PostgreSQL's text format."""
    title = node["Node Type"]
    if "Index Name" in node:
        title += f" using {node['Index Name']}"
    if "Relation Name" in node:
        alias = node.get("Alias", node["Relation Name"])
        title += f" on {node['Relation Name']}"
        title += f" {alias}" if alias != node["Relation Name"] else ""
    title += (
        f"  (cost={node.get('Startup Cost', 0):.2f}..{node.get('Total Cost', 0):.2f}"
        f" rows={node.get('Plan Rows', 0)})"
    )
    indent = "  " * depth
    lines = [indent + ("-> " if depth else "") + title]
    lines += [f"{indent}     {key}: {node[key]}" for key in _DETAIL_KEYS if key in node]
    return lines
