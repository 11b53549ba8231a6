"""MySQL and MariaDB: tabular ``EXPLAIN`` in a read-only transaction.

Detection rule: a row with ``type = ALL`` reads the whole table; on a table
the statement filters or joins, that is a full scan. A row with a ``key`` is
an existing index in use, and so is a plan settled from the indexes alone
("Impossible WHERE noticed after reading const tables", "Select tables
optimized away"). The tabular form reads the same on MariaDB 10.11 and
MySQL 8; the cost comes from ``EXPLAIN FORMAT=JSON`` where the server gives
one (MySQL's ``query_cost``; MariaDB 10.x has none).

Safety: ``START TRANSACTION READ ONLY``, rolled back; the timeout is
``max_statement_time`` (MariaDB, seconds) or ``max_execution_time`` (MySQL,
milliseconds) plus ``lock_wait_timeout`` for metadata locks. Plain
``EXPLAIN`` plans without executing. PyMySQL connects without the
multi-statement flag, so the server refuses a second statement.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from perfkit.analysis.explain._report import RawPlan, TableAccess

_SHOWN = ("id", "select_type", "table", "type", "key", "ref", "rows", "Extra")
_SETTLED_BY_INDEX = (
    "Impossible WHERE noticed after reading const tables",
    "no matching row in const table",
    "Select tables optimized away",
)


def begin_read_only(connection: Any, timeout_ms: int, *, mariadb: bool) -> None:
    """Set the session's timeouts and open a read-only transaction."""
    with connection.cursor() as cursor:
        if mariadb:
            cursor.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
        else:
            cursor.execute(f"SET SESSION max_execution_time = {int(timeout_ms)}")
        lock_wait_s = max(1, math.ceil(timeout_ms / 1000))
        cursor.execute(f"SET SESSION lock_wait_timeout = {lock_wait_s}")
        cursor.execute("START TRANSACTION READ ONLY")


def explain(connection: Any, statement: str, aliases: Mapping[str, str]) -> RawPlan:
    """Plan a checked SELECT and read its scans, index use and cost.

    Args:
        connection: A PyMySQL connection set up by :func:`begin_read_only`.
        statement: A checked SELECT with literals in place of placeholders.
        aliases: Alias -> real table name; EXPLAIN names tables by alias.
    """
    with connection.cursor() as cursor:
        # No arguments: PyMySQL sends the text as it is, no % formatting.
        cursor.execute(f"EXPLAIN {statement}")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    lines: list[str] = []
    accesses: list[TableAccess] = []
    uses_index = False
    for row in rows:
        lines.append(" ".join(f"{key}={row.get(key)}" for key in _SHOWN if key in row))
        extra = str(row.get("Extra") or "")
        uses_index = uses_index or row.get("key") is not None
        uses_index = uses_index or any(text in extra for text in _SETTLED_BY_INDEX)
        name = row.get("table")
        if name is None or str(name).startswith("<"):
            continue  # derived tables, unions, subquery results
        accesses.append(
            TableAccess(
                table=aliases.get(str(name), str(name)),
                full_scan=row.get("type") == "ALL",
                weight=float(row["rows"]) if row.get("rows") is not None else None,
            )
        )
    return RawPlan(lines, accesses, uses_index, _json_cost(connection, statement))


def _json_cost(connection: Any, statement: str) -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN FORMAT=JSON {statement}")
        row = cursor.fetchone()
    block = json.loads(row[0]).get("query_block", {}) if row else {}
    cost = block.get("cost_info", {}).get("query_cost", block.get("cost"))
    return float(cost) if cost is not None else None
