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

from collections.abc import Iterable, Iterator
from typing import Any, Final

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
# The byte order mark Windows tools may put before the first line.
_UTF8_BOM: Final = b"\xef\xbb\xbf"


def signal_of(doc: object) -> str | None:
    """``"traces"``, another OTLP signal's name, or None if ``doc`` is not OTLP.

    Looks through the ``{"result": ...}`` wrapper and accepts a list of
    documents.
    """
    if type(doc) is dict:
        if "resourceSpans" in doc or "resource_spans" in doc or "batches" in doc:
            return "traces"
        result = doc.get("result")
        if type(result) is dict:
            return signal_of(result)
        for key, signal in _OTHER_SIGNALS.items():
            if key in doc:
                return signal
        return None
    if isinstance(doc, list) and doc and all(signal_of(d) == "traces" for d in doc):
        return "traces"
    return None


def position(where: int | str | None, *steps: tuple[str, int]) -> str:
    """``"line 3, resourceSpans[0].scopeSpans[1]"``: where a record is.

    ``where`` is a line number, a position already in words (``"byte 40"``)
    or None for a whole document.
    """
    path = ".".join(f"{name}[{index}]" for name, index in steps)
    if where is None:
        return path
    prefix = f"line {where}" if isinstance(where, int) else where
    return f"{prefix}, {path}" if path else prefix


class DocumentReader:
    """Turns parsed OTLP JSON documents into span rows.

    One reader serves a whole file, so that the work done per resource (the
    service name, the resource's JSON) is shared between lines that repeat the
    same resource, down to the same ``str`` objects. Positions of bad records
    are only put into words when there is one to report.
    """

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self._resources: dict[bytes, Resource] = {}

    def rows(self, doc: Any, where: int | str | None = None) -> list[SpanRow]:
        """The rows of one document; bad spans go to the context.

        ``where`` is the document's line number in a JSON Lines file, or its
        position in words (``"byte 40"``), for reporting bad records.
        """
        signal = signal_of(doc)
        if signal != "traces":
            if doc == {}:
                pass  # an empty TracesData
            elif signal is None:
                self.ctx.bad(
                    "not_otlp",
                    "not an OTLP TracesData object (no resourceSpans)",
                    position=position(where) or None,
                )
            else:
                self.ctx.ignored[signal] += 1
            return []
        rows: list[SpanRow] = []
        for document in doc if type(doc) is list else (doc,):
            self._document(document, where, rows)
        return rows

    def _document(self, doc: Any, where: int | str | None, rows: list[SpanRow]) -> None:
        if "result" in doc:
            doc = doc["result"]
        resource_spans = _first_of(doc, _RESOURCE_SPANS_KEYS)
        if type(resource_spans) is not list:
            if resource_spans is not None:
                self.ctx.bad(
                    "bad_structure",
                    "resourceSpans is not a list",
                    position=f"{position(where)}, resourceSpans".lstrip(", "),
                )
            return
        for i, block in enumerate(resource_spans):
            self._resource_spans(block, where, i, rows)

    def _resource_spans(
        self, block: Any, where: int | str | None, i: int, rows: list[SpanRow]
    ) -> None:
        try:
            resource = self._resource(block.get("resource"))
            scope_spans = _first_of(block, _SCOPE_SPANS_KEYS) or ()
            iter(scope_spans)
        except (AttributeError, TypeError, BadValue, KeyError) as error:
            here = position(where, ("resourceSpans", i))
            self.ctx.bad("bad_structure", f"malformed resource: {error}", position=here)
            return
        for j, scoped in enumerate(scope_spans):
            try:
                scope = scope_of(_first_of(scoped, _SCOPE_KEYS))
                spans = scoped.get("spans") or ()
                iter(spans)
            except (AttributeError, TypeError) as error:
                here = position(where, ("resourceSpans", i), ("scopeSpans", j))
                self.ctx.bad(
                    "bad_structure", f"malformed scopeSpans: {error}", position=here
                )
                continue
            self._spans(spans, resource, scope, (where, i, j), rows)

    def _spans(
        self,
        spans: Any,
        resource: Resource,
        scope: tuple[str | None, str | None],
        where: tuple[int | str | None, int, int],
        rows: list[SpanRow],
    ) -> None:
        append = rows.append
        for k, span in enumerate(spans):
            try:
                append(span_row_of(span, resource, scope))
            except BadSpan as bad:
                self._bad_span(bad.reason, bad.message, where, k)
            except BadValue as error:
                self._bad_span("bad_value", str(error), where, k)
            except (AttributeError, TypeError, KeyError, ValueError) as error:
                problem = f"malformed span ({type(error).__name__}: {error})"
                self._bad_span("bad_span", problem, where, k)

    def _bad_span(
        self,
        reason: str,
        message: str,
        where: tuple[int | str | None, int, int],
        k: int,
    ) -> None:
        prefix, i, j = where
        steps = ("resourceSpans", i), ("scopeSpans", j), ("spans", k)
        self.ctx.bad(reason, message, position=position(prefix, *steps))

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


def read_lines(
    stream: Iterable[bytes],
    ctx: ReadContext,
    *,
    first_line: int = 1,
    reader: DocumentReader | None = None,
) -> Iterator[list[SpanRow]]:
    """Rows of a JSON Lines file, one list per line that holds spans.

    A line that is not JSON is a bad record; when it is the last line and has
    no newline it is reported as truncated and retryable, since the file may
    still be being written.

    ``first_line`` numbers the first line, for reading part of a file; a
    ``reader`` already used on the file's other parts shares its resources.
    """
    reader = reader or DocumentReader(ctx)
    for number, line in enumerate(stream, first_line):
        if number == 1 and line.startswith(_UTF8_BOM):
            line = line[len(_UTF8_BOM) :]
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
        rows = reader.rows(doc, number)
        if rows:
            yield rows


def _first_of(mapping: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None
