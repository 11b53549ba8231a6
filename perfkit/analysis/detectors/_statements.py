"""Per-endpoint statistics of each statement, shared by the query detectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perfkit.analysis.grouped import group_codes, percentiles

if TYPE_CHECKING:
    from perfkit.analysis.detectors._base import Context

_COLUMNS = (
    "service",
    "endpoint",
    "fingerprint",
    "calls",
    "p95_ms",
    "total_ms",
    "mean_ms",
    "requests_affected",
    "example",
)


@dataclass(frozen=True)
class StatementStats:
    """One row per (service, endpoint, fingerprint), and each call's row.

    Attributes:
        groups: ``service``, ``endpoint``, ``fingerprint``, ``calls``,
            ``p95_ms``, ``mean_ms``, ``total_ms``, ``requests_affected`` and
            ``example`` (the position of the slowest call).
        calls: The calls, with ``code``, the row of their group.
    """

    groups: pd.DataFrame
    calls: pd.DataFrame

    def per_group(self, values: np.ndarray) -> np.ndarray:
        """Sum a value of each call over its group."""
        codes = self.calls["code"].to_numpy()
        return np.bincount(codes, weights=values, minlength=len(self.groups))


def statement_stats(context: Context) -> StatementStats:
    """Group the run's statements by endpoint and fingerprint.

    Detectors read the shared copy, :attr:`Context.statement_stats`.
    """
    db = context.frames.db
    calls = db[(db["request"].to_numpy() >= 0) & db["fingerprint"].notna().to_numpy()]
    if calls.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in _COLUMNS})
        return StatementStats(groups=empty, calls=calls.assign(code=0))
    codes, first = group_codes(
        calls["service"], calls["endpoint"], calls["fingerprint"]
    )
    n = len(first)
    duration = calls["duration_ms"].to_numpy(dtype=np.float64)
    count = np.bincount(codes, weights=calls["weight"].to_numpy(float), minlength=n)
    groups = pd.DataFrame(
        {
            c: calls[c].iloc[first].to_numpy(dtype=object)
            for c in ("service", "endpoint", "fingerprint")
        }
    )
    groups["calls"] = count.astype(np.int64)
    groups["p95_ms"] = percentiles(codes, duration, [95], n)[:, 0]
    groups["total_ms"] = np.bincount(codes, weights=duration, minlength=n)
    groups["mean_ms"] = groups["total_ms"] / np.bincount(codes, minlength=n)
    # Distinct requests per group: the (group, request) pairs, counted.
    _, pairs = group_codes(codes, calls["request"].to_numpy())
    groups["requests_affected"] = np.bincount(codes[pairs], minlength=n)
    slowest = pd.Series(duration).groupby(codes).idxmax().to_numpy()
    groups["example"] = calls.index.to_numpy()[slowest]
    return StatementStats(groups=groups, calls=calls.assign(code=codes))
