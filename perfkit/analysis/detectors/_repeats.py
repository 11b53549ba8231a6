"""Groups of calls repeated under one parent in one request.

Repeats are grouped by (request, anchor, key), never by their order in time,
so connection checkouts between the queries and repeats that overlap (async
code, ``asyncio.gather``) do not break a group up.

The anchor is a call's parent span, except when an ORM or a loop wraps each
call in its own INTERNAL span: a call that is the only one with its key under
a non-SERVER parent is lifted to the grandparent, up to ``MAX_LIFT`` levels,
so ten ``load_author`` spans with one query each group as ten repeats under
the span that looped. The lift stops at the request's own span.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.analysis._arrow import category_text
from perfkit.analysis.detectors._base import Context
from perfkit.analysis.grouped import group_codes, sort_by_group, union_sorted
from perfkit.ingest.schema import KIND_INTERNAL, KIND_UNSPECIFIED

#: How many wrapper levels a call may be lifted through to find its loop.
MAX_LIFT = 2

GROUP_COLUMNS = (
    "request",
    "anchor",
    "key",
    "service",
    "endpoint",
    "example",
    "count",
    "sum_ms",
    "union_ms",
    "window_ms",
    "first_start_ns",
    "last_end_ns",
    "max_ms",
    "distinct_params",
    "params_known",
    "saved_ms",
)


def anchors(calls: pd.DataFrame, context: Context) -> np.ndarray:
    """The span each call's repeats are grouped under (see the module docs)."""
    found, _ = _anchors(
        calls["request"].to_numpy(), calls["parent"].to_numpy(), calls["key"], context
    )
    return found


def _anchors(
    request: np.ndarray, parent_of: np.ndarray, key: pd.Series, context: Context
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The anchors, and the group codes of (request, anchor, key) when the
    last round computed them for these anchors (None after a last lift)."""
    kind = context.spans["kind"].to_numpy()
    parent = context.tree.parent
    anchor = parent_of.copy()
    for _ in range(MAX_LIFT):
        codes, first = group_codes(request, anchor, key)
        alone = np.bincount(codes)[codes] == 1
        safe = np.maximum(anchor, 0)
        wrapper = (anchor >= 0) & (anchor != request)
        wrapper &= np.isin(kind[safe], (KIND_INTERNAL, KIND_UNSPECIFIED))
        wrapper &= parent[safe] >= 0
        lift = alone & wrapper
        if not lift.any():
            return anchor, (codes, first)
        anchor = np.where(lift, parent[safe], anchor)
    return anchor, None


def repeat_groups(
    calls: pd.DataFrame, context: Context, *, within: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per (request, anchor, key) with what the repeats cost.

    Args:
        calls: Calls with ``request``, ``parent``, ``key``, ``start_ns``,
            ``end_ns``, ``duration_ms``, ``weight`` and ``param_id`` (the
            identity of the call's parameter values, NA when unknown).
        context: The analysis context.
        within: Group by these values (one per call) instead of by anchor
            span, over the whole request.

    Returns:
        The groups, with ``count`` (calls, composite spans expanded),
        ``sum_ms``, ``union_ms`` (overlaps counted once), ``window_ms`` (from
        the first call's start, ``first_start_ns``, to the last one's end,
        ``last_end_ns``), ``max_ms``,
        ``distinct_params``, ``params_known`` (every call's parameters seen),
        ``example`` (the position of the group's first call) and ``saved_ms``:
        ``union_ms - max_ms``, the time left if one call (the batched query,
        the reused result) took as long as the longest.
    """
    keep = (calls["request"].to_numpy() >= 0) & calls["key"].notna().to_numpy()
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in GROUP_COLUMNS})
    request = calls["request"].to_numpy()[rows]
    key = calls["key"].iloc[rows]
    grouped = None
    if within is None:
        anchor, grouped = _anchors(
            request, calls["parent"].to_numpy()[rows], key, context
        )
    else:
        anchor = within[rows]
    codes, first = grouped if grouped is not None else group_codes(request, anchor, key)
    n = len(first)
    duration = calls["duration_ms"].to_numpy(dtype=np.float64)[rows]
    start = calls["start_ns"].to_numpy()[rows]
    end = calls["end_ns"].to_numpy()[rows]
    weight = calls["weight"].to_numpy(dtype=np.float64)[rows]

    # One sort by (group, start) serves the union, the first start, the last
    # end and the longest call: each group's calls lie together in it.
    order = sort_by_group(codes, start)
    size = np.bincount(codes, minlength=n)
    begins = np.cumsum(size) - size
    sorted_start, sorted_end = start[order], end[order]
    union = union_sorted(
        codes[order], sorted_start, np.maximum(sorted_end, sorted_start), n
    )
    first_start = sorted_start[begins]
    last_end = np.maximum.reduceat(sorted_end, begins)
    max_ms = np.fmax.reduceat(duration[order], begins)

    # Distinct parameter values per group: the (group, value) pairs, counted.
    params = calls["param_id"].iloc[rows]
    known = params.notna().to_numpy(dtype=bool)
    if known.any():
        _, pair_first = group_codes(codes, params)
        firsts = pair_first[known[pair_first]]
        distinct = np.bincount(codes[firsts], minlength=n)
    else:
        distinct = np.zeros(n, dtype=np.int64)
    union_ms = union / 1e6
    out = pd.DataFrame(
        {
            "request": request[first],
            "anchor": anchor[first],
            "key": category_text(key, first),
            "service": category_text(calls["service"], rows[first]),
            "endpoint": category_text(calls["endpoint"], rows[first]),
            "example": calls.index.to_numpy()[rows[first]],
            "count": np.bincount(codes, weights=weight, minlength=n).astype(np.int64),
            "sum_ms": np.bincount(codes, weights=duration, minlength=n),
            "union_ms": union_ms,
            "first_start_ns": first_start,
            "last_end_ns": last_end,
            "window_ms": (last_end - first_start) / 1e6,
            "max_ms": max_ms,
            "distinct_params": distinct,
            "params_known": np.bincount(codes, weights=~known, minlength=n) == 0,
            "saved_ms": union_ms - max_ms,
        }
    )
    return out


def param_ids(calls: pd.DataFrame) -> pd.Series:
    """The identity of each database call's parameter values, NA when unknown.

    Inline literals identify them when the statement has any; otherwise the
    values recorded in attributes do; a fully parameterised statement with
    nothing recorded has unknown parameters.
    """
    return calls["params"].fillna(calls["recorded_params"])


def summarise(groups: pd.DataFrame) -> pd.DataFrame:
    """Flagged groups summed per request, then summarised per endpoint and key.

    Returns one row per (service, endpoint, key) with ``requests_affected``,
    ``saved_ms`` (mean per affected request), ``repeats_median`` and
    ``repeats_max`` (calls per request), ``sum_ms``, ``union_ms`` and
    ``window_ms`` (first start to last end; means per affected request),
    ``overlapping`` (some repeats ran at the same time),
    ``distinct_params`` (median per request, NaN when unknown) and the
    ``example`` call and ``anchor`` of the request that would gain most.
    """
    columns = ["service", "endpoint", "key"]
    known = groups["distinct_params"].where(groups["params_known"].astype(bool))
    per_request = (
        groups.assign(
            known=known, overlaps=groups["union_ms"] < groups["sum_ms"] - 1e-9
        )
        .sort_values("saved_ms", ascending=False)
        .groupby([*columns, "request"], sort=False)
        .agg(
            count=("count", "sum"),
            sum_ms=("sum_ms", "sum"),
            union_ms=("union_ms", "sum"),
            window_ms=("window_ms", "sum"),
            saved_ms=("saved_ms", "sum"),
            known=("known", "sum"),
            all_known=("params_known", "all"),
            overlaps=("overlaps", "any"),
            example=("example", "first"),
            anchor=("anchor", "first"),
        )
        .reset_index()
        .sort_values("saved_ms", ascending=False, kind="stable")
    )
    per_request["known"] = per_request["known"].where(per_request["all_known"])
    summary = per_request.groupby(columns, sort=False).agg(
        requests_affected=("request", "nunique"),
        saved_ms=("saved_ms", "mean"),
        repeats_median=("count", "median"),
        repeats_max=("count", "max"),
        sum_ms=("sum_ms", "mean"),
        union_ms=("union_ms", "mean"),
        window_ms=("window_ms", "mean"),
        overlapping=("overlaps", "any"),
        distinct_params=("known", "median"),
        example=("example", "first"),
        anchor=("anchor", "first"),
    )
    return summary.reset_index()
