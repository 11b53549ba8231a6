"""A finding's evidence, arranged for reading: labelled facts and code blocks.

Detectors put what they measured into a finding's ``evidence`` dict. The keys
of :data:`~perfkit.analysis.model.EVIDENCE_KEYS` and the other common ones get
a label, a format and a place here; any other key is still shown, labelled
from its name, so nothing a detector found is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfkit.reports import _format as fmt

Formatter = Callable[[Any], str]


#: Evidence shown as a labelled fact, in this order: key -> (label, format, code).
_FACTS: dict[str, tuple[str, Formatter, bool]] = {
    "count_per_request": ("Calls per request", fmt.evidence_value, False),
    "max_count_per_request": ("Most calls in one request", fmt.evidence_value, False),
    "total_ms": ("Time in these calls, per request", fmt.ms, False),
    "wall_ms": ("Wall-clock time, per request", fmt.ms, False),
    "share_of_endpoint": ("Share of the endpoint's time", fmt.percent, False),
    "p95_ms": ("p95 of one call", fmt.ms, False),
    "mean_ms": ("Mean of one call", fmt.ms, False),
    "threshold_ms": ("Threshold", fmt.ms, False),
    "requests_affected": ("Requests affected", fmt.count, False),
    "calls": ("Calls in the run", fmt.count, False),
    "table": ("Table", fmt.evidence_value, True),
    "columns": ("Columns", fmt.evidence_value, True),
    "operation": ("Operation", fmt.evidence_value, True),
    "host": ("Host", fmt.evidence_value, True),
    "parent_span": ("Called from", fmt.evidence_value, True),
    "parameters": ("Parameters", fmt.evidence_value, False),
    "distinct_parameter_sets": ("Distinct parameter sets", fmt.evidence_value, False),
    "overlapping": ("Calls overlap", fmt.yes_no, False),
    "concurrent": ("Calls run concurrently", fmt.yes_no, False),
    "sequential": ("Calls run one after another", fmt.yes_no, False),
    "source": ("Based on", fmt.evidence_value, False),
    "example_trace_id": ("Example trace", fmt.evidence_value, True),
    "fingerprint": ("Statement fingerprint", fmt.evidence_value, True),
}

#: Evidence shown as a code block, in this order: key -> (label, language).
_BLOCKS = {
    "statement": ("Statement (literals redacted)", "sql"),
    "batched_statement": ("Batched statement", "sql"),
    "url_template": ("URL", ""),
    "url_templates": ("URLs", ""),
    "plan": ("Query plan", ""),
}

#: Shown with ``requests_affected``, as "30 of 120", not on a line of its own.
_WITH_AFFECTED = "endpoint_requests"


@dataclass(frozen=True)
class Fact:
    """One labelled piece of evidence."""

    label: str
    text: str
    code: bool = False


@dataclass(frozen=True)
class Block:
    """Text shown verbatim on lines of its own: a statement, a plan, a file."""

    label: str
    text: str
    language: str = ""


def facts(evidence: dict[str, Any], suggestion: dict[str, Any]) -> list[Fact]:
    """The evidence that fits on one line, known keys first."""
    shown = _shown(evidence, suggestion)
    ordered = [key for key in _FACTS if key in shown]
    ordered += [key for key in shown if key not in _FACTS and key not in _BLOCKS]

    result = []
    for key in ordered:
        label, formatter, code = _FACTS.get(key) or _describe(key)
        text = formatter(shown[key])
        if key == "requests_affected" and evidence.get(_WITH_AFFECTED) is not None:
            text += f" of {fmt.count(evidence[_WITH_AFFECTED])}"
        result.append(Fact(label, text, code))
    return result


def blocks(evidence: dict[str, Any], suggestion: dict[str, Any]) -> list[Block]:
    """The evidence shown as code blocks: statements, URLs, query plans."""
    shown = _shown(evidence, suggestion)
    result = []
    for key, (label, language) in _BLOCKS.items():
        if key in shown:
            value = shown[key]
            text = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
            result.append(Block(label, text, language))
    return result


def _shown(evidence: dict[str, Any], suggestion: dict[str, Any]) -> dict[str, Any]:
    """The evidence worth showing: not empty, and not repeating the fix."""
    fix = "\n".join(str(suggestion.get(part) or "") for part in ("summary", "detail"))
    code = str(suggestion.get("code") or "")
    shown = {}
    for key, value in evidence.items():
        if value is None or value == [] or value == "" or key == _WITH_AFFECTED:
            continue
        if isinstance(value, str) and value.strip() == code.strip():
            continue
        if _all_in(value, fix):
            continue
        shown[key] = value
    return shown


def _all_in(value: Any, text: str) -> bool:
    """Whether value is prose (a list of sentences) the fix already says."""
    if not isinstance(value, list) or not value:
        return False
    return all(isinstance(item, str) and " " in item and item in text for item in value)


def _describe(key: str) -> tuple[str, Formatter, bool]:
    """Label and format for an evidence key no detector documented."""
    if key.endswith("_ms"):
        return key[:-3].replace("_", " ").capitalize() + " time", fmt.ms, False
    return key.replace("_", " ").capitalize(), fmt.evidence_value, False
