"""Assembling span row tuples: the part every reader shares.

A reader works out the OpenTelemetry fields of a span in its own format's
terms, then calls :func:`span_row`, which adds the normalised
semantic-convention columns and the raw JSON columns in the order of
:data:`~perfkit.ingest.schema.SPAN_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from perfkit.ingest._values import (
    EMPTY_OBJECT,
    INT64_MAX,
    BadValue,
    dumps,
    int64,
    uint64,
)
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import SpanRow
from perfkit.ingest.semconv import normalise

#: The service name of a resource without ``service.name``, as the OpenTelemetry
#: SDKs default it.
UNKNOWN_SERVICE: Final = "unknown_service"
#: Where an Elastic-style composite span says how many spans it stands for.
COMPOSITE_KEYS: Final = ("composite.count", "span.composite.count")


class BadSpan(Exception):
    """One span cannot be read; ``reason`` is the key it is counted under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Resource:
    """What every span of one resource shares, worked out once."""

    service_name: str
    attributes_json: str


def make_resource(attributes: Mapping[str, Any]) -> Resource:
    """The shared fields of a resource from its attributes."""
    service = attributes.get("service.name")
    if service is None or service == "":
        service = UNKNOWN_SERVICE
    elif not isinstance(service, str):
        service = str(service)
    text = dumps(attributes) if attributes else EMPTY_OBJECT
    return Resource(service, text)


def span_row(
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    kind: int,
    start: int,
    end: int,
    status_code: int,
    status_message: str | None,
    resource: Resource,
    scope: tuple[str | None, str | None],
    attributes: dict[str, Any],
    events_json: str,
    links_json: str,
    *,
    peer_service: str | None = None,
    composite: object = None,
) -> SpanRow:
    """One span row tuple, in the order of SPAN_COLUMNS.

    Args:
        trace_id: 32 lowercase hex digits.
        span_id: 16 lowercase hex digits.
        parent_span_id: the parent's span id, None for a root.
        name: the span name.
        kind: the OTLP SpanKind number.
        start: start time, int64 nanoseconds since the epoch.
        end: end time, likewise.
        status_code: the OTLP StatusCode number.
        status_message: the status message, or None.
        resource: the span's resource.
        scope: instrumentation scope name and version.
        attributes: the raw span attributes as plain values.
        events_json: the span events as JSON text.
        links_json: the span links as JSON text.
        peer_service: a remote service name from outside the attributes.
        composite: an explicit composite count (Elastic), else read from the
            attributes; 1 when absent.

    Raises:
        BadSpan: the end is before the start, or beyond the int64 range.
    """
    if end < start:
        raise BadSpan(
            "end_before_start", f"span ends ({end}) before it starts ({start})"
        )
    if end > INT64_MAX:
        raise BadSpan("bad_time", f"span end {end} is beyond the int64 range")
    count = 1
    if (
        composite is not None
        or "composite.count" in attributes
        or "span.composite.count" in attributes
    ):
        count = composite_count(attributes, composite)
    return (
        trace_id,
        span_id,
        parent_span_id,
        name,
        kind,
        start,
        end,
        status_code,
        status_message,
        resource.service_name,
        *scope,
        *normalise(attributes, kind, name, peer_service=peer_service),
        count,
        dumps(attributes) if attributes else EMPTY_OBJECT,
        resource.attributes_json,
        events_json,
        links_json,
    )


def composite_count(attributes: Mapping[str, Any], explicit: object = None) -> int:
    """How many real spans a span stands for: 1 unless it is a composite."""
    value = explicit
    if value is None and attributes:
        for key in COMPOSITE_KEYS:
            value = attributes.get(key)
            if value is not None:
                break
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is int and 1 <= value < 2**31:
        return value
    return 1


def event_dict(name: str, time_ns: int | None, attributes: dict[str, Any]) -> Any:
    """The JSON shape of one span event in the ``events`` column."""
    return {"name": name, "time_ns": time_ns, "attributes": attributes}


def link_dict(trace_id: str, span_id: str, attributes: dict[str, Any]) -> Any:
    """The JSON shape of one span link in the ``links`` column."""
    return {"trace_id": trace_id, "span_id": span_id, "attributes": attributes}


#: Tags that carry the instrumentation scope in Jaeger and Zipkin, newest first.
SCOPE_TAGS: Final = (
    ("otel.scope.name", "otel.scope.version"),
    ("otel.library.name", "otel.library.version"),
)


def scope_from_tags(attributes: dict[str, Any]) -> tuple[str | None, str | None]:
    """Pop the scope tags off a span's tags; return the scope's name and version.

    Every spelling is removed, so none is left among the attributes; the first
    one present wins.
    """
    scope: tuple[str | None, str | None] = (None, None)
    for name_key, version_key in SCOPE_TAGS:
        name, version = (
            attributes.pop(name_key, None),
            attributes.pop(version_key, None),
        )
        if scope == (None, None) and (name or version):
            scope = (str(name) if name else None, str(version) if version else None)
    return scope


#: What converting a malformed span can raise besides BadSpan: the document
#: has the wrong types or shapes where a span's fields should be.
MALFORMED: Final = (BadValue, AttributeError, TypeError, KeyError, ValueError)


def report_bad_span(ctx: ReadContext, error: Exception, position: str) -> None:
    """Report a span that could not be converted, under its reason."""
    if isinstance(error, BadSpan):
        ctx.bad(error.reason, error.message, position=position)
    else:
        problem = f"malformed span ({type(error).__name__}: {error})"
        ctx.bad("bad_span", problem, position=position)


def microsecond_times(start: Any, duration: Any, start_name: str) -> tuple[int, int]:
    """Start and end in nanoseconds from a start and a duration in microseconds.

    Jaeger and Zipkin both write times this way; a start of 0 counts as missing.

    Raises:
        BadSpan: the start or the duration is missing or not an integer.
    """
    if not start or duration is None:
        which = start_name if not start else "duration"
        raise BadSpan("missing_times", f"span has no {which}")
    try:
        start_us = uint64(start, start_name)
        duration_us = int64(duration)
    except BadValue as error:
        raise BadSpan("bad_time", str(error)) from None
    if start_us == 0:
        raise BadSpan("missing_times", f"span has no {start_name} (0)")
    return start_us * 1000, (start_us + duration_us) * 1000
