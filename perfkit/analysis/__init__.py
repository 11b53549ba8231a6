"""Analysis of a run: endpoint statistics, and findings with their fixes.

:func:`analyze` runs every pass over a run's spans and returns an
:class:`Analysis`; :func:`top_endpoints` and :func:`findings_frame` give its
parts as DataFrames. The thresholds come from :class:`perfkit.config.Config`.
"""

from perfkit.analysis.model import (
    FINDING_KINDS,
    Analysis,
    Finding,
    Suggestion,
    finding_id,
)
from perfkit.analysis.pipeline import FINDING_COLUMNS, analyze, findings_frame
from perfkit.analysis.stats import STAT_COLUMNS, endpoint_stats, top_endpoints

__all__ = [
    "FINDING_COLUMNS",
    "FINDING_KINDS",
    "STAT_COLUMNS",
    "Analysis",
    "Finding",
    "Suggestion",
    "analyze",
    "endpoint_stats",
    "finding_id",
    "findings_frame",
    "top_endpoints",
]
