"""Redundant queries: the same statement with the same values, again and again.

Executions of one fingerprint with identical known parameter values (inline
literals, or values recorded in attributes) anywhere in one request, at least
``redundant_min_count`` times. Where they are all under one parent with the
same values, they would be an N+1 if the values differed; here the result of
the first could simply be reused.

A statement already reported as an N+1 on the endpoint is not reported again:
its N+1 finding covers the duplicates (batching loads each row once).

Saving per request: the executions' wall time minus the longest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from perfkit.analysis.detectors._base import Context, ms, records
from perfkit.analysis.detectors._repeats import (
    param_ids,
    repeat_groups,
    summarise,
)
from perfkit.analysis.model import Finding, Suggestion

KIND = "redundant_query"


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find statements repeated with identical values within one request."""
    db = context.frames.db
    params = param_ids(db)
    known = params.notna().to_numpy()
    calls = db[known].assign(key=db["fingerprint"].array[known])
    calls["param_id"] = params.array[known]
    # Grouped by the values themselves, anywhere in the request.
    within = calls["param_id"].to_numpy(dtype=np.int64)
    groups = repeat_groups(calls, context, within=within)
    if groups.empty:
        return []
    flagged = groups[
        groups["count"]
        >= context.setting_per_row(groups["endpoint"], "redundant_min_count")
    ]
    n_plus_one = {
        (f.service, f.endpoint, f.evidence.get("fingerprint"))
        for f in found
        if f.kind == "n_plus_one_query"
    }
    rows = [
        row
        for row in records(summarise(flagged))
        if (row["service"], row["endpoint"], row["key"]) not in n_plus_one
    ]
    return [_finding(context, row) for row in rows]


def _finding(context: Context, row: dict[str, Any]) -> Finding:
    statement = context.statements.loc[row["key"]]
    table = (statement["tables"] or "").split(",")[0]
    repeats = int(row["repeats_median"])
    evidence = {
        "statement": statement["normalised"],
        "fingerprint": row["key"],
        "table": table or None,
        "count_per_request": row["repeats_median"],
        "max_count_per_request": int(row["repeats_max"]),
        "total_ms": round(row["sum_ms"], 3),
        "parameters": "identical",
        "example_trace_id": context.trace_id(row["example"]),
    }
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        row["key"],
        title=(
            f"Redundant query: the same {table + ' ' if table else ''}query "
            f"{repeats} times per request"
        ),
        evidence=evidence,
        suggestion=Suggestion(
            summary="Run the query once per request and reuse its result",
            detail=(
                f"The statement runs about {repeats} times per request with the same "
                "values. Keep the first result (a local variable, the ORM session's "
                "identity map via session.get(), or a request-scoped cache) instead "
                f"of asking again. Saves about {ms(row['saved_ms'])} a request."
            ),
        ),
        saved_ms_per_request=row["saved_ms"],
        requests_affected=row["requests_affected"],
    )
