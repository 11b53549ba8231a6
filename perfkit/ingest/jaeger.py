"""Reader for Jaeger JSON, the shape of the v1 query API and the UI's downloads.

Accepted: ``{"data": [trace, ...]}`` (``data`` may also be a single trace), a
bare trace object ``{traceID, spans, processes}``, a list of traces, and the
anonymizer's list of spans that each carry their own ``process``. Times are
microseconds; 64-bit trace ids are padded to 128 bits.

OpenTelemetry spans exported to Jaeger carry their OTLP fields as tags, which
are turned back into fields and taken out of the attributes: ``span.kind``,
``otel.status_code`` / ``error`` / ``otel.status_description``, and
``otel.scope.name`` / ``otel.scope.version`` (formerly ``otel.library.*``). A
process becomes the resource: ``serviceName`` is ``service.name``, its tags the
other resource attributes. The first CHILD_OF reference within the trace is the
parent (a FOLLOWS_FROM one when there is no CHILD_OF); the other references
become links. Logs become events, named by their ``event`` field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from perfkit.errors import InputError
from perfkit.ingest._rows import (
    MALFORMED,
    BadSpan,
    Resource,
    event_dict,
    link_dict,
    make_resource,
    microsecond_times,
    report_bad_span,
    scope_from_tags,
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
    uint64,
)
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import (
    KIND_UNSPECIFIED,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
    SpanRow,
)

_STATUS_TAGS: Final = ("otel.status_code", "otel.status_description", "error")
_NO_PROCESS: Final = make_resource({})


def is_jaeger(doc: Any) -> bool:
    """Whether a parsed JSON document has one of the Jaeger shapes."""
    if isinstance(doc, dict):
        if "data" in doc:
            data = doc["data"]
            return (
                data is None
                or _is_trace(data)
                or (isinstance(data, list) and (not data or _list_of(data) == "traces"))
            )
        return _is_trace(doc)
    if isinstance(doc, list) and doc:
        return _list_of(doc) is not None
    return False


def _list_of(items: list[Any]) -> str | None:
    """``"traces"`` or ``"spans"``: what a list holds, or None if not Jaeger.

    One bad item among good ones does not make the list something else: the
    reader reports it where it is.
    """
    if not all(item is None or isinstance(item, dict) for item in items):
        return None
    if any(_is_trace(item) for item in items):
        return "traces"
    if any(_is_span(item) for item in items):
        return "spans"
    return None


def _is_trace(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("spans"), list)
        and ("processes" in item or "traceID" in item)
    )


def _is_span(item: Any) -> bool:
    return isinstance(item, dict) and "spanID" in item and "traceID" in item


def read_document(doc: Any, ctx: ReadContext) -> Iterator[list[SpanRow]]:
    """Rows of a parsed Jaeger document, one list per trace.

    Raises:
        InputError: the document is a Jaeger API error response.
    """
    for trace, where in _traces(doc, ctx):
        if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
            problem = "not a Jaeger trace object (no list of spans)"
            ctx.bad("bad_structure", problem, position=where.rstrip(".") or None)
            continue
        processes = trace.get("processes") or {}
        resources: dict[str, Resource] = {}
        rows: list[SpanRow] = []
        for s, span in enumerate(trace.get("spans") or ()):
            try:
                resource = _resource(span, processes, resources)
                rows.append(_span(span, resource))
            except (BadSpan, *MALFORMED) as error:
                report_bad_span(ctx, error, f"{where}spans[{s}]")
        if rows:
            yield rows


def _traces(doc: Any, ctx: ReadContext) -> Iterator[tuple[Any, str]]:
    if isinstance(doc, dict) and "data" in doc:
        data = doc["data"]
        if not data and doc.get("errors"):
            raise InputError(
                ctx.path,
                f"a Jaeger API error response: {doc['errors']!r}",
                code="not_traces",
            )
        if isinstance(data, dict):
            yield data, "data."
        else:
            for i, trace in enumerate(data or ()):
                yield trace, f"data[{i}]."
    elif isinstance(doc, dict):
        yield doc, ""
    elif _list_of(doc) == "traces":
        for i, trace in enumerate(doc):
            yield trace, f"[{i}]."
    else:
        yield {"spans": doc}, ""


def _resource(
    span: dict[str, Any], processes: Any, cache: dict[str, Resource]
) -> Resource:
    process_id = span.get("processID")
    if process_id is not None and process_id in cache:
        return cache[process_id]
    process = span.get("process") or processes.get(process_id)
    if not process:
        return _NO_PROCESS
    attributes = tags(process.get("tags"))
    service = process.get("serviceName")
    if service is not None:
        attributes = {"service.name": service} | attributes
    resource = make_resource(attributes)
    if process_id is not None:
        cache[process_id] = resource
    return resource


def _span(span: dict[str, Any], resource: Resource) -> SpanRow:
    trace_id = hex_id(span.get("traceID"), 16, pad=True)
    span_id = hex_id(span.get("spanID"), 8, pad=True)
    if trace_id is None or span_id is None:
        raise BadSpan(
            "missing_ids",
            f"span ids are not valid (traceID {span.get('traceID')!r}, "
            f"spanID {span.get('spanID')!r})",
        )
    parent, links = _references(span, trace_id)
    start, end = microsecond_times(
        span.get("startTime"), span.get("duration"), "startTime"
    )

    attributes = tags(span.get("tags"))
    kind = _kind(attributes.pop("span.kind", None))
    status = _status(attributes)
    scope = scope_from_tags(attributes)
    name = span.get("operationName")
    return span_row(
        trace_id,
        span_id,
        parent,
        name if isinstance(name, str) else "",
        kind,
        start,
        end,
        *status,
        resource,
        scope,
        attributes,
        _events(span.get("logs")),
        dumps(links) if links else EMPTY_LIST,
    )


def _references(span: dict[str, Any], trace_id: str) -> tuple[str | None, list[Any]]:
    references = [r for r in span.get("references") or () if r.get("spanID")]
    parent_ref = None
    for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in references:
            same_trace = hex_id(ref.get("traceID"), 16, pad=True) == trace_id
            if parent_ref is None and same_trace and ref.get("refType") == ref_type:
                parent_ref = ref
    links = [
        link_dict(
            hex_id(ref.get("traceID"), 16, pad=True) or str(ref.get("traceID")),
            hex_id(ref.get("spanID"), 8, pad=True) or str(ref.get("spanID")),
            {},
        )
        for ref in references
        if ref is not parent_ref
    ]
    if parent_ref is not None:
        return _parent(parent_ref.get("spanID")), links
    return _parent(span.get("parentSpanID")), links


def _parent(value: object) -> str | None:
    try:
        return parent_id(value, pad=True)
    except BadValue as error:
        raise BadSpan("bad_id", str(error)) from None


def _kind(value: Any) -> int:
    if value is None:
        return KIND_UNSPECIFIED
    try:
        return span_kind(value)
    except BadValue:
        return KIND_UNSPECIFIED


def _status(attributes: dict[str, Any]) -> tuple[int, str | None]:
    code, description, error = (attributes.pop(key, None) for key in _STATUS_TAGS)
    if str(code).upper() == "ERROR" or error is True or str(error).lower() == "true":
        status = STATUS_ERROR
    elif str(code).upper() == "OK":
        status = STATUS_OK
    else:
        status = STATUS_UNSET
    return status, str(description) if description else None


def tags(items: Any) -> dict[str, Any]:
    """Jaeger ``[{key, type, value}]`` tags as a dict of plain Python values.

    ``int64`` values, which Jaeger writes as strings beyond 2^53, become exact
    ints; ``binary`` values stay as their base64 text.

    Raises:
        BadValue: an int64 tag that is not an integer.
    """
    out: dict[str, Any] = {}
    for tag in items or ():
        value = tag.get("value")
        kind = tag.get("type")
        if kind == "int64":
            value = int64(value)
        elif kind == "float64" and isinstance(value, str | int):
            value = float(value)
        elif kind == "bool" and isinstance(value, str):
            value = value.lower() == "true"
        out[tag["key"]] = value
    return out


def _events(logs: Any) -> str:
    if not logs:
        return EMPTY_LIST
    events = []
    for log in logs:
        fields = tags(log.get("fields"))
        name = fields.pop("event", "")
        time = log.get("timestamp")
        time_ns = uint64(time, "log timestamp") * 1000 if time is not None else None
        events.append(event_dict(str(name), time_ns, fields))
    return dumps(events)
