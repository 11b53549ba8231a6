"""SQLite: ``EXPLAIN QUERY PLAN`` on a file opened read-only.

Detection rule: a ``SCAN <table>`` line with no ``USING`` part reads the whole
table; on a table the statement filters or joins, that is a full scan.
``SEARCH <table> USING AUTOMATIC [COVERING|PARTIAL] INDEX (col=?)`` is a
stronger sign still: SQLite found no index, so it builds a temporary one on
every run of the query. Any other ``USING ... INDEX`` or ``USING INTEGER
PRIMARY KEY`` is an existing index in use. SQLite reports no cost.

Safety: the file is opened with ``mode=ro`` (SQLite refuses every write),
``PRAGMA query_only`` is set, the statement runs inside ``BEGIN`` ...
``ROLLBACK``, and the standard library's driver refuses more than one
statement. The timeout is both a busy timeout (waiting for a lock another
connection holds) and a progress handler that interrupts the statement.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from perfkit.analysis.explain._report import RawPlan, TableAccess

#: "SCAN books", "SCAN TABLE books AS b", "SEARCH b USING INDEX ix (year=?)".
_ACCESS = re.compile(
    r"^(?P<op>SCAN|SEARCH)(?: TABLE)? (?P<name>\S+)(?: AS (?P<alias>\S+))?"
    r"(?: USING (?P<using>.*))?$"
)
_AUTOMATIC_COLUMN = re.compile(r"(\w+)\s*(?:=|>|<|IS\b)")
#: Virtual machine steps between two checks of the deadline.
_PROGRESS_STEPS = 1000


def begin_read_only(connection: Any, timeout_ms: int) -> None:
    """Arm the timeout and open a read-only transaction on a sqlite3 connection."""
    deadline = time.monotonic() + timeout_ms / 1000
    connection.set_progress_handler(
        lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS
    )
    connection.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    connection.execute("PRAGMA query_only = ON")
    connection.execute("BEGIN")


def explain(connection: Any, statement: str, aliases: Mapping[str, str]) -> RawPlan:
    """Run ``EXPLAIN QUERY PLAN`` and read which tables are scanned.

    Args:
        connection: A sqlite3 connection set up by :func:`begin_read_only`.
        statement: A checked SELECT with literals in place of placeholders.
        aliases: Alias -> real table name, from the statement.
    """
    cursor: sqlite3.Cursor = connection.execute(f"EXPLAIN QUERY PLAN {statement}")
    rows = cursor.fetchall()
    depth: dict[int, int] = {0: -1}
    lines: list[str] = []
    accesses: list[TableAccess] = []
    uses_index = False
    for node_id, parent, _, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + str(detail))
        match = _ACCESS.match(str(detail))
        if match is None:
            continue
        table = aliases.get(match["name"], match["name"])
        using = match["using"] or ""
        automatic = "AUTOMATIC" in using
        uses_index = uses_index or bool(using and not automatic)
        accesses.append(
            TableAccess(
                table=table,
                full_scan=(match["op"] == "SCAN" and not using) or automatic,
                automatic_index=_AUTOMATIC_COLUMN.findall(using) if automatic else [],
            )
        )
    return RawPlan(lines=lines, accesses=accesses, uses_index=uses_index, cost=None)
