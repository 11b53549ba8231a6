"""Slow queries: statements whose p95 on an endpoint reaches a threshold.

Any statement (not only SELECT) whose executions on an endpoint have a p95 of
at least ``slow_query_p95_ms``, unless a missing index was found to explain
it on that endpoint: that is reported as ``missing_index`` only.

The fix depends on the statement's shape, read with sqlglot: a SELECT with no
WHERE and no LIMIT reads a whole table; an aggregate can be kept up to date or
cached; a function around a filtered column (``lower(name) = ?``) or
``LIKE '%...'`` cannot use a plain b-tree index; ``SELECT *`` carries every
column. The plan (``--app-db``) says more, and the suggestion points there.

Saving per request: the executions' time above the threshold, what getting
the statement under it would save at least.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from perfkit.analysis.detectors._base import Context, ms, records
from perfkit.analysis.fingerprint import MAX_PARSED_CHARS, NON_SQL, scan_sql
from perfkit.analysis.model import Finding, Suggestion

KIND = "slow_query"


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find slow statements that a missing index does not explain."""
    stats = context.statement_stats
    groups = stats.groups
    if groups.empty:
        return []
    threshold = context.setting_per_row(groups["endpoint"], "slow_query_p95_ms")
    per_call = context.setting_per_row(stats.calls["endpoint"], "slow_query_p95_ms")
    duration = stats.calls["duration_ms"].to_numpy(dtype=np.float64)
    above = stats.per_group(np.maximum(duration - per_call, 0.0))
    explained = {
        (f.service, f.endpoint, fingerprint)
        for f in found
        if f.kind == "missing_index"
        for fingerprint in f.evidence.get("fingerprints", [f.evidence["fingerprint"]])
    }
    findings = []
    slow = groups["p95_ms"].to_numpy() >= threshold
    for i, row in enumerate(records(groups)):
        if (
            not slow[i]
            or (row["service"], row["endpoint"], row["fingerprint"]) in explained
        ):
            continue
        saved = above[i] / row["requests_affected"]
        findings.append(_finding(context, row, saved, threshold[i]))
    return findings


def hints(statement: str, dialect: str | None = None) -> list[str]:
    """What in a statement's shape commonly makes it slow, as advice.

    Give the raw statement where there is one: a leading wildcard in a LIKE
    shows only in its literal.
    """
    if dialect == NON_SQL or len(statement) > MAX_PARSED_CHARS:
        return []
    try:
        tree = sqlglot.parse_one(statement, dialect=dialect)
    except (SqlglotError, RecursionError, ValueError):
        return []
    if not isinstance(tree, exp.Select):
        return []
    found = []
    if tree.args.get("where") is None and tree.args.get("limit") is None:
        found.append(
            "It has no WHERE and no LIMIT, so it reads the whole table: filter it, "
            "or paginate with LIMIT and a keyset."
        )
    if tree.args.get("group") is not None or tree.find(exp.AggFunc) is not None:
        found.append(
            "It aggregates on every request: keep the result in a summary table or "
            "cache it for a short time."
        )
    wrapped = _wrapped_column(tree)
    if wrapped:
        found.append(
            f"It filters on {wrapped}: a function around the column keeps a plain "
            "index from being used; index the expression itself, or store the "
            "value already transformed."
        )
    if any(_leading_wildcard(like) for like in tree.find_all(exp.Like, exp.ILike)):
        found.append(
            "LIKE with a leading wildcard cannot use a b-tree index: use full-text "
            "search or a trigram index."
        )
    if any(e.is_star for e in tree.expressions):
        found.append("It selects every column: name only the columns it needs.")
    if tree.args.get("order") is not None and tree.args.get("limit") is None:
        found.append(
            "It sorts the whole result: add a LIMIT, or an index matching the ORDER BY."
        )
    return found


_COMPARISONS = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In)


def _wrapped_column(tree: exp.Expr) -> str | None:
    """The first WHERE comparison of a function of a column, as written."""
    where = tree.args.get("where")
    for comparison in where.find_all(*_COMPARISONS) if where is not None else ():
        side = comparison.this
        if isinstance(side, exp.Func) and side.find(exp.Column) is not None:
            # The raw statement's values are in it: COALESCE(email, 'x').
            return scan_sql(side.sql()).key
    return None


def _leading_wildcard(like: exp.Expr) -> bool:
    pattern = like.expression
    return isinstance(pattern, exp.Literal) and str(pattern.this).startswith("%")


def _finding(
    context: Context, row: dict[str, Any], saved: float, threshold: float
) -> Finding:
    statement = context.statements.loc[row["fingerprint"]]
    table = (statement["tables"] or "").split(",")[0]
    # A statement of a database sqlglot has no dialect for (Redis, MongoDB)
    # sits beside SQL ones with a missing dialect: NaN or pd.NA, never None.
    dialect = None if pd.isna(statement["dialect"]) else str(statement["dialect"])
    advice = hints(statement["example"], dialect)
    evidence = {
        "statement": statement["normalised"],
        "fingerprint": row["fingerprint"],
        "table": table or None,
        "calls": int(row["calls"]),
        "count_per_request": round(row["calls"] / row["requests_affected"], 2),
        "total_ms": round(row["total_ms"] / row["requests_affected"], 3),
        "p95_ms": round(row["p95_ms"], 3),
        "mean_ms": round(row["mean_ms"], 3),
        "threshold_ms": threshold,
        "example_trace_id": context.trace_id(row["example"]),
        "hints": advice,
    }
    plan = (
        "Look at its plan: run perfkit with --app-db pointing at the application's "
        "database, or EXPLAIN it there."
    )
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        row["fingerprint"],
        title=(
            f"Slow query{f' on {table}' if table else ''}: p95 {ms(row['p95_ms'])} "
            f"over {int(row['calls'])} calls"
        ),
        evidence=evidence,
        suggestion=Suggestion(
            summary=advice[0]
            if advice
            else f"Make the {table + ' ' if table else ''}query faster",
            detail=" ".join([*advice, plan]),
        ),
        saved_ms_per_request=saved,
        requests_affected=int(row["requests_affected"]),
    )
