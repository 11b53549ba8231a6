"""The results of analysis: findings and the whole analysis, as plain data.

Detectors produce :class:`Finding` values; :class:`Analysis` gathers the
endpoint statistics and findings of one run. Renderers read only these (through
:meth:`Analysis.to_dict`), so nothing is computed twice or while rendering.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfkit._version import __version__

Severity = Literal["critical", "high", "medium", "low"]
Confidence = Literal["high", "medium", "low"]

#: Version of the JSON document ``perfkit analyze --format json`` writes.
#: Bump the major number on any change that removes or renames a field.
SCHEMA_VERSION = "1.0"

#: Columns of the endpoint statistics frame (``Analysis.endpoints``,
#: ``Run.endpoints()``), one row per (service, endpoint), worst p95 first and the
#: endpoints without enough data last. ``error_rate`` is the fraction of requests
#: with status ERROR or HTTP >= 500; ``client_error_rate`` the HTTP 4xx fraction.
#: ``rank`` orders by p95 every endpoint with enough data (1 is the slowest) and
#: is NA for the others; the first ``top`` of them are the top endpoints.
ENDPOINT_COLUMNS = (
    "service",
    "endpoint",
    "requests",
    "throughput_rps",
    "error_rate",
    "client_error_rate",
    "p50_ms",
    "p95_ms",
    "p95_ci_low_ms",
    "p95_ci_high_ms",
    "p99_ms",
    "mean_ms",
    "db_ms_per_request",
    "external_ms_per_request",
    "self_ms_per_request",
    "queries_per_request",
    "external_calls_per_request",
    "enough_data",
    "rank",
)

#: Evidence keys detectors use where they apply, so renderers can rely on them.
EVIDENCE_KEYS = (
    "count_per_request",  # repeats in a typical affected request
    "requests_affected",
    "total_ms",
    "example_trace_id",
    "statement",  # normalised, literals redacted
    "url_template",  # secrets masked
    "table",
    "columns",
    "plan",  # list of plan lines from the application database
    "p95_ms",
    "share_of_endpoint",  # 0..1
    "host",
)

FINDING_KINDS = (
    "n_plus_one_query",
    "redundant_query",
    "n_plus_one_http",
    "missing_index",
    "slow_query",
    "slow_external_call",
)


def finding_id(kind: str, service: str, endpoint: str, fingerprint: str) -> str:
    """A stable id: the same problem in another run gets the same id."""
    key = "\x1f".join((kind, service, endpoint, fingerprint)).encode()
    return f"{kind}:{hashlib.sha1(key, usedforsecurity=False).hexdigest()[:12]}"


@dataclass(frozen=True)
class Suggestion:
    """What to do about a finding, concretely."""

    summary: str
    detail: str = ""
    #: Code to apply: the batched query, the CREATE INDEX, the eager load...
    code: str | None = None
    #: A whole file to add, such as an Alembic migration (name -> text).
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One named cause of slowness on one endpoint, with its fix and its worth."""

    id: str
    kind: str
    service: str
    endpoint: str
    severity: Severity
    title: str
    evidence: dict[str, Any]
    suggestion: Suggestion
    #: Estimated time the fix saves on an affected request, and over the run.
    saved_ms_per_request: float
    saved_ms_total: float
    requests_affected: int
    confidence: Confidence = "high"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Analysis:
    """Everything ``perfkit analyze`` found in one run."""

    run_label: str
    inputs: list[str]
    spans: int
    endpoints: pd.DataFrame
    top_endpoints: list[str]
    findings: list[Finding]
    warnings: list[str] = field(default_factory=list)
    perfkit_version: str = ""
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The plain-data view every renderer reads: the versioned JSON document.

        Missing and NaN values become None, numpy scalars Python numbers, and
        an empty ``perfkit_version`` or ``created_at`` is filled with the
        running version and the current time.
        """
        created_at = self.created_at or dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"
        )
        return {
            "schema_version": SCHEMA_VERSION,
            "perfkit_version": self.perfkit_version or __version__,
            "created_at": created_at,
            "run": self.run_label,
            "inputs": list(self.inputs),
            "spans": int(self.spans),
            "endpoints": _endpoint_records(self.endpoints),
            "top_endpoints": list(self.top_endpoints),
            "findings": [_plain(finding.to_dict()) for finding in self.findings],
            "warnings": list(self.warnings),
        }


_INTEGER_COLUMNS = frozenset({"requests", "rank"})


def _endpoint_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the endpoints frame as dicts with exactly ENDPOINT_COLUMNS."""
    records = frame.reindex(columns=list(ENDPOINT_COLUMNS)).to_dict(orient="records")
    return [
        {
            str(name): _plain(value, integer=name in _INTEGER_COLUMNS)
            for name, value in record.items()
        }
        for record in records
    ]


def _plain(value: Any, *, integer: bool = False) -> Any:
    """A JSON-ready copy of ``value``: no numpy scalars, no NaN, no pd.NA."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return int(number) if integer and number.is_integer() else number
    if isinstance(value, str):
        return value
    return str(value)
