"""Reader for OTLP JSON: one TracesData document, or JSON Lines of them.

JSON Lines is what the Collector's file exporter and Python's OTLP JSON file
exporter write: one ``TracesData`` per line. The reader is lenient where the
ecosystem is: hex ids of either case or base64 ids where the length says so,
64-bit integers as strings or numbers, enums as numbers or names, camelCase or
snake_case keys, Tempo's ``batches`` and the pre-1.0
``instrumentationLibrarySpans``, and the ``{"result": ...}`` wrapper of
Jaeger's api/v3. It never uses protobuf's ``json_format``, which reads hex ids
as base64.

This is the path a million-span file takes, so the common case (camelCase
keys, lowercase hex ids, string values) is kept to plain dict lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Final

import orjson

from perfkit.ingest._otlp_json_span import attributes, scope_of, span_row_of
from perfkit.ingest._rows import BadSpan, Resource, make_resource
from perfkit.ingest._values import BadValue
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import SpanRow

_RESOURCE_SPANS_KEYS: Final = ("resourceSpans", "resource_spans", "batches")
_SCOPE_SPANS_KEYS: Final = (
    "scopeSpans",
    "scope_spans",
    "instrumentationLibrarySpans",
    "instrumentation_library_spans",
)
_SCOPE_KEYS: Final = ("scope", "instrumentationLibrary", "instrumentation_library")
_OTHER_SIGNALS: Final = {
    "resourceMetrics": "metrics",
    "resource_metrics": "metrics",
    "resourceLogs": "logs",
    "resource_logs": "logs",
    "resourceProfiles": "profiles",
    "resource_profiles": "profiles",
}
_RESOURCE_CACHE_LIMIT: Final = 4096


def signal_of(doc: object) -> str | None:
    """``"traces"``, another OTLP signal's name, or None if ``doc`` is not OTLP.

    Looks through the ``{"result": ...}`` wrapper and accepts a list of
    documents.
    """
    if isinstance(doc, list):
        return "traces" if doc and all(signal_of(d) == "traces" for d in doc) else None
    if not isinstance(doc, dict):
        return None
    if "result" in doc and isinstance(doc["result"], dict):
        return signal_of(doc["result"])
    if any(key in doc for key in _RESOURCE_SPANS_KEYS):
        return "traces"
    for key, signal in _OTHER_SIGNALS.items():
        if key in doc:
            return signal
    return None


class DocumentReader:
    """Turns parsed OTLP JSON documents into span rows.

    One reader serves a whole file, so that the work done per resource (the
    service name, the resource's JSON) is shared between lines that repeat the
    same resource, down to the same ``str`` objects.
    """

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self._resources: dict[bytes, Resource] = {}

    def rows(self, doc: Any, where: str = "") -> list[SpanRow]:
        """The rows of one document; bad spans go to the context.

        ``where`` prefixes every position reported (``"line 3, "``).
        """
        if doc == {}:
            return []
        signal = signal_of(doc)
        if signal != "traces":
            if signal is None:
                self.ctx.bad(
                    "not_otlp",
                    "not an OTLP TracesData object (no resourceSpans)",
                    position=where.rstrip(", ") or None,
                )
            else:
                self.ctx.ignored[signal] += 1
            return []
        rows: list[SpanRow] = []
        for document in doc if isinstance(doc, list) else (doc,):
            self._document(document, where, rows)
        return rows

    def _document(self, doc: dict[str, Any], where: str, rows: list[SpanRow]) -> None:
        if "result" in doc:
            doc = doc["result"]
        resource_spans = _first_of(doc, _RESOURCE_SPANS_KEYS)
        if not isinstance(resource_spans, list):
            if resource_spans is not None:
                self.ctx.bad(
                    "bad_structure",
                    "resourceSpans is not a list",
                    position=f"{where}resourceSpans",
                )
            return
        for i, block in enumerate(resource_spans):
            self._resource_spans(block, f"{where}resourceSpans[{i}]", rows)

    def _resource_spans(self, block: Any, where: str, rows: list[SpanRow]) -> None:
        try:
            resource = self._resource(block.get("resource"))
            scope_spans = _first_of(block, _SCOPE_SPANS_KEYS) or ()
            iter(scope_spans)
        except (AttributeError, TypeError, BadValue, KeyError) as error:
            self.ctx.bad(
                "bad_structure", f"malformed resource: {error}", position=where
            )
            return
        for j, scoped in enumerate(scope_spans):
            try:
                scope = scope_of(_first_of(scoped, _SCOPE_KEYS))
                spans = scoped.get("spans") or ()
                iter(spans)
            except (AttributeError, TypeError) as error:
                self.ctx.bad(
                    "bad_structure",
                    f"malformed scopeSpans: {error}",
                    position=f"{where}.scopeSpans[{j}]",
                )
                continue
            self._spans(spans, resource, scope, f"{where}.scopeSpans[{j}]", rows)

    def _spans(
        self,
        spans: Any,
        resource: Resource,
        scope: tuple[str | None, str | None],
        where: str,
        rows: list[SpanRow],
    ) -> None:
        append = rows.append
        for k, span in enumerate(spans):
            try:
                append(span_row_of(span, resource, scope))
            except BadSpan as bad:
                self.ctx.bad(bad.reason, bad.message, position=f"{where}.spans[{k}]")
            except BadValue as error:
                self.ctx.bad("bad_value", str(error), position=f"{where}.spans[{k}]")
            except (AttributeError, TypeError, KeyError, ValueError) as error:
                self.ctx.bad(
                    "bad_span",
                    f"malformed span ({type(error).__name__}: {error})",
                    position=f"{where}.spans[{k}]",
                )

    def _resource(self, resource: Any) -> Resource:
        # Lines of a Collector file repeat the same resource: work it out once.
        key = orjson.dumps(resource)
        cached = self._resources.get(key)
        if cached is None:
            if len(self._resources) >= _RESOURCE_CACHE_LIMIT:
                self._resources.clear()
            raw = resource.get("attributes") if resource else None
            cached = self._resources[key] = make_resource(attributes(raw))
        return cached


def read_lines(stream: BinaryIO, ctx: ReadContext) -> Iterator[list[SpanRow]]:
    """Rows of a JSON Lines file, one list per line that holds spans.

    A line that is not JSON is a bad record; when it is the last line and has
    no newline it is reported as truncated and retryable, since the file may
    still be being written.
    """
    reader = DocumentReader(ctx)
    for number, line in enumerate(stream, 1):
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            if not line.strip():
                continue
            truncated = not line.endswith(b"\n")
            problem = "ends early" if truncated else f"is not valid JSON ({error.msg})"
            ctx.bad(
                "truncated" if truncated else "bad_json",
                f"the line {problem}",
                position=f"line {number}",
                retryable=truncated,
            )
            continue
        rows = reader.rows(doc, f"line {number}, ")
        if rows:
            yield rows


def _first_of(mapping: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None
