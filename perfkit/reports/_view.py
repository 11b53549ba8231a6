"""What a report shows, arranged once for every renderer.

:func:`build_view` reads an analysis only through its plain-data document
(:meth:`Analysis.to_dict`) and arranges it for reading: the top endpoints in
rank order with the main finding of each, the findings with their evidence
split into facts and code blocks. It computes no statistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perfkit.reports import _evidence
from perfkit.reports import _format as fmt
from perfkit.reports._escape import mask_url, mask_urls_in
from perfkit.reports._evidence import Block, Fact

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis

#: The parts of a request's time, as the endpoint columns give them per request.
_TIME_PARTS = {
    "db_ms_per_request": "the database",
    "external_ms_per_request": "outgoing HTTP calls",
    "self_ms_per_request": "its own code",
}

#: How many inputs a report header names before saying "and N more".
_INPUTS_SHOWN = 3

#: How many endpoints too thin to rank are shown at least, after the top.
_THIN_SHOWN = 5

_SQL_START = re.compile(
    r"\s*(--|(SELECT|CREATE|ALTER|DROP|WITH|UPDATE|INSERT|DELETE)\s)", re.IGNORECASE
)


@dataclass(frozen=True)
class EndpointRow:
    """One endpoint of the top table, with the finding that explains it."""

    rank: int | None
    service: str
    endpoint: str
    requests: int | None
    p50_ms: float | None
    p95_ms: float | None
    p95_ci_low_ms: float | None
    p95_ci_high_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    db_ms_per_request: float | None
    external_ms_per_request: float | None
    self_ms_per_request: float | None
    queries_per_request: float | None
    enough_data: bool
    cause: FindingView | None
    #: Where most of a request's time goes, as "its own code (97%)".
    time_mostly_in: str | None = None


@dataclass(frozen=True)
class FindingView:
    """One finding as a report shows it."""

    number: int
    id: str
    kind: str
    kind_label: str
    severity: str
    title: str
    service: str
    endpoint: str
    confidence: str
    saved_ms_per_request: float | None
    saved_ms_total: float | None
    requests_affected: int | None
    facts: list[Fact]
    evidence_blocks: list[Block]
    fix_summary: str
    fix_detail: str
    fix_blocks: list[Block]

    @property
    def anchor(self) -> str:
        """An HTML id for the finding, stable for the same finding id."""
        return "finding-" + "".join(c if c.isalnum() else "-" for c in self.id)


@dataclass(frozen=True)
class ReportView:
    """Everything a report shows, in the order it shows it."""

    schema_version: str
    perfkit_version: str
    created_at: str
    run: str
    inputs: list[str]
    spans: int
    services: list[str]
    top: list[EndpointRow]
    endpoints: list[EndpointRow]
    findings: list[FindingView]
    warnings: list[str]
    #: Endpoints too thin to rank whose p95 would have placed them among
    #: ``top``: shown after it, never in it.
    thin: list[EndpointRow] = field(default_factory=list)

    @property
    def inputs_shown(self) -> list[str]:
        """The inputs a header lists; the JSON report keeps them all."""
        return self.inputs[:_INPUTS_SHOWN]

    @property
    def inputs_hidden(self) -> int:
        """How many inputs the header leaves out."""
        return max(len(self.inputs) - _INPUTS_SHOWN, 0)

    @property
    def several_services(self) -> bool:
        """Whether endpoint tables need a service column."""
        return len(self.services) > 1


def document(analysis: Analysis) -> dict[str, Any]:
    """The analysis as plain data, with secrets in every URL masked."""
    doc = analysis.to_dict()
    doc["inputs"] = [mask_url(str(item)) for item in doc["inputs"]]
    doc["findings"] = _masked(doc["findings"])
    doc["warnings"] = _masked(doc["warnings"])
    return doc


def _masked(value: Any) -> Any:
    """A copy of plain data with :func:`mask_urls_in` applied to every string."""
    if isinstance(value, str):
        return mask_urls_in(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


def build_view(analysis: Analysis) -> ReportView:
    """Arrange an analysis for reading."""
    doc = document(analysis)
    findings = [
        _finding(number, item) for number, item in enumerate(doc["findings"], 1)
    ]
    causes = _main_findings(findings)
    endpoints = [_endpoint(record, causes) for record in doc["endpoints"]]
    top = _top(endpoints, doc["top_endpoints"])
    return ReportView(
        schema_version=doc["schema_version"],
        perfkit_version=doc["perfkit_version"],
        created_at=doc["created_at"],
        run=doc["run"],
        inputs=doc["inputs"],
        spans=doc["spans"],
        services=sorted({row.service for row in endpoints}),
        top=top,
        endpoints=endpoints,
        findings=findings,
        warnings=[str(item) for item in doc["warnings"]],
        thin=_thin(endpoints, top),
    )


def _thin(endpoints: list[EndpointRow], top: list[EndpointRow]) -> list[EndpointRow]:
    """Endpoints without enough data whose p95 beats the top's slowest-but-one:
    what :func:`perfkit.analysis.top_endpoints` lists after the ranked rows."""
    ranked = sum(row.rank is not None for row in endpoints)
    shown = [row.p95_ms for row in top if row.p95_ms is not None]
    floor = min(shown) if shown and len(top) < ranked else float("-inf")
    thin = [
        row
        for row in endpoints
        if not row.enough_data and row.p95_ms is not None and row.p95_ms > floor
    ]
    thin.sort(key=lambda row: -(row.p95_ms or 0.0))
    return thin[: max(len(top), _THIN_SHOWN)]


def _top(endpoints: list[EndpointRow], names: list[str]) -> list[EndpointRow]:
    """The rows of the top endpoints, in rank order (else in the order named)."""
    wanted = set(names)
    ranked = sorted((r for r in endpoints if r.rank is not None), key=_rank)
    top = [row for row in ranked if row.endpoint in wanted][: len(names)]
    if top:
        return top
    order = {name: index for index, name in enumerate(names)}
    named = [row for row in endpoints if row.endpoint in order]
    return sorted(named, key=lambda row: order[row.endpoint])


def _rank(row: EndpointRow) -> int:
    return row.rank if row.rank is not None else 0


def _main_findings(findings: list[FindingView]) -> dict[tuple[str, str], FindingView]:
    """Per (service, endpoint), the most severe finding, the larger saving first."""
    causes: dict[tuple[str, str], FindingView] = {}
    for finding in sorted(findings, key=_importance):
        causes.setdefault((finding.service, finding.endpoint), finding)
    return causes


def _importance(finding: FindingView) -> tuple[int, float]:
    severity = fmt.SEVERITY_ORDER.index(finding.severity)
    return severity, -(finding.saved_ms_total or 0.0)


def _endpoint(
    record: dict[str, Any], causes: dict[tuple[str, str], FindingView]
) -> EndpointRow:
    service = record["service"] or ""
    endpoint = record["endpoint"] or ""
    return EndpointRow(
        rank=record["rank"],
        service=service,
        endpoint=endpoint,
        requests=record["requests"],
        p50_ms=record["p50_ms"],
        p95_ms=record["p95_ms"],
        p95_ci_low_ms=record["p95_ci_low_ms"],
        p95_ci_high_ms=record["p95_ci_high_ms"],
        p99_ms=record["p99_ms"],
        error_rate=record["error_rate"],
        db_ms_per_request=record["db_ms_per_request"],
        external_ms_per_request=record["external_ms_per_request"],
        self_ms_per_request=record["self_ms_per_request"],
        queries_per_request=record["queries_per_request"],
        enough_data=bool(record["enough_data"]),
        cause=causes.get((service, endpoint)),
        time_mostly_in=_time_mostly_in(record),
    )


def _time_mostly_in(record: dict[str, Any]) -> str | None:
    """The largest part of a request's time: database, HTTP calls or own code."""
    parts = {label: record[key] or 0.0 for key, label in _TIME_PARTS.items()}
    total = sum(parts.values())
    if total <= 0:
        return None
    label, value = max(parts.items(), key=lambda item: item[1])
    return f"{label} ({fmt.percent(value / total)})"


def _finding(number: int, item: dict[str, Any]) -> FindingView:
    evidence: dict[str, Any] = item["evidence"]
    suggestion: dict[str, Any] = item["suggestion"]
    severity = item["severity"] if item["severity"] in fmt.SEVERITY_ORDER else "low"
    return FindingView(
        number=number,
        id=item["id"],
        kind=item["kind"],
        kind_label=fmt.kind_label(item["kind"]),
        severity=severity,
        title=item["title"],
        service=item["service"],
        endpoint=item["endpoint"],
        confidence=item["confidence"],
        saved_ms_per_request=item["saved_ms_per_request"],
        saved_ms_total=item["saved_ms_total"],
        requests_affected=item["requests_affected"],
        facts=_evidence.facts(evidence, suggestion),
        evidence_blocks=_evidence.blocks(evidence, suggestion),
        fix_summary=suggestion["summary"],
        fix_detail=suggestion["detail"] or "",
        fix_blocks=_fix_blocks(item["kind"], suggestion),
    )


def _fix_blocks(kind: str, suggestion: dict[str, Any]) -> list[Block]:
    blocks = []
    if suggestion["code"]:
        code = str(suggestion["code"])
        blocks.append(Block("", code, _code_language(kind, code)))
    for name, text in (suggestion["files"] or {}).items():
        blocks.append(Block(str(name), str(text), _file_language(str(name))))
    return blocks


def _code_language(kind: str, code: str) -> str:
    if _SQL_START.match(code):
        return "sql"
    return "python" if kind.endswith(("query", "index", "http")) else ""


def _file_language(name: str) -> str:
    suffix = name.rpartition(".")[2].lower()
    return {"py": "python", "sql": "sql", "toml": "toml", "yaml": "yaml"}.get(
        suffix, ""
    )
