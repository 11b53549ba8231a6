"""Slow external calls: outgoing calls to a host that hold an endpoint up.

Calls are grouped by (service, endpoint, host), the host being the span's
server address, else the URL's host, else the peer service. A host is slow
on an endpoint when its calls' p95 reaches ``slow_external_p95_ms`` or they
take ``external_share`` of the endpoint's time, and, either way:

* they cost the endpoint ``external_min_ms`` per request on average
  (requests that do not call the host count as 0), which keeps out fast
  hosts whatever their share;
* at least ``external_min_request_share`` of the endpoint's requests call
  the host. A slow host that a cache now answers for nearly every request
  (its misses), or a rare branch, shapes the endpoint's tail rather than the
  typical request: it shows in the endpoint's p99, not here.

Calls one after another under one parent, to two or more different URL
templates, *could run in parallel* (if they do not need each other's
answers). When the host's calls sit in such a sequence, and are not its
longest call, in at least half of the requests, the fix is to run them
concurrently and the saving is their time (the sequence then lasts as long
as its longest call). Otherwise the fix is a cache, a timeout or a faster
path, and the saving is the calls' wall time per request, which a cache hit
removes almost entirely; where calls to other hosts are in flight at the same
time, the host gets its even share of those moments only (see
:func:`_own_time`), so the savings of hosts called in parallel add up to the
time the request waited, not a multiple of it.

A host whose calls on the endpoint are all an N+1 already reported is not
reported again: the N+1 finding carries the calls' p95. When only some are,
the finding names the N+1 in ``see_also``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from perfkit.analysis.detectors._base import Context, ms, records, without_port
from perfkit.analysis.grouped import group_codes, percentiles, union_ns
from perfkit.analysis.model import Finding, Suggestion

KIND = "slow_external_call"


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find hosts whose calls slow an endpoint down."""
    http = context.frames.http
    has_host = (http["host"] != "").to_numpy(dtype=bool)
    calls = http[(http["request"].to_numpy() >= 0) & has_host]
    if calls.empty:
        return []
    calls = calls.assign(parallel_ms=_parallel_saving(calls))
    hosts = _per_host(calls, context)
    endpoints = hosts["endpoint"]
    p95_min = context.setting_per_row(endpoints, "slow_external_p95_ms")
    share_min = context.setting_per_row(endpoints, "external_share")
    cost_min = context.setting_per_row(endpoints, "external_min_ms")
    reach_min = context.setting_per_row(endpoints, "external_min_request_share")
    slow = (
        ((hosts["p95_ms"] >= p95_min) | (hosts["share"] >= share_min))
        & (hosts["cost_ms"] >= cost_min)
        & (hosts["reach"] >= reach_min)
    )
    n_plus_one = [f for f in found if f.kind == "n_plus_one_http"]
    findings = []
    for row in records(hosts[slow]):
        related = [
            f
            for f in n_plus_one
            if (f.service, f.endpoint, f.evidence.get("host"))
            == (row["service"], row["endpoint"], row["host"])
        ]
        covered = {f.evidence["url_template"] for f in related}
        if related and covered >= set(row["templates"]):
            continue
        findings.append(_finding(context, row, [f.id for f in related]))
    return findings


def _parallel_saving(calls: pd.DataFrame) -> np.ndarray:
    """Per call, the time it would stop costing if its sequence ran in parallel.

    A sequence is the calls under one parent in one request when there are two
    or more, to at least two templates, none overlapping another. Each call
    but the longest would then be hidden behind the longest.
    """
    codes, first = group_codes(calls["request"], calls["parent"])
    n = len(first)
    start, end = calls["start_ns"].to_numpy(), calls["end_ns"].to_numpy()
    duration = calls["duration_ms"].to_numpy(dtype=np.float64)
    by = pd.Series(duration).groupby(codes)
    sequential = (
        (np.bincount(codes, minlength=n) >= 2)
        & (
            pd.Series(calls["template"].cat.codes.to_numpy())
            .groupby(codes)
            .nunique()
            .to_numpy()
            >= 2
        )
        & np.isclose(union_ns(codes, start, end, n) / 1e6, by.sum().to_numpy())
    )
    longest = np.zeros(len(calls), dtype=bool)
    longest[by.idxmax().to_numpy()] = True
    return np.where(sequential[codes] & ~longest, duration, 0.0)


def _per_host(calls: pd.DataFrame, context: Context) -> pd.DataFrame:
    codes, first = group_codes(calls["service"], calls["endpoint"], calls["host"])
    n = len(first)
    duration = calls["duration_ms"].to_numpy(dtype=np.float64)

    # Per request first: the host's wall time and the part parallel calls save.
    per_request, request_first = group_codes(codes, calls["request"])
    k = len(request_first)
    start, end = calls["start_ns"].to_numpy(), calls["end_ns"].to_numpy()
    wall = union_ns(per_request, start, end, k) / 1e6
    own = _own_time(per_request, calls["request"].to_numpy(), start, end, k)
    parallel = np.bincount(
        per_request, weights=calls["parallel_ms"].to_numpy(), minlength=k
    )
    owner = codes[request_first]
    affected = np.bincount(owner, minlength=n)

    hosts = pd.DataFrame(
        {
            c: calls[c].iloc[first].to_numpy(dtype=object)
            for c in ("service", "endpoint", "host")
        }
    )
    hosts["calls"] = np.bincount(
        codes, weights=calls["weight"].to_numpy(float), minlength=n
    )
    hosts["p95_ms"] = percentiles(codes, duration, [95], n)[:, 0]
    hosts["requests_affected"] = affected
    hosts["wall_ms"] = np.bincount(owner, weights=wall, minlength=n) / affected
    hosts["own_ms"] = np.bincount(owner, weights=own, minlength=n) / affected
    hosts["parallel_ms"] = np.bincount(owner, weights=parallel, minlength=n) / affected
    hosts["parallel_requests"] = np.bincount(owner, weights=parallel > 0, minlength=n)
    total = np.array(
        [
            context.endpoint_total(s, e)
            for s, e in zip(hosts["service"], hosts["endpoint"], strict=True)
        ]
    )
    spent = np.bincount(owner, weights=wall, minlength=n)
    hosts["share"] = spent / np.where(total > 0, total, np.nan)
    served = np.array(
        [
            context.requests_on(s, e)
            for s, e in zip(hosts["service"], hosts["endpoint"], strict=True)
        ]
    )
    hosts["cost_ms"] = spent / np.maximum(served, 1)
    hosts["reach"] = affected / np.maximum(served, 1)
    # The distinct templates of each host, named from their codes.
    template = calls["template"].cat.codes.to_numpy()
    _, pair_first = group_codes(codes, template)
    names = calls["template"].cat.categories.to_numpy(dtype=object)
    listed = pd.Series(names[template[pair_first]]).groupby(codes[pair_first])
    hosts["templates"] = listed.agg(sorted).to_numpy()
    example = pd.Series(duration).groupby(codes).idxmax().to_numpy()
    hosts["example"] = calls.index.to_numpy()[example]
    return hosts


def _own_time(
    groups: np.ndarray, requests: np.ndarray, start: np.ndarray, end: np.ndarray, n: int
) -> np.ndarray:
    """Per group (one host in one request), its share of the request's time
    waiting on outgoing calls, in ms.

    Where calls to several hosts are in flight at once, each moment is shared
    evenly between the hosts waited on then, so a host's share is what it
    alone holds the request up by, and the shares of a request add up to its
    time in outgoing calls: three hosts called in parallel for 250 ms each
    get 83 ms, not 250 ms three times over.
    """
    # Each group's calls merged into disjoint segments.
    order = np.lexsort((start, groups))
    g, s, e = groups[order], start[order], np.maximum(end[order], start[order])
    reach = pd.Series(e).groupby(g).cummax().to_numpy()
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (s[1:] > reach[:-1])
    segment = np.cumsum(new) - 1
    seg_group = g[new]
    seg_start = s[new]
    seg_end = pd.Series(e).groupby(segment).max().to_numpy()
    seg_request = requests[order][new]

    # A sweep over the segments' ends, request by request: between two
    # events, the time is shared by the hosts whose segments are open.
    m = seg_start.size
    times = np.concatenate([seg_start, seg_end])
    delta = np.concatenate([np.ones(m, np.int64), -np.ones(m, np.int64)])
    request = np.concatenate([seg_request, seg_request])
    events = np.lexsort((delta, times, request))
    open_hosts = np.cumsum(delta[events])
    step = np.zeros(events.size)
    same = request[events][1:] == request[events][:-1]
    length = np.diff(times[events]).astype(np.float64)
    shared = np.where(same & (open_hosts[:-1] > 0), length, 0.0)
    step[:-1] = shared / np.maximum(open_hosts[:-1], 1)
    before = np.concatenate([[0.0], np.cumsum(step)[:-1]])
    position = np.empty(events.size, dtype=np.int64)
    position[events] = np.arange(events.size)
    share = before[position[m:]] - before[position[:m]]
    return np.bincount(seg_group, weights=share, minlength=n) / 1e6


def _finding(context: Context, row: dict[str, Any], see_also: list[str]) -> Finding:
    parallel = row["parallel_requests"] * 2 >= row["requests_affected"]
    saved = row["parallel_ms"] if parallel else row["own_ms"]
    evidence = {
        "host": row["host"],
        "url_templates": list(row["templates"]),
        "calls": int(row["calls"]),
        "count_per_request": round(row["calls"] / row["requests_affected"], 2),
        "p95_ms": round(row["p95_ms"], 3),
        "total_ms": round(row["wall_ms"], 3),
        "sequential": bool(parallel),
        "example_trace_id": context.trace_id(row["example"]),
        "see_also": see_also,
    }
    if parallel:
        title = f"Sequential external calls to {row['host']} could run in parallel"
        suggestion = Suggestion(
            summary="Run the independent external calls concurrently",
            detail=(
                "These calls wait for one another although they go to different "
                "URLs. If neither needs the other's answer, start them together "
                "(asyncio.gather with one httpx.AsyncClient, or a thread pool) and "
                f"set a timeout on each. Saves about {ms(saved)} a request."
            ),
        )
    else:
        title = f"Slow external calls to {row['host']}: p95 {ms(row['p95_ms'])}"
        overlap = ""
        if row["own_ms"] < row["wall_ms"] * 0.95:
            overlap = (
                " Calls to other hosts are in flight at the same time for part of "
                f"it, so speeding up {row['host']} alone saves about "
                f"{ms(row['own_ms'])} a request, its share of that time."
            )
        suggestion = Suggestion(
            summary="Cache the responses, and set a timeout on the calls",
            detail=(
                f"Calls to {row['host']} take {ms(row['wall_ms'])} per request "
                f"({row['share']:.0%} of the endpoint's time). Cache what does not "
                "change per request (a TTL cache keyed by the URL), give the client "
                "a timeout so a slow host cannot hold the request, and move calls "
                "whose answer the response does not need out of the request path."
                f"{overlap}"
            ),
        )
    if see_also:
        title += " (partly an N+1, reported on its own)"
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        without_port(row["host"]),
        title=title,
        evidence=evidence,
        suggestion=suggestion,
        saved_ms_per_request=saved,
        requests_affected=row["requests_affected"],
        confidence="medium" if parallel else "high",
    )
