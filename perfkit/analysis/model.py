"""The results of analysis: findings and the whole analysis, as plain data.

Detectors produce :class:`Finding` values; :class:`Analysis` gathers the
endpoint statistics and findings of one run. Renderers read only these (through
:meth:`Analysis.to_dict`), so nothing is computed twice or while rendering.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

Severity = Literal["critical", "high", "medium", "low"]
Confidence = Literal["high", "medium", "low"]

#: Version of the JSON document ``perfkit analyze --format json`` writes.
#: Bump the major number on any change that removes or renames a field.
SCHEMA_VERSION = "1.0"

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
