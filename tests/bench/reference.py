"""A plain, obviously correct analysis of an OTLP JSON Lines file.

It checks that perfkit's fast path (columns, vectorised groups) computes what
the definitions say. Everything here is loops over dicts and lists, written
for reading, not speed: it is meant for the 10,000 spans of the benchmark's
sample, whose shape (bench/generate.py) it relies on in two places. Statements
are keyed by their text with literals replaced (the generator's statements
have no numbers in them), and a missing index is a filter ``table.column =``
on a column other than ``id``, which is how the generator writes an unindexed
filter.

The definitions followed are those of perfkit's documentation: a request is
a SERVER span; a call belongs to the nearest SERVER span above it in its own
service; percentiles interpolate linearly between order statistics; the
thresholds are the defaults of :class:`perfkit.config.Config`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER, CLIENT = 2, 3
STATUS_ERROR = 2

# Config defaults the reference applies.
N_PLUS_ONE_MIN = 5
N_PLUS_ONE_HTTP_MIN = 5
REDUNDANT_MIN = 3
SLOW_QUERY_P95_MS = 100.0
SLOW_EXTERNAL_P95_MS = 200.0
EXTERNAL_SHARE = 0.3
EXTERNAL_MIN_MS = 50.0
INDEX_MIN_CALLS = 50
INDEX_MIN_MEAN_MS = 5.0

_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", re.IGNORECASE)
_FILTER = re.compile(r"\bWHERE\s+(\w+)\.(\w+)\s*=", re.IGNORECASE)


@dataclass
class Span:
    """One span, with the attributes as a plain dict."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status: int
    service: str
    attributes: dict[str, Any]
    request: Span | None = field(default=None, repr=False)

    @property
    def ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    def get(self, *keys: str) -> Any:
        """The first of the attributes ``keys`` the span has, or None."""
        for key in keys:
            if key in self.attributes:
                return self.attributes[key]
        return None


def read_spans(path: Path) -> list[Span]:
    """Every span in an OTLP JSON Lines file, each linked to its request."""
    spans = []
    with path.open() as file:
        for line in file:
            for resource_spans in json.loads(line)["resourceSpans"]:
                resource = _attributes(resource_spans["resource"]["attributes"])
                for scope_spans in resource_spans["scopeSpans"]:
                    for raw in scope_spans["spans"]:
                        spans.append(_span(raw, resource["service.name"]))
    _link_requests(spans)
    return spans


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for item in items:
        ((kind, value),) = item["value"].items()
        out[item["key"]] = int(value) if kind == "intValue" else value
    return out


def _span(raw: dict[str, Any], service: str) -> Span:
    return Span(
        trace_id=raw["traceId"],
        span_id=raw["spanId"],
        parent_id=raw.get("parentSpanId") or None,
        name=raw["name"],
        kind=raw["kind"],
        start_ns=int(raw["startTimeUnixNano"]),
        end_ns=int(raw["endTimeUnixNano"]),
        status=raw.get("status", {}).get("code", 0),
        service=service,
        attributes=_attributes(raw.get("attributes", [])),
    )


def _link_requests(spans: list[Span]) -> None:
    """Set each span's request: the nearest SERVER span at or above it in its
    own service."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    for span in spans:
        node: Span | None = span
        while node is not None and node.kind != SERVER:
            parent = by_id.get((node.trace_id, node.parent_id or ""))
            node = parent if parent and parent.service == node.service else None
        span.request = node


def endpoint_of(request: Span) -> str:
    method = request.get("http.request.method", "http.method")
    route = request.get("http.route")
    return f"{method.upper()} {route}" if method and route else request.name


def statement_of(span: Span) -> str | None:
    return span.get("db.query.text", "db.statement")


def is_db_call(span: Span) -> bool:
    has_system = span.get("db.system.name", "db.system") is not None
    return span.kind == CLIENT and (has_system or statement_of(span) is not None)


def url_of(span: Span) -> str | None:
    return span.get("url.full", "http.url")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile, interpolating linearly between the two nearest
    order statistics (numpy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    below = int(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def union_ms(intervals: list[tuple[int, int]]) -> float:
    """Time covered by a set of (start, end) intervals, overlaps counted once."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total / 1e6


def fingerprint(statement: str) -> tuple[str, tuple[str, ...]]:
    """The statement with its literals replaced, and the literals."""
    literals = tuple(_LITERAL.findall(statement))
    return " ".join(_LITERAL.sub("?", statement).split()), literals


def table_of(statement: str) -> str:
    found = _TABLE.search(statement)
    return found.group(1) if found else ""


def url_template(method: str, url: str) -> tuple[str, str]:
    """The host, and the method and URL with numbered path parts as ``{id}``."""
    url = url.split("?", 1)[0]
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    parts = [
        "{id}" if any(c.isdigit() for c in part) else part for part in path.split("/")
    ]
    return host.split(":")[0], f"{method} {scheme}://{host}/{'/'.join(parts)}"


# Endpoint statistics.


def endpoint_stats(spans: list[Span]) -> dict[tuple[str, str], dict[str, float]]:
    """Per (service, endpoint): requests, errors, percentiles and call counts."""
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    errors: dict[tuple[str, str], int] = defaultdict(int)
    queries: dict[tuple[str, str], int] = defaultdict(int)
    calls: dict[tuple[str, str], int] = defaultdict(int)
    for span in spans:
        if span.kind == SERVER:
            key = (span.service, endpoint_of(span))
            durations[key].append(span.ms)
            status = span.get("http.response.status_code", "http.status_code") or 0
            client_error = 400 <= status < 500
            if status >= 500 or (span.status == STATUS_ERROR and not client_error):
                errors[key] += 1
    for span in spans:
        if span.request is None or span.kind != CLIENT:
            continue
        key = (span.service, endpoint_of(span.request))
        if is_db_call(span):
            queries[key] += statement_of(span) is not None
        elif _is_http_call(span, spans):
            calls[key] += 1
    return {
        key: {
            "requests": len(values),
            "errors": errors[key],
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "p99_ms": percentile(values, 99),
            "mean_ms": sum(values) / len(values),
            "max_ms": max(values),
            "queries_per_request": queries[key] / len(values),
            "external_calls_per_request": calls[key] / len(values),
        }
        for key, values in durations.items()
    }


def _is_http_call(span: Span, spans: list[Span]) -> bool:
    # The generated traffic has no CLIENT span under another CLIENT span.
    addressed = (
        url_of(span)
        or span.get("http.request.method", "http.method")
        or span.get("server.address")
        or span.get("peer.service")
    )
    return span.kind == CLIENT and not is_db_call(span) and addressed is not None


# Findings: (kind, service, endpoint, table or host) -> figures.

Key = tuple[str, str, str, str]


def findings(spans: list[Span]) -> dict[Key, dict[str, float]]:
    """The findings the detectors must make on the generated traffic."""
    requests = [s for s in spans if s.kind == SERVER]
    children: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        if span.request is not None and span.kind == CLIENT:
            children[id(span.request)].append(span)

    found: dict[Key, dict[str, float]] = {}
    n_plus_one = _query_repeats(requests, children)
    found.update(n_plus_one)
    found.update(_redundant(requests, children, n_plus_one))
    http_loops = _http_repeats(requests, children)
    found.update(http_loops)
    found.update(_slow_statements(requests, children))
    found.update(_slow_hosts(requests, children, http_loops))
    return found


def _summary(per_request: list[int]) -> dict[str, float]:
    return {
        "requests_affected": len(per_request),
        "repeats_median": percentile([float(n) for n in per_request], 50),
        "repeats_max": max(per_request),
    }


def _query_repeats(
    requests: list[Span], children: dict[int, list[Span]]
) -> dict[Key, dict[str, float]]:
    """N+1: one statement at least N_PLUS_ONE_MIN times under one parent, with
    values that differ or are not recorded."""
    repeats: dict[Key, list[int]] = defaultdict(list)
    for request in requests:
        groups: dict[tuple[str | None, str], list[tuple[str, ...]]] = defaultdict(list)
        for call in children[id(request)]:
            statement = statement_of(call) if is_db_call(call) else None
            if statement:
                text, literals = fingerprint(statement)
                groups[(call.parent_id, text)].append(literals)
        per_key: dict[Key, int] = defaultdict(int)
        for (_, text), values in groups.items():
            differ = not values[0] or len(set(values)) >= 2
            if len(values) >= N_PLUS_ONE_MIN and differ:
                key = ("n_plus_one_query", request.service, endpoint_of(request))
                per_key[(*key, table_of(text))] += len(values)
        for key, count in per_key.items():
            repeats[key].append(count)
    return {key: _summary(counts) for key, counts in repeats.items()}


def _redundant(
    requests: list[Span],
    children: dict[int, list[Span]],
    n_plus_one: dict[Key, dict[str, float]],
) -> dict[Key, dict[str, float]]:
    """The same statement with the same inline values REDUNDANT_MIN times in one
    request, unless it is already an N+1 there."""
    repeats: dict[Key, list[int]] = defaultdict(list)
    for request in requests:
        counts: dict[tuple[str, tuple[str, ...]], int] = defaultdict(int)
        for call in children[id(request)]:
            statement = statement_of(call) if is_db_call(call) else None
            if statement:
                text, literals = fingerprint(statement)
                if literals:
                    counts[(text, literals)] += 1
        for (text, _), count in counts.items():
            key = ("redundant_query", request.service, endpoint_of(request))
            covered = ("n_plus_one_query", *key[1:], table_of(text)) in n_plus_one
            if count >= REDUNDANT_MIN and not covered:
                repeats[(*key, table_of(text))].append(count)
    return {key: _summary(counts) for key, counts in repeats.items()}


def _http_repeats(
    requests: list[Span], children: dict[int, list[Span]]
) -> dict[Key, dict[str, float]]:
    """N+1 HTTP: one URL template at least N_PLUS_ONE_HTTP_MIN times under one
    parent."""
    repeats: dict[Key, list[int]] = defaultdict(list)
    templates: dict[Key, set[str]] = defaultdict(set)
    for request in requests:
        groups: dict[tuple[str | None, str, str], int] = defaultdict(int)
        for call in children[id(request)]:
            if not is_db_call(call) and url_of(call):
                method = call.get("http.request.method", "http.method")
                host, template = url_template(method, url_of(call))
                groups[(call.parent_id, host, template)] += 1
        per_key: dict[Key, int] = defaultdict(int)
        for (_, host, template), count in groups.items():
            if count >= N_PLUS_ONE_HTTP_MIN:
                key = ("n_plus_one_http", request.service, endpoint_of(request), host)
                per_key[key] += count
                templates[key].add(template)
        for key, count in per_key.items():
            repeats[key].append(count)
    return {
        key: {**_summary(counts), "templates": templates[key]}  # type: ignore[dict-item]
        for key, counts in repeats.items()
    }


def _slow_statements(
    requests: list[Span], children: dict[int, list[Span]]
) -> dict[Key, dict[str, float]]:
    """Slow queries, and the missing indexes that explain some of them."""
    calls: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    affected: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for request in requests:
        for call in children[id(request)]:
            statement = statement_of(call) if is_db_call(call) else None
            if statement:
                key = (request.service, endpoint_of(request), fingerprint(statement)[0])
                calls[key].append(call.ms)
                affected[key].add(id(request))
    found: dict[Key, dict[str, float]] = {}
    for (service, endpoint, text), durations in calls.items():
        p95 = percentile(durations, 95)
        mean = sum(durations) / len(durations)
        frequent = len(durations) >= INDEX_MIN_CALLS and mean >= INDEX_MIN_MEAN_MS
        filtered = _FILTER.search(text)
        unindexed = filtered is not None and filtered.group(2) != "id"
        if (
            text.upper().startswith("SELECT")
            and unindexed
            and (p95 >= SLOW_QUERY_P95_MS or frequent)
        ):
            kind = "missing_index"
        elif p95 >= SLOW_QUERY_P95_MS:
            kind = "slow_query"
        else:
            continue
        found[(kind, service, endpoint, table_of(text))] = {
            "calls": len(durations),
            "p95_ms": p95,
            "requests_affected": len(affected[(service, endpoint, text)]),
        }
    return found


def _slow_hosts(
    requests: list[Span],
    children: dict[int, list[Span]],
    http_loops: dict[Key, dict[str, Any]],
) -> dict[Key, dict[str, float]]:
    """Hosts whose calls have a p95 over SLOW_EXTERNAL_P95_MS or take
    EXTERNAL_SHARE of the endpoint's time, and EXTERNAL_MIN_MS a request."""
    durations: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    wall: dict[tuple[str, str, str], float] = defaultdict(float)
    affected: dict[tuple[str, str, str], int] = defaultdict(int)
    templates: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    served: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], float] = defaultdict(float)
    for request in requests:
        endpoint = (request.service, endpoint_of(request))
        served[endpoint] += 1
        total[endpoint] += request.ms
        by_host: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for call in children[id(request)]:
            if not is_db_call(call) and url_of(call):
                method = call.get("http.request.method", "http.method")
                host, template = url_template(method, url_of(call))
                durations[(*endpoint, host)].append(call.ms)
                templates[(*endpoint, host)].add(template)
                by_host[host].append((call.start_ns, call.end_ns))
        for host, intervals in by_host.items():
            wall[(*endpoint, host)] += union_ms(intervals)
            affected[(*endpoint, host)] += 1
    found: dict[Key, dict[str, float]] = {}
    for key, values in durations.items():
        service, endpoint, host = key
        p95 = percentile(values, 95)
        share = wall[key] / total[(service, endpoint)]
        cost = wall[key] / served[(service, endpoint)]
        slow = (p95 >= SLOW_EXTERNAL_P95_MS or share >= EXTERNAL_SHARE) and (
            cost >= EXTERNAL_MIN_MS
        )
        loop = http_loops.get(("n_plus_one_http", *key))
        if not slow or (loop and loop["templates"] >= templates[key]):
            continue
        found[("slow_external_call", *key)] = {
            "calls": len(values),
            "p95_ms": p95,
            "requests_affected": affected[key],
        }
    return found
