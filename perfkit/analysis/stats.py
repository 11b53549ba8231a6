"""Endpoint statistics: traffic, errors, latency percentiles and where time goes.

One row per (service, endpoint), computed over that service's SERVER spans:

* ``requests``, and ``throughput_rps``: requests divided by the length of the
  run, from the first request's start to the last one's end, the same window
  for every endpoint so that throughputs add up.
* ``errors`` / ``error_rate``: responses with HTTP status 500 or more, or with
  span status ERROR and no 4xx status. 4xx responses are the client's errors
  and are counted apart in ``client_errors`` / ``client_error_rate``.
* ``p50_ms``, ``p95_ms``, ``p99_ms``: percentiles of request duration with
  numpy's default linear interpolation, and ``p95_ci_low_ms`` /
  ``p95_ci_high_ms``, a 95% distribution-free interval on p95 from order
  statistics (NaN where the sample is too small to bound it).
* Per request, on average: ``db_ms_per_request`` (time with a database call
  in flight), ``external_ms_per_request`` (with an outgoing call in flight),
  ``self_ms_per_request`` (the rest: the service's own code),
  ``queries_per_request`` and ``external_calls_per_request``. Overlapping
  calls count once, so async code does not report more time than passed.
* ``enough_data``: whether the endpoint has ``min_requests_for_p95`` requests;
  ``rank`` orders the endpoints that do by p95, slowest first.

Rows come worst p95 first, endpoints without enough data last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfkit.analysis.frames import Frames
from perfkit.analysis.grouped import group_codes, percentile_ci, percentiles, union_ns
from perfkit.analysis.model import ENDPOINT_COLUMNS
from perfkit.config import Config

_NS_PER_MS = 1e6

#: The endpoint frame's columns: the documented ENDPOINT_COLUMNS, then the
#: counts and totals they are computed from.
STAT_COLUMNS = (
    *ENDPOINT_COLUMNS,
    "errors",
    "client_errors",
    "max_ms",
    "total_ms",
)


def request_breakdown(frames: Frames) -> pd.DataFrame:
    """Per request: database, external and own time, and the call counts.

    Returns the requests table with ``db_ms``, ``external_ms``, ``self_ms``,
    ``queries`` and ``external_calls`` added. Calls are clipped to their
    request's window, and overlapping calls count once.
    """
    requests = frames.requests
    n = len(requests)
    positions = requests.index.to_numpy()

    def clipped(calls: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        calls = calls[calls["request"].to_numpy() >= 0]
        row = np.searchsorted(positions, calls["request"].to_numpy())
        start = np.maximum(
            calls["start_ns"].to_numpy(), requests["start_ns"].to_numpy()[row]
        )
        end = np.minimum(calls["end_ns"].to_numpy(), requests["end_ns"].to_numpy()[row])
        return row, start, end

    db_row, db_start, db_end = clipped(frames.db)
    http_row, http_start, http_end = clipped(frames.http)
    both = union_ns(
        np.concatenate([db_row, http_row]),
        np.concatenate([db_start, http_start]),
        np.concatenate([db_end, http_end]),
        n,
    )
    queries = frames.db[(frames.db["request"] >= 0) & frames.db["fingerprint"].notna()]
    calls = frames.http[frames.http["request"] >= 0]
    out = requests.copy()
    out["db_ms"] = union_ns(db_row, db_start, db_end, n) / _NS_PER_MS
    out["external_ms"] = union_ns(http_row, http_start, http_end, n) / _NS_PER_MS
    out["self_ms"] = out["duration_ms"] - both / _NS_PER_MS
    out["queries"] = _count(positions, queries)
    out["external_calls"] = _count(positions, calls)
    return out


def _count(positions: np.ndarray, calls: pd.DataFrame) -> np.ndarray:
    row = np.searchsorted(positions, calls["request"].to_numpy())
    weights = calls["weight"].to_numpy(dtype=np.float64)
    return np.bincount(row, weights=weights, minlength=len(positions))


def endpoint_stats(requests: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per (service, endpoint); see the module docs for the columns.

    Args:
        requests: The output of :func:`request_breakdown`.
        config: Supplies ``min_requests_for_p95``.
    """
    if requests.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in STAT_COLUMNS})
        empty.attrs["min_requests_for_p95"] = config.min_requests_for_p95
        return empty
    codes, first = group_codes(requests["service"], requests["endpoint"])
    k = len(first)
    duration = requests["duration_ms"].to_numpy(dtype=np.float64)
    count = np.bincount(codes, minlength=k)

    def mean(column: str) -> np.ndarray:
        values = requests[column].to_numpy(dtype=np.float64)
        return np.bincount(codes, weights=values, minlength=k) / count

    def total(flags: pd.Series) -> np.ndarray:
        return np.bincount(codes, weights=flags.to_numpy(dtype=np.float64), minlength=k)

    window_ns = requests["end_ns"].max() - requests["start_ns"].min()
    window_s = window_ns / 1e9 if window_ns > 0 else np.nan
    p50, p95, p99 = percentiles(codes, duration, [50, 95, 99], k).T
    low, high = percentile_ci(codes, duration, 95, k)
    errors, client_errors = total(requests["error"]), total(requests["client_error"])
    stats = pd.DataFrame(
        {
            "service": requests["service"].to_numpy()[first],
            "endpoint": requests["endpoint"].to_numpy()[first],
            "requests": count,
            "throughput_rps": count / window_s,
            "errors": errors.astype(np.int64),
            "error_rate": errors / count,
            "client_errors": client_errors.astype(np.int64),
            "client_error_rate": client_errors / count,
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
            "p95_ci_low_ms": low,
            "p95_ci_high_ms": high,
            "mean_ms": mean("duration_ms"),
            "max_ms": pd.Series(duration).groupby(codes).max().to_numpy(),
            "total_ms": np.bincount(codes, weights=duration, minlength=k),
            "db_ms_per_request": mean("db_ms"),
            "external_ms_per_request": mean("external_ms"),
            "self_ms_per_request": mean("self_ms"),
            "queries_per_request": mean("queries"),
            "external_calls_per_request": mean("external_calls"),
            "enough_data": count >= config.min_requests_for_p95,
        }
    )
    ranked = stats["p95_ms"].where(stats["enough_data"])
    stats["rank"] = ranked.rank(method="first", ascending=False).astype("Int64")
    stats = stats.sort_values(
        ["enough_data", "p95_ms", "service", "endpoint"],
        ascending=[False, False, True, True],
        ignore_index=True,
    )
    stats.attrs["min_requests_for_p95"] = config.min_requests_for_p95
    return stats[list(STAT_COLUMNS)]


def top_endpoints(
    stats: pd.DataFrame, n: int = 5, *, min_requests: int | None = None
) -> pd.DataFrame:
    """The n slowest endpoints by p95, then those too thin to rank.

    Endpoints with ``enough_data`` are ranked by p95. An endpoint with too few
    requests is never ranked above them: it follows the ranked rows, with an
    empty rank and a ``note``, when its p95 would have placed it among them.

    Args:
        stats: The output of :func:`endpoint_stats`.
        n: How many endpoints to rank.
        min_requests: The ``min_requests_for_p95`` the stats were made with,
            quoted in the note; by default, the one :func:`endpoint_stats`
            recorded.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if min_requests is None:
        min_requests = int(stats.attrs.get("min_requests_for_p95", 20))
    ranked = stats[stats["rank"].notna() & (stats["rank"] <= n)].sort_values("rank")
    floor = ranked["p95_ms"].min() if len(ranked) == n else -np.inf
    thin = stats[~stats["enough_data"].astype(bool) & (stats["p95_ms"] > floor)]
    thin = thin.sort_values("p95_ms", ascending=False).head(n)
    out = pd.concat([ranked.assign(note=""), thin.assign(note="")], ignore_index=True)
    thin_rows = out["rank"].isna()
    out.loc[thin_rows, "note"] = [
        f"not enough data: {r} requests, {min_requests} needed for a p95"
        for r in out.loc[thin_rows, "requests"]
    ]
    return out
