"""Reader for Zipkin v2 JSON: a list of spans, a list of traces, or one span.

Times are microseconds; ``traceId`` is 16 or 32 hex digits (padded to 32),
``parentId`` absent for a root. Tags are strings only, so the normalised
columns convert what they need (``http.status_code`` ``"200"`` becomes 200).
A span without ``kind`` is a local span: INTERNAL, as the OpenTelemetry
Zipkin exporter omits the kind of INTERNAL spans.

``localEndpoint.serviceName`` is the service (the only resource attribute);
``remoteEndpoint.serviceName`` is the peer service when no ``peer.service``
tag says otherwise. Status comes from ``otel.status_code`` and the ``error``
tag, whose value is the description. Annotations become events.

Zipkin servers lowercase span names, so the endpoint of a SERVER span comes
from the ``http.method`` and ``http.route`` tags, never from the name. With
``shared: true`` a SERVER span reuses its client's span id: the pair is told
apart by kind, not by id. Zipkin v1 JSON (``binaryAnnotations``, endpoint per
annotation) is recognised and refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from perfkit.ingest._rows import (
    MALFORMED,
    BadSpan,
    Resource,
    event_dict,
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
    parent_id,
    span_kind,
    uint64,
)
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import (
    KIND_INTERNAL,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
    SpanRow,
)

_BATCH: Final = 5000


def is_zipkin(doc: Any) -> bool:
    """Whether a parsed JSON document is Zipkin JSON (v1 or v2)."""
    if isinstance(doc, dict):
        return _is_span(doc)
    if isinstance(doc, list):
        # Spans (or lists of them) with maybe a bad one among them, which the
        # reader reports where it is: one bad span does not make the file
        # something other than Zipkin.
        items = list(_spans(doc))
        return any(_is_span(item) for item in items) and all(
            item is None or isinstance(item, dict) for item in items
        )
    return False


def is_v1(doc: Any) -> bool:
    """Whether Zipkin JSON is the v1 model, which perfkit does not read."""
    for span in _spans(doc):
        if not isinstance(span, dict):
            continue
        if "binaryAnnotations" in span:
            return True
        for annotation in span.get("annotations") or ():
            if isinstance(annotation, dict) and "endpoint" in annotation:
                return True
    return False


def _is_span(item: Any) -> bool:
    return isinstance(item, dict) and "traceId" in item and "id" in item


def _spans(doc: Any) -> Iterator[Any]:
    if isinstance(doc, dict):
        yield doc
        return
    for item in doc:
        if isinstance(item, list):
            yield from item
        else:
            yield item


def read_document(doc: Any, ctx: ReadContext) -> Iterator[list[SpanRow]]:
    """Rows of a parsed Zipkin v2 document, in lists of a few thousand."""
    resources: dict[str, Resource] = {}
    rows: list[SpanRow] = []
    for i, span in enumerate(_spans(doc)):
        if not isinstance(span, dict):
            problem = f"not a span object but {_json_type(span)}"
            ctx.bad("bad_span", problem, position=f"span {i}")
            continue
        try:
            rows.append(_span(span, resources))
        except (BadSpan, *MALFORMED) as error:
            report_bad_span(ctx, error, f"span {i}")
        if len(rows) >= _BATCH:
            yield rows
            rows = []
    if rows:
        yield rows


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


def _span(span: dict[str, Any], resources: dict[str, Resource]) -> SpanRow:
    trace_id = hex_id(span.get("traceId"), 16, pad=True)
    span_id = hex_id(span.get("id"), 8, pad=True)
    if trace_id is None or span_id is None:
        raise BadSpan(
            "missing_ids",
            f"span ids are not valid (traceId {span.get('traceId')!r}, "
            f"id {span.get('id')!r})",
        )
    try:
        parent = parent_id(span.get("parentId"), pad=True)
    except BadValue as error:
        raise BadSpan("bad_id", str(error)) from None
    start, end = microsecond_times(
        span.get("timestamp"), span.get("duration"), "timestamp"
    )

    kind = span.get("kind")
    try:
        kind = KIND_INTERNAL if kind is None else span_kind(kind)
    except BadValue as error:
        raise BadSpan("bad_kind", str(error)) from None
    attributes = dict(span.get("tags") or {})
    status = _status(attributes)
    scope = scope_from_tags(attributes)
    remote = span.get("remoteEndpoint") or {}
    name = span.get("name")
    return span_row(
        trace_id,
        span_id,
        parent,
        name if isinstance(name, str) else "",
        kind,
        start,
        end,
        *status,
        _resource(span.get("localEndpoint"), resources),
        scope,
        attributes,
        _events(span.get("annotations")),
        EMPTY_LIST,
        peer_service=remote.get("serviceName") or None,
    )


def _resource(endpoint: Any, cache: dict[str, Resource]) -> Resource:
    service = (endpoint or {}).get("serviceName") or ""
    resource = cache.get(service)
    if resource is None:
        resource = cache[service] = make_resource(
            {"service.name": service} if service else {}
        )
    return resource


def _status(attributes: dict[str, Any]) -> tuple[int, str | None]:
    code = str(attributes.pop("otel.status_code", "")).upper()
    description = attributes.pop("otel.status_description", None)
    error = attributes.pop("error", None)
    if code == "ERROR" or error is not None:
        if description is None and error not in (None, "", "true", True):
            description = error
        return STATUS_ERROR, str(description) if description else None
    if code == "OK":
        return STATUS_OK, None
    return STATUS_UNSET, None


def _events(annotations: Any) -> str:
    if not annotations:
        return EMPTY_LIST
    events = [
        event_dict(
            str(annotation.get("value") or ""),
            uint64(annotation.get("timestamp"), "annotation timestamp") * 1000,
            {},
        )
        for annotation in annotations
    ]
    return dumps(events)
