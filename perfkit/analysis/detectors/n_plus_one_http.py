"""N+1 HTTP calls: one outgoing call per item, where one call could fetch all.

A group is the calls with one method and URL template (ids and hashes in the
path collapsed, query string dropped) under one anchor in one request (see
:mod:`~perfkit.analysis.detectors._repeats`); at least
``n_plus_one_http_min_count`` calls make an N+1.

Saving per request: the calls' wall time (overlaps counted once) minus the
longest call, standing for one batch request, or for the calls run
concurrently. Calls that already overlap can only gain from a batch endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from perfkit.analysis.detectors._base import Context, ms, records, without_port
from perfkit.analysis.detectors._repeats import repeat_groups, summarise
from perfkit.analysis.model import Finding, Suggestion

KIND = "n_plus_one_http"


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find loops of outgoing HTTP calls on every endpoint."""
    http = context.frames.http
    calls = http[(http["template"] != "").to_numpy(dtype=bool)]
    # Call parameters are never recorded: every repeat counts.
    unknown = pd.Series(pd.NA, index=calls.index, dtype="Int64")
    calls = calls.assign(key=calls["template"], param_id=unknown)
    groups = repeat_groups(calls, context)
    if groups.empty:
        return []
    minimum = context.setting_per_row(groups["endpoint"], "n_plus_one_http_min_count")
    flagged = groups[groups["count"] >= minimum]
    return [
        _finding(context, row, str(http.at[row["example"], "host"]))
        for row in records(summarise(flagged))
    ]


def _finding(context: Context, row: dict[str, Any], host: str) -> Finding:
    calls = int(row["repeats_median"])
    parent = context.span_name(row["anchor"])
    parallel = bool(row["overlapping"])
    evidence = {
        "url_template": row["key"],
        "host": host,
        "parent_span": parent,
        "count_per_request": row["repeats_median"],
        "max_count_per_request": int(row["repeats_max"]),
        "total_ms": round(row["sum_ms"], 3),
        "wall_ms": round(row["union_ms"], 3),
        "concurrent": parallel,
        "example_trace_id": context.trace_id(row["example"]),
    }
    if parallel:
        detail = (
            "The calls already run concurrently; what is left to gain is the round "
            "trips themselves: ask the service for all the items in one request."
        )
    else:
        detail = (
            "The calls run one after another. Ask the service for all the items in "
            "one request (a batch endpoint such as `GET /items?ids=1,2,3`); if it has "
            "none, run them concurrently (asyncio.gather with one httpx.AsyncClient)."
        )
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        without_port(row["key"]),
        title=f"N+1 HTTP calls: {calls} × {row['key']} per request",
        evidence=evidence,
        suggestion=Suggestion(
            summary="Fetch the items with one batch request, or call in parallel",
            detail=f"{detail} Saves about {ms(row['saved_ms'])} a request.",
        ),
        saved_ms_per_request=row["saved_ms"],
        requests_affected=row["requests_affected"],
    )
