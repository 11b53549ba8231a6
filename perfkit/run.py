"""A run: the spans of one labelled set of traces, as a columnar frame.

A run is what :func:`perfkit.load` and :func:`perfkit.open_run` return and what
analysis works on. Its spans are a pandas DataFrame with the columns of
:data:`~perfkit.ingest.schema.SPAN_COLUMNS` plus ``duration_ns``; treat the
frame as read-only, since counts derived from it are cached.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perfkit.ingest.results import FileResult

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis


@dataclass(eq=False)
class Run:
    """The spans of one run, with where they came from.

    Attributes:
        label: The run's name, such as ``baseline`` or a git sha.
        spans: One row per span.
        sources: The files the spans were read from.
        results: Each file's outcome, when the run was just read from files.
    """

    label: str
    spans: pd.DataFrame
    sources: tuple[str, ...] = ()
    results: tuple[FileResult, ...] = field(default=(), repr=False)

    @cached_property
    def traces(self) -> int:
        """How many distinct traces the run holds."""
        return int(self.spans["trace_id"].nunique())

    @cached_property
    def services(self) -> int:
        """How many distinct services the spans come from."""
        return int(self.spans["service_name"].nunique())

    @cached_property
    def orphans(self) -> int:
        """How many spans name a parent that is not in their trace.

        Such spans are kept and treated as roots. A parent id matching any
        span of the trace counts as present, whatever that span's kind: Zipkin
        shares one span id between the client and the server side of a call.
        """
        return int(self.orphan_mask().sum())

    def orphan_mask(self) -> pd.Series:
        """A boolean Series, True for each span whose parent is missing."""
        spans = self.spans
        parent = spans["parent_span_id"]
        has_parent = (parent.notna() & (parent != "")).to_numpy(dtype=bool)

        # Number every trace id and span id, then look each (trace, parent)
        # pair up among the (trace, span) pairs as integers: far faster than
        # comparing joined strings. An unknown parent gets code -1, which
        # makes a number no span has.
        traces = pd.factorize(spans["trace_id"])[0].astype(np.int64)
        span_codes, distinct = pd.factorize(spans["span_id"])
        parent_codes = pd.Index(distinct).get_indexer(parent)
        width = len(distinct) + 1
        own = traces * width + span_codes
        wanted = pd.Series(traces * width + parent_codes)
        missing = has_parent & ~wanted.isin(own).to_numpy()
        return pd.Series(missing, index=spans.index, name="orphan")

    @property
    def errors(self) -> list[FileResult]:
        """The files that could not be read."""
        return [result for result in self.results if not result.ok]

    @cached_property
    def analysis(self) -> Analysis:
        """Endpoint statistics and findings, with the config file's thresholds.

        Computed on first use and kept. For other thresholds or an application
        database, call :func:`perfkit.analysis.analyze` on ``spans``.
        """
        from perfkit.analysis import analyze
        from perfkit.config import load_config

        return analyze(self.spans, load_config(), label=self.label, inputs=self.sources)

    def endpoints(self) -> pd.DataFrame:
        """One row per (service, endpoint): traffic, errors, latency, time split."""
        return self.analysis.endpoints

    def top_endpoints(self, n: int = 5) -> pd.DataFrame:
        """The n slowest endpoints by p95, then any too thin to rank."""
        from perfkit.analysis import top_endpoints

        return top_endpoints(self.analysis.endpoints, n)

    def findings(self) -> pd.DataFrame:
        """One row per finding, most severe first."""
        from perfkit.analysis import findings_frame

        return findings_frame(self.analysis.findings)

    def _summary(self) -> list[tuple[str, str]]:
        rows = [
            ("spans", f"{len(self.spans):,}"),
            ("traces", f"{self.traces:,}"),
            ("services", f"{self.services:,}"),
            ("orphans", f"{self.orphans:,}"),
            ("files", f"{len(self.sources):,}"),
        ]
        if self.errors:
            rows.append(("files failed", f"{len(self.errors):,}"))
        return rows

    def __repr__(self) -> str:
        counts = ", ".join(f"{value} {name}" for name, value in self._summary())
        return f"<Run {self.label!r}: {counts}>"

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th>"
            f"<td style='text-align:right'>{value}</td></tr>"
            for name, value in self._summary()
        )
        return (
            f"<div><strong>Run {html.escape(self.label)}</strong>"
            f"<table>{cells}</table></div>"
        )
