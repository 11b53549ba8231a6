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

from perfkit.ingest._rows import (
    BadSpan,
    Resource,
    event_dict,
    link_dict,
    make_resource,
    span_row,
)
from perfkit.ingest._values import (
    EMPTY_LIST,
    BadValue,
    dumps,
    hex_id,
    int64,
    parent_id,
    span_kind,
    status_code,
    uint64,
)
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
                scope = _scope(_first_of(scoped, _SCOPE_KEYS))
                spans = scoped.get("spans") or ()
                iter(spans)
            except (AttributeError, TypeError) as error:
                self.ctx.bad(
                    "bad_structure",
                    f"malformed scopeSpans: {error}",
                    position=f"{where}.scopeSpans[{j}]",
                )
                continue
            for k, span in enumerate(spans):
                try:
                    rows.append(_span(span, resource, scope))
                except BadSpan as bad:
                    self.ctx.bad(
                        bad.reason,
                        bad.message,
                        position=f"{where}.scopeSpans[{j}].spans[{k}]",
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


def _span(span: Any, resource: Resource, scope: tuple[str | None, str | None]) -> Any:
    try:
        return _span_fields(span, resource, scope)
    except BadSpan:
        raise
    except BadValue as error:
        raise BadSpan("bad_value", str(error)) from None
    except (AttributeError, TypeError, KeyError, ValueError) as error:
        problem = f"malformed span ({type(error).__name__}: {error})"
        raise BadSpan("bad_span", problem) from None


def _span_fields(
    span: dict[str, Any], resource: Resource, scope: tuple[str | None, str | None]
) -> SpanRow:
    if "traceId" not in span:
        span = _camel_keys(span)
    get = span.get
    trace_id = hex_id(get("traceId"), 16)
    span_id = hex_id(get("spanId"), 8)
    if trace_id is None or span_id is None:
        raise BadSpan("missing_ids", _id_problem(get("traceId"), get("spanId")))
    parent = get("parentSpanId")
    if parent:
        parent = parent_id(parent)
    start, end = _times(get("startTimeUnixNano"), get("endTimeUnixNano"))

    kind = get("kind", 0)
    if type(kind) is not int or not 0 <= kind <= 5:
        try:
            kind = span_kind(kind)
        except BadValue as error:
            raise BadSpan("bad_kind", str(error)) from None
    status = get("status")
    status_fields = _status(status) if status else (0, None)
    name = get("name")
    if type(name) is not str:
        name = "" if name is None else str(name)
    composite = get("composite")

    events = get("events")
    links = get("links")
    return span_row(
        (trace_id, span_id, parent or None),
        name,
        kind,
        (start, end),
        status_fields,
        resource,
        scope,
        attributes(get("attributes")),
        _events(events) if events else EMPTY_LIST,
        _links(links) if links else EMPTY_LIST,
        composite=composite.get("count") if isinstance(composite, dict) else None,
    )


def _times(start: Any, end: Any) -> tuple[int, int]:
    try:
        times = uint64(start, "start time"), uint64(end, "end time")
    except BadValue as error:
        missing = start is None or end is None
        raise BadSpan("missing_times" if missing else "bad_time", str(error)) from None
    if 0 in times:
        which = "start" if times[0] == 0 else "end"
        raise BadSpan("missing_times", f"span has no {which} time (0)")
    return times


def _id_problem(trace_id: object, span_id: object) -> str:
    if trace_id is None or span_id is None:
        return f"span has no {'traceId' if trace_id is None else 'spanId'}"
    return (
        f"span ids are not valid (traceId {trace_id!r}, spanId {span_id!r}): "
        "expected 16 and 8 bytes, not all zeros, as hex or base64"
    )


def _status(status: dict[str, Any]) -> tuple[int, str | None]:
    code = status.get("code")
    if type(code) is not int or not 0 <= code <= 2:
        try:
            code = status_code(code)
        except BadValue as error:
            raise BadSpan("bad_status", str(error)) from None
    message = status.get("message")
    return code, (str(message) if message else None)


def _scope(scope: Any) -> tuple[str | None, str | None]:
    if not scope:
        return (None, None)
    name = scope.get("name")
    version = scope.get("version")
    return (str(name) if name else None, str(version) if version else None)


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: AnyValue}]`` as a dict of plain Python values.

    A JSON object of plain values is accepted as it is.

    Raises:
        BadValue: an integer that is not one.
        TypeError, KeyError, AttributeError: a malformed list.
    """
    if not items:
        return {}
    if isinstance(items, dict):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        value = item.get("value")
        if type(value) is dict:
            text = value.get("stringValue")
            out[item["key"]] = text if text is not None else any_value(value)
        else:
            out[item["key"]] = value
    return out


def any_value(value: Any) -> Any:
    """One OTLP AnyValue as a plain Python value; ``{}`` is None.

    ``intValue`` becomes an exact int, arrays lists, kvlists dicts; bytes stay
    as their base64 text.
    """
    if type(value) is not dict:
        return value
    for key, inner in value.items():
        convert = _ANY_VALUE.get(key)
        if convert is not None:
            return convert(inner)
    return None


def _array(inner: Any) -> Any:
    return [any_value(item) for item in (inner or {}).get("values") or ()]


def _kvlist(inner: Any) -> Any:
    return attributes((inner or {}).get("values"))


def _boolean(inner: Any) -> Any:
    return inner if isinstance(inner, bool) else str(inner).lower() == "true"


def _double(inner: Any) -> Any:
    return float(inner) if isinstance(inner, str | int) else inner


def _same(inner: Any) -> Any:
    return inner


_ANY_VALUE: Final = {
    "stringValue": _same,
    "intValue": int64,
    "boolValue": _boolean,
    "doubleValue": _double,
    "arrayValue": _array,
    "kvlistValue": _kvlist,
    "bytesValue": _same,
    "string_value": _same,
    "int_value": int64,
    "bool_value": _boolean,
    "double_value": _double,
    "array_value": _array,
    "kvlist_value": _kvlist,
    "bytes_value": _same,
}


def _events(items: Any) -> str:
    out = []
    for event in items:
        if "timeUnixNano" not in event:
            event = _camel_keys(event)
        time = event.get("timeUnixNano")
        out.append(
            event_dict(
                str(event.get("name") or ""),
                uint64(time, "event time") or None if time is not None else None,
                attributes(event.get("attributes")),
            )
        )
    return dumps(out)


def _links(items: Any) -> str:
    out = []
    for link in items:
        if "traceId" not in link:
            link = _camel_keys(link)
        trace_id, span_id = link.get("traceId"), link.get("spanId")
        out.append(
            link_dict(
                hex_id(trace_id, 16) or str(trace_id),
                hex_id(span_id, 8) or str(span_id),
                attributes(link.get("attributes")),
            )
        )
    return dumps(out)


def _first_of(mapping: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


_CAMEL: dict[str, str] = {}
_CAMEL_CACHE_LIMIT: Final = 1024


def _camel_keys(mapping: dict[str, Any]) -> dict[str, Any]:
    # snake_case keys, which the Collector still accepts, to camelCase.
    out = {}
    for key, value in mapping.items():
        camel = _CAMEL.get(key)
        if camel is None:
            head, *rest = key.split("_")
            camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
            if len(_CAMEL) < _CAMEL_CACHE_LIMIT:
                _CAMEL[key] = camel
        out[camel] = value
    return out
