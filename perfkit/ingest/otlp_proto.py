"""Reader for OTLP protobuf: a bare message, or the Collector file exporter's stream.

A bare file is one ``ExportTraceServiceRequest`` (the same bytes as a
``TracesData``), as an OTLP/HTTP exporter posts it. The Collector's file
exporter with ``format: proto`` writes a stream of messages, each behind a
4-byte big-endian length; with its legacy ``compression: zstd`` each message
is zstd-compressed on its own, and a message may also be OTLP JSON. The stream
is read one message at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

import orjson
import zstandard
from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, TracesData

from perfkit.ingest._io import ZSTD_MAGIC
from perfkit.ingest._rows import (
    BadSpan,
    Resource,
    event_dict,
    link_dict,
    make_resource,
    span_row,
)
from perfkit.ingest._values import EMPTY_LIST, INT64_MAX, BadValue, dumps
from perfkit.ingest.otlp_json import DocumentReader
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import SpanRow

_PREFIX: Final = 4
_ZERO_TRACE: Final = bytes(16)
_ZERO_SPAN: Final = bytes(8)


def read_message(data: bytes, ctx: ReadContext, where: str = "") -> list[SpanRow]:
    """The rows of one serialised TracesData / ExportTraceServiceRequest."""
    message = TracesData()
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        ctx.bad(
            "bad_proto",
            f"not a valid OTLP protobuf message ({error})",
            position=where.rstrip(", ") or None,
        )
        return []
    rows: list[SpanRow] = []
    for i, block in enumerate(message.resource_spans):
        _resource_spans(block, ctx, f"{where}resourceSpans[{i}]", rows)
    return rows


def read_stream(stream: BinaryIO, ctx: ReadContext) -> Iterator[list[SpanRow]]:
    """Rows of a length-prefixed message stream, one list per message.

    A stream that ends inside a message is reported as truncated and
    retryable: the Collector may still be writing it.
    """
    json_reader = DocumentReader(ctx)
    offset = 0
    while prefix := stream.read(_PREFIX):
        size = int.from_bytes(prefix, "big")
        payload = stream.read(size) if len(prefix) == _PREFIX else b""
        if len(prefix) < _PREFIX or len(payload) < size:
            ctx.bad(
                "truncated",
                "the stream ends inside a message; it may still be being written",
                position=f"byte {offset}",
                retryable=True,
            )
            return
        rows = _payload_rows(payload, ctx, json_reader, f"byte {offset}, ")
        offset += _PREFIX + size
        if rows:
            yield rows


def _payload_rows(
    payload: bytes, ctx: ReadContext, json_reader: DocumentReader, where: str
) -> list[SpanRow]:
    if payload.startswith(ZSTD_MAGIC):
        try:
            payload = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
        except zstandard.ZstdError as error:
            ctx.bad(
                "bad_compression",
                f"the message's zstd data is corrupt ({error})",
                position=where.rstrip(", "),
            )
            return []
    if payload.lstrip()[:1] == b"{":
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            ctx.bad(
                "bad_json", f"the message is not valid JSON ({error})", position=where
            )
            return []
        return json_reader.rows(doc, where.rstrip(", "))
    return read_message(payload, ctx, where)


def _resource_spans(
    block: ResourceSpans, ctx: ReadContext, where: str, rows: list[SpanRow]
) -> None:
    try:
        resource = make_resource(attributes(block.resource.attributes))
    except BadValue as error:
        ctx.bad("bad_structure", f"malformed resource: {error}", position=where)
        return
    for j, scoped in enumerate(block.scope_spans):
        scope = (scoped.scope.name or None, scoped.scope.version or None)
        for k, span in enumerate(scoped.spans):
            try:
                rows.append(_span(span, resource, scope))
            except BadSpan as bad:
                ctx.bad(
                    bad.reason,
                    bad.message,
                    position=f"{where}.scopeSpans[{j}].spans[{k}]",
                )


def _span(
    span: Span, resource: Resource, scope: tuple[str | None, str | None]
) -> SpanRow:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or len(span_id) != 8 or trace_id == _ZERO_TRACE:
        raise BadSpan("missing_ids", _id_problem(trace_id, span_id))
    if span_id == _ZERO_SPAN:
        raise BadSpan("missing_ids", "span id is all zeros")
    if parent and len(parent) != 8:
        raise BadSpan("bad_id", f"parent span id has {len(parent)} bytes, not 8")
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if not start or not end:
        which = "start" if not start else "end"
        raise BadSpan("missing_times", f"span has no {which} time")
    if start > INT64_MAX or end > INT64_MAX:
        raise BadSpan(
            "bad_time", f"span times {start}, {end} are out of the int64 range"
        )
    if not 0 <= span.kind <= 5:
        raise BadSpan("bad_kind", f"unknown span kind {span.kind}")
    if not 0 <= span.status.code <= 2:
        raise BadSpan("bad_status", f"unknown status code {span.status.code}")
    try:
        attrs = attributes(span.attributes)
        events = _events(span) if span.events else EMPTY_LIST
        links = _links(span) if span.links else EMPTY_LIST
    except BadValue as error:
        raise BadSpan("bad_value", str(error)) from None
    return span_row(
        trace_id.hex(),
        span_id.hex(),
        parent.hex() if parent.strip(b"\0") else None,
        span.name,
        span.kind,
        start,
        end,
        span.status.code,
        span.status.message or None,
        resource,
        scope,
        attrs,
        events,
        links,
    )


def _id_problem(trace_id: bytes, span_id: bytes) -> str:
    if not trace_id or not span_id:
        return f"span has no {'trace_id' if not trace_id else 'span_id'}"
    return (
        f"span ids have {len(trace_id)} and {len(span_id)} bytes "
        "(or are all zeros); expected 16 and 8"
    )


def attributes(items: Any) -> dict[str, Any]:
    """Repeated KeyValue as a dict of plain Python values."""
    return {item.key: any_value(item.value) for item in items}


def any_value(value: AnyValue) -> Any:
    """One AnyValue as a plain value: bytes as base64 text, as in OTLP JSON."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "bool_value":
        return value.bool_value
    if which == "double_value":
        return value.double_value
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _events(span: Span) -> str:
    return dumps(
        [
            event_dict(
                event.name, event.time_unix_nano or None, attributes(event.attributes)
            )
            for event in span.events
        ]
    )


def _links(span: Span) -> str:
    return dumps(
        [
            link_dict(
                link.trace_id.hex(), link.span_id.hex(), attributes(link.attributes)
            )
            for link in span.links
        ]
    )
