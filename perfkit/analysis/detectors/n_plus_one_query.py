"""N+1 queries: one statement run once per row of an earlier result.

A group is the calls with one statement fingerprint under one anchor (see
:mod:`~perfkit.analysis.detectors._repeats`) in one request. It is an N+1 when
it has at least ``n_plus_one_min_count`` calls and their parameters differ.

Whether parameters differ: statements with inline values are compared by
those values; parameterised statements (``?``, ``%s``) by the values recorded
in ``db.statement.parameters`` or ``db.query.parameter.*``. Most
instrumentations record neither (SQLAlchemy never does), and then the values
are unknown and assumed to differ: the finding says so, with medium
confidence. Repeats with identical known values are a redundant query instead.

Saving per request: the loop's time from the first repeat's start to the last
one's end, minus the longest repeat, which stands for the one batched query
that replaces them. The time between the repeats counts because it is mostly
the per-row round trip through the ORM and the driver (checkout, compile,
fetch, build the objects) that batching removes; where several N+1 groups
share one loop, that time is split evenly between them. Other recorded calls
inside the loop (other statements, outgoing HTTP calls) do not count: batching
these queries leaves them where they are. On the demo shop this
estimate is close to what eager loading really saved, while counting database
time alone under-estimates it several times over; it is an upper bound when
the loop also does other work per row. The database time alone is in the
evidence as ``total_ms`` and ``wall_ms``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from perfkit.analysis.detectors._base import Context, ms, records
from perfkit.analysis.detectors._repeats import (
    param_ids,
    repeat_groups,
    summarise,
)
from perfkit.analysis.fingerprint import NON_SQL, batch_rewrite
from perfkit.analysis.grouped import union_ns
from perfkit.analysis.model import Finding, Suggestion

KIND = "n_plus_one_query"


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find N+1 queries on every endpoint."""
    db = context.frames.db
    calls = db.assign(key=db["fingerprint"], param_id=param_ids(db))
    groups = repeat_groups(calls, context)
    if groups.empty:
        return []
    differing = ~groups["params_known"].astype(bool) | (groups["distinct_params"] >= 2)
    minimum = context.setting_per_row(groups["endpoint"], "n_plus_one_min_count")
    flagged = groups[differing & (groups["count"] >= minimum)].copy()
    between = (flagged["window_ms"] - _covered_ms(context, flagged)).clip(lower=0.0)
    sharing = flagged.groupby(["request", "anchor"])["key"].transform("size")
    flagged["saved_ms"] = flagged["saved_ms"] + between / sharing
    return [_finding(context, row) for row in records(summarise(flagged))]


def _covered_ms(context: Context, groups: pd.DataFrame) -> np.ndarray:
    """Per group, the time within its loop that recorded calls take: its own
    queries, other statements and outgoing HTTP calls of the request.

    The rest of the loop is the per-row work batching removes; the calls are
    not (an HTTP call per row is an N+1 of its own, reported on its own).
    Calls without a statement (connection checkouts) are part of the per-row
    round trip, and stay in the rest.
    """
    db, http = context.frames.db, context.frames.http
    calls = pd.concat(
        [
            db.loc[db["fingerprint"].notna(), ["request", "start_ns", "end_ns"]],
            http[["request", "start_ns", "end_ns"]],
        ],
        ignore_index=True,
    )
    windows = pd.DataFrame(
        {
            "request": groups["request"].to_numpy(),
            "group": np.arange(len(groups)),
            "low": groups["first_start_ns"].to_numpy(dtype=np.int64),
            "high": groups["last_end_ns"].to_numpy(dtype=np.int64),
        }
    )
    pairs = windows.merge(calls, on="request")
    start = np.maximum(pairs["start_ns"].to_numpy(), pairs["low"].to_numpy())
    end = np.minimum(pairs["end_ns"].to_numpy(), pairs["high"].to_numpy())
    covered = union_ns(pairs["group"].to_numpy(), start, end, len(groups))
    return covered / 1e6


def _finding(context: Context, row: dict[str, Any]) -> Finding:
    statement = context.statements.loc[row["key"]]
    table = (statement["tables"] or "").split(",")[0]
    repeats = int(row["repeats_median"])
    what = f"queries on {table}" if table else f"× {statement['normalised'][:80]}"
    parent = context.span_name(row["anchor"])
    known = not pd.isna(row["distinct_params"])
    batch = batch_rewrite(statement["normalised"])
    evidence = {
        "statement": statement["normalised"],
        "fingerprint": row["key"],
        "operation": statement["operation"],
        "table": table or None,
        "parent_span": parent,
        "count_per_request": row["repeats_median"],
        "max_count_per_request": int(row["repeats_max"]),
        "total_ms": round(row["sum_ms"], 3),
        "wall_ms": round(row["union_ms"], 3),
        # The loop's whole time, the ORM's work between the queries included.
        "loop_ms": round(row["window_ms"], 3),
        "overlapping": bool(row["overlapping"]),
        "parameters": "differ" if known else "not recorded; assumed to differ",
        "distinct_parameter_sets": row["distinct_params"] if known else None,
        "example_trace_id": context.trace_id(row["example"]),
        "batched_statement": batch.statement if batch else None,
    }
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        row["key"],
        title=f"N+1 query: {repeats} {what} per request under {parent!r}",
        evidence=evidence,
        suggestion=_suggestion(statement, table or "the table", batch, repeats, row),
        saved_ms_per_request=row["saved_ms"],
        requests_affected=row["requests_affected"],
        confidence="high" if known else "medium",
    )


def _suggestion(
    statement: pd.Series, table: str, batch: Any, repeats: int, row: dict[str, Any]
) -> Suggestion:
    operation = statement["operation"]
    if str(statement["dialect"]) == NON_SQL:
        return Suggestion(
            summary=f"Fetch the {repeats} items in one round trip, not one each",
            detail="The same command runs once per item. Ask for all the items at "
            "once: MGET or a pipeline in Redis, one find() with $in in MongoDB, "
            f"a multi-get in a search engine. Saves about {ms(row['saved_ms'])} "
            "a request.",
        )
    if operation == "INSERT":
        return Suggestion(
            summary=f"Insert the {table} rows in one statement instead of {repeats}",
            detail="Add the objects with session.add_all() and flush once, or "
            "execute one insert() with a list of parameter sets (executemany).",
        )
    if operation in ("UPDATE", "DELETE"):
        return Suggestion(
            summary=f"Run one {operation} on {table} for all the rows, not one each",
            detail="Collect the keys and issue one statement with an IN list.",
            code=batch.statement if batch else None,
        )
    loader = _loader(table, batch.column if batch else None)
    detail = (
        f"Each request runs this query about {repeats} times, once per row of an "
        f"earlier result: a relationship loaded lazily inside a loop. Eager-load it "
        f"in the query that fetches those rows, e.g. `.options({loader})` in "
        f"SQLAlchemy (prefetch_related in Django), or collect the keys and run one "
        f"query with an IN list. Saves about {ms(row['saved_ms'])} a request"
        f"{_why_more_than_the_queries(row)}."
    )
    return Suggestion(
        summary=f"Load the {table} rows in one query: selectinload() or one IN query",
        detail=detail,
        code=batch.statement if batch else None,
    )


def _why_more_than_the_queries(row: dict[str, Any]) -> str:
    """Why the saving exceeds the queries' own time, when it does."""
    if row["saved_ms"] <= row["sum_ms"]:
        return ""
    return (
        f": the queries take {ms(row['sum_ms'])} in the database, but the loop "
        f"that issues them takes {ms(row['window_ms'])}, since every lazy load "
        "is a round trip through the ORM and the driver"
    )


def _loader(table: str, column: str | None) -> str:
    """A guess at the eager load to write, from the table and the loop column."""
    name = (column or "").rpartition(".")[2]
    if name.endswith("_id"):
        owner = "".join(part.title() for part in name[:-3].split("_"))
        return f"selectinload({owner}.{table})"
    singular = table[:-1] if table.endswith("s") else table
    return f"selectinload(<Model>.{singular})"
