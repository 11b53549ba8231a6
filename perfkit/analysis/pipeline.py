"""One analysis of a run: the passes in order, and the findings as a table.

The passes: find every span's parent and request (:mod:`~perfkit.analysis.
tree`), cut the request and call tables (:mod:`~perfkit.analysis.frames`),
compute endpoint statistics (:mod:`~perfkit.analysis.stats`), run each
detector (:mod:`~perfkit.analysis.detectors`), then drop suppressed findings
and order the rest by severity and time saved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import time
from collections.abc import Sequence

import pandas as pd

from perfkit._version import __version__
from perfkit.analysis.detectors import DETECTORS, Context
from perfkit.analysis.frames import Frames, build_frames
from perfkit.analysis.model import Analysis, Finding
from perfkit.analysis.stats import endpoint_stats, request_breakdown
from perfkit.analysis.tree import build_tree
from perfkit.config import Config

logger = logging.getLogger(__name__)

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}

FINDING_COLUMNS = (
    "id",
    "kind",
    "service",
    "endpoint",
    "severity",
    "title",
    "saved_ms_per_request",
    "saved_ms_total",
    "requests_affected",
    "confidence",
    "suggestion",
    "evidence",
)


def analyze(
    spans: pd.DataFrame,
    config: Config | None = None,
    *,
    app_db: str | None = None,
    label: str = "",
    inputs: Sequence[str] = (),
) -> Analysis:
    """Compute endpoint statistics and run every detector over a run's spans.

    Args:
        spans: A span frame (see :mod:`perfkit.ingest.schema`).
        config: Thresholds; the defaults of :class:`~perfkit.config.Config`
            when None.
        app_db: SQLAlchemy URL of the application's database. When given,
            missing-index candidates are checked against its query plans.
        label: The run's label, recorded in the result.
        inputs: The files the spans came from, recorded in the result.

    Returns:
        The endpoint statistics and the findings, most severe first.
    """
    config = config or Config()
    started = time.perf_counter()
    tree = build_tree(spans)
    frames = build_frames(spans, tree)
    frames = dataclasses.replace(frames, requests=request_breakdown(frames))
    stats = endpoint_stats(frames.requests, config)
    context = Context(spans, tree, frames, stats, config, app_db=app_db)
    context.warnings.extend(_data_warnings(frames, stats, config))

    found: list[Finding] = []
    for detect in DETECTORS.values():
        found.extend(detect(context, found))
    kept = [f for f in found if f.id not in config.suppress]
    if len(kept) < len(found):
        hidden = len(found) - len(kept)
        logger.info("%d findings suppressed by the config", hidden)
        where = f" in {config.source}" if config.source else ""
        context.warnings.append(
            f"{hidden} finding(s) left out: their ids are in 'suppress'{where}"
        )
    kept.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], -f.saved_ms_total, f.id))

    ranked = stats[stats["rank"].notna()].sort_values("rank")
    logger.info(
        "analysed %d spans: %d endpoints, %d findings in %.2f s",
        len(spans),
        len(stats),
        len(kept),
        time.perf_counter() - started,
    )
    return Analysis(
        run_label=label,
        inputs=list(inputs),
        spans=len(spans),
        endpoints=stats,
        top_endpoints=ranked["endpoint"].head(config.top).tolist(),
        findings=kept,
        warnings=context.warnings,
        perfkit_version=__version__,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _data_warnings(frames: Frames, stats: pd.DataFrame, config: Config) -> list[str]:
    """What limits the results: no requests, calls outside any request,
    endpoints too thin to rank."""
    warnings = []
    if frames.requests.empty:
        warnings.append(
            "no SERVER spans: there are no requests to compute endpoint statistics "
            "or findings for"
        )
        return warnings
    orphans = int((frames.db["request"] < 0).sum() + (frames.http["request"] < 0).sum())
    if orphans:
        warnings.append(
            f"{orphans} database or HTTP call(s) have no SERVER span above them in "
            "their service: they are left out of endpoint statistics and findings"
        )
    known = set(stats["endpoint"].astype(str))
    for name in config.endpoints:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.append(
                f"the config's overrides for endpoint {name!r} match no endpoint "
                f"in these traces{hint}"
            )
    thin = int((~stats["enough_data"].astype(bool)).sum())
    if thin:
        warnings.append(
            f"{thin} endpoint(s) have fewer than {config.min_requests_for_p95} "
            "requests: their p95 is shown but not ranked (min_requests_for_p95)"
        )
    return warnings


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame, one row each, in the given order.

    Columns: ``id``, ``kind``, ``service``, ``endpoint``, ``severity``,
    ``title``, ``saved_ms_per_request``, ``saved_ms_total``,
    ``requests_affected``, ``confidence``, ``suggestion`` (its summary) and
    ``evidence`` (a dict).
    """
    rows = [
        {
            **{c: getattr(f, c) for c in FINDING_COLUMNS if hasattr(f, c)},
            "suggestion": f.suggestion.summary,
        }
        for f in findings
    ]
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
