"""What every detector shares: its inputs, the severity rule, finding ids.

Severity follows impact, the time a fix would save over the whole run
(``saved_ms_total``, the saving per request times the requests affected),
measured two ways: as a share of the endpoint's total request time and as a
share of the service's. Raw counts (how many repeats, how many calls) never
decide it.

============  ===============================================================
severity      rule (first that holds)
============  ===============================================================
critical      service share >= 25%, or endpoint share >= 50% and service
              share >= 5%
high          service share >= 10%, or endpoint share >= 25% and service
              share >= 1%
medium        service share >= 2%, or endpoint share >= 5%
low           anything else
============  ===============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

from perfkit.analysis.detectors._statements import StatementStats, statement_stats
from perfkit.analysis.frames import Frames
from perfkit.analysis.model import Confidence, Finding, Severity, Suggestion, finding_id
from perfkit.analysis.tree import SpanTree
from perfkit.config import Config

#: (severity, minimum service share, or: (endpoint share, service share)).
SEVERITY_RULES: tuple[tuple[Severity, float, float, float], ...] = (
    ("critical", 0.25, 0.50, 0.05),
    ("high", 0.10, 0.25, 0.01),
    ("medium", 0.02, 0.05, 0.0),
)


@dataclass
class Context:
    """Everything a detector reads, prepared once per analysis.

    Attributes:
        spans: The run's span frame, addressed by position.
        tree: Parent and request of every span.
        frames: Requests (with their time breakdown), database and HTTP calls.
        stats: Endpoint statistics.
        config: Thresholds; use :meth:`settings` for an endpoint's own.
        app_db: URL of the application's database for EXPLAIN, if given.
        warnings: Messages for the user about how far results can be trusted.
    """

    spans: pd.DataFrame
    tree: SpanTree
    frames: Frames
    stats: pd.DataFrame
    config: Config
    app_db: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        keyed = self.stats.set_index(["service", "endpoint"])
        self._endpoint_total = keyed["total_ms"].to_dict()
        self._endpoint_requests = keyed["requests"].to_dict()
        self._service_total = self.stats.groupby("service")["total_ms"].sum().to_dict()

    @cached_property
    def statements(self) -> pd.DataFrame:
        """One row per statement fingerprint: ``normalised``, ``operation``,
        ``tables``, and the ``dialect`` and ``example`` (raw text) of its
        slowest execution. The example may hold values: it is for EXPLAIN,
        never for evidence."""
        db = self.frames.db[self.frames.db["fingerprint"].notna()]
        slowest = db.groupby("fingerprint", observed=True)["duration_ms"].idxmax()
        positions = slowest.to_numpy(dtype=np.int64)
        table = self.frames.statements.loc[slowest.index.astype(str)]
        table["dialect"] = db.loc[positions, "dialect"].to_numpy(dtype=object)
        table["example"] = self.spans["db_statement"].iloc[positions].to_numpy()
        return table

    @cached_property
    def statement_stats(self) -> StatementStats:
        """Per-endpoint statistics of each statement (shared by detectors)."""
        return statement_stats(self)

    def settings(self, endpoint: str) -> Config:
        """The thresholds for one endpoint, overrides applied."""
        return self.config.for_endpoint(endpoint)

    def setting_per_row(self, endpoints: pd.Series, name: str) -> np.ndarray:
        """The value of setting ``name`` for each row's endpoint."""
        if not self.config.endpoints:
            return np.full(len(endpoints), float(getattr(self.config, name)))
        plain = endpoints.astype(object)
        values = {e: getattr(self.settings(e), name) for e in plain.unique()}
        return plain.map(values).to_numpy(dtype=np.float64)

    def requests_on(self, service: str, endpoint: str) -> int:
        """How many requests the endpoint served in the run."""
        return int(self._endpoint_requests.get((service, endpoint), 0))

    def endpoint_total(self, service: str, endpoint: str) -> float:
        """The endpoint's total request time over the run, in ms."""
        return float(self._endpoint_total.get((service, endpoint), 0.0))

    def severity(self, service: str, endpoint: str, saved_ms_total: float) -> Severity:
        """The severity of saving ``saved_ms_total`` on this endpoint (see above)."""
        endpoint_total = self._endpoint_total.get((service, endpoint), 0.0)
        service_total = self._service_total.get(service, 0.0)
        on_endpoint = saved_ms_total / endpoint_total if endpoint_total > 0 else 0.0
        on_service = saved_ms_total / service_total if service_total > 0 else 0.0
        for level, service_min, endpoint_min, with_service in SEVERITY_RULES:
            if on_service >= service_min or (
                on_endpoint >= endpoint_min and on_service >= with_service
            ):
                return level
        return "low"

    def span_name(self, position: int) -> str:
        """The name of the span at a position."""
        return str(self.spans["name"].iat[position])

    def trace_id(self, position: int) -> str:
        """The trace id of the span at a position."""
        return str(self.spans["trace_id"].iat[position])

    def finding(
        self,
        kind: str,
        service: str,
        endpoint: str,
        key: str,
        *,
        title: str,
        evidence: dict[str, Any],
        suggestion: Suggestion,
        saved_ms_per_request: float,
        requests_affected: int,
        confidence: Confidence = "high",
    ) -> Finding:
        """A finding with its stable id, total saving and severity filled in.

        ``key`` is what makes the problem itself: the statement fingerprint,
        the URL template, the host. With kind, service and endpoint it gives
        the id, which stays the same from one run to the next.

        ``evidence`` should hold ``total_ms``, the time an affected request
        spends in the calls at fault; ``share_of_endpoint`` (that time over
        the run, as a share of the endpoint's), ``requests_affected`` and
        ``endpoint_requests`` are added here.
        """
        saved_total = saved_ms_per_request * requests_affected
        endpoint_total = self.endpoint_total(service, endpoint)
        spent = float(evidence.get("total_ms", 0.0)) * requests_affected
        evidence = {
            **evidence,
            "requests_affected": int(requests_affected),
            "endpoint_requests": self.requests_on(service, endpoint),
            "share_of_endpoint": round(spent / endpoint_total, 4)
            if endpoint_total > 0
            else None,
        }
        return Finding(
            id=finding_id(kind, service, endpoint, key),
            kind=kind,
            service=service,
            endpoint=endpoint,
            severity=self.severity(service, endpoint, saved_total),
            title=title,
            evidence=evidence,
            suggestion=suggestion,
            saved_ms_per_request=round(float(saved_ms_per_request), 3),
            saved_ms_total=round(float(saved_total), 3),
            requests_affected=int(requests_affected),
            confidence=confidence,
        )


def without_port(address: str) -> str:
    """An address or URL template without its port, for a finding's id.

    Local services often listen on a port chosen per run; the id of a finding
    about them must not change with it.
    """
    return re.sub(
        r"^((?:[a-zA-Z][\w+.-]*://|\w+ [a-zA-Z][\w+.-]*://)?[^/:]+):\d+", r"\1", address
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def ms(value: float) -> str:
    """A duration for a sentence: ``"3.2 ms"``, ``"1.25 s"``."""
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"
