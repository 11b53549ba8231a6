"""How numbers read in every report: durations, rates and counts as text.

All renderers format through these, so a p95 reads the same in the terminal,
in Markdown and in HTML. A missing value reads as an en dash.
"""

from __future__ import annotations

MISSING = "–"

SEVERITY_ORDER = ("critical", "high", "medium", "low")

KIND_LABELS = {
    "n_plus_one_query": "N+1 queries",
    "redundant_query": "Redundant query",
    "n_plus_one_http": "N+1 HTTP calls",
    "missing_index": "Missing index",
    "slow_query": "Slow query",
    "slow_external_call": "Slow external call",
}


def ms(value: float | None) -> str:
    """A duration given in milliseconds, with precision that suits its size."""
    if value is None:
        return MISSING
    if abs(value) >= 1000:
        return f"{value / 1000:,.2f} s"
    if abs(value) >= 100:
        return f"{value:,.0f} ms"
    if abs(value) >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def total_time(value: float | None) -> str:
    """A sum of milliseconds over a whole run: seconds, minutes or hours."""
    if value is None:
        return MISSING
    seconds = value / 1000
    if abs(seconds) < 1:
        return ms(value)
    if abs(seconds) < 120:
        return f"{seconds:.1f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def percent(fraction: float | None) -> str:
    """A fraction in 0..1 as a percentage; a small non-zero one as "<0.1%"."""
    if fraction is None:
        return MISSING
    if 0 < fraction < 0.001:
        return "<0.1%"
    return f"{fraction * 100:.1f}%"


def count(value: int | None) -> str:
    """A whole number with thousands separators."""
    return MISSING if value is None else f"{value:,}"


def counted(value: int, noun: str) -> str:
    """A count with its noun, singular or plural: "1 endpoint", "7 endpoints"."""
    return f"{value:,} {noun}{'' if value == 1 else 's'}"


def decimal(value: float | None) -> str:
    """A per-request average such as queries per request: one decimal place."""
    return MISSING if value is None else f"{value:,.1f}"


def p95_interval(low: float | None, high: float | None) -> str:
    """The 95% confidence interval of a p95, as "388–441 ms".

    A bound the data cannot give (too few requests above the p95, say) is left
    open: "≥ 8.84 s".
    """
    if low is None and high is None:
        return MISSING
    if high is None:
        return f"≥ {ms(low)}"
    if low is None:
        return f"≤ {ms(high)}"
    first, last = ms(low), ms(high)
    unit = last.rpartition(" ")[2]
    if first.endswith(f" {unit}"):
        first = first.rpartition(" ")[0]
    return f"{first}–{last}"


def kind_label(kind: str) -> str:
    """A finding kind as a reader names it ("N+1 queries")."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def yes_no(value: object) -> str:
    """A flag as "yes" or "no"."""
    return "yes" if value else "no"


def evidence_value(value: object) -> str:
    """An evidence value that has no special format, as text."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list | tuple):
        return ", ".join(evidence_value(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {evidence_value(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.6g}"
    return MISSING if value is None else str(value)
