"""One OTLP JSON span to a row: the inner loop of reading OTLP JSON.

A million-span file passes through :func:`span_row_of` a million times, so
the common case is kept to plain dict lookups: camelCase keys, full-width hex
ids, int64 as decimal strings, small-int enums, string attribute values.
Everything else (snake_case keys, base64 ids, enum names, other AnyValue
kinds) falls to slower, lenient paths.
"""

from __future__ import annotations

from typing import Any, Final

from perfkit.ingest._rows import BadSpan, Resource, event_dict, link_dict, span_row
from perfkit.ingest._values import (
    EMPTY_LIST,
    INT64_MAX,
    PARENT_MEMO,
    TRACE_MEMO,
    BadValue,
    dumps,
    hex_id,
    int64,
    parent_id_of,
    span_kind,
    status_code,
    trace_id_of,
    uint64,
)
from perfkit.ingest.schema import SpanRow


def span_row_of(
    span: dict[str, Any], resource: Resource, scope: tuple[str | None, str | None]
) -> SpanRow:
    """The row of one OTLP JSON span.

    Raises:
        BadSpan: the span lacks ids or times, or has a bad value.
        BadValue, AttributeError, TypeError, KeyError, ValueError: the span is
            malformed in a way the caller reports as ``bad_span``.
    """
    get = span.get
    raw_trace = get("traceId")
    if raw_trace is None and "trace_id" in span:
        span = camel_keys(span)
        get = span.get
        raw_trace = get("traceId")
    # Spans repeat their trace's and their siblings' parent's ids: remembered.
    trace_id = TRACE_MEMO.get(raw_trace) or trace_id_of(raw_trace)  # type: ignore[arg-type]
    span_id = hex_id(get("spanId"), 8)
    if trace_id is None or span_id is None:
        raise BadSpan("missing_ids", _id_problem(raw_trace, get("spanId")))
    parent = get("parentSpanId")
    if parent:
        parent = PARENT_MEMO.get(parent) or parent_id_of(parent)
    start, end = _times(get("startTimeUnixNano"), get("endTimeUnixNano"))

    kind = get("kind", 0)
    if type(kind) is not int or not 0 <= kind <= 5:
        kind = _kind(kind)
    code, message = 0, None
    status = get("status")
    if status:
        code = status.get("code", 0)
        message = status.get("message")
        if type(code) is not int or not 0 <= code <= 2 or message is not None:
            code, message = _status(status)
    name = get("name")
    if type(name) is not str:
        name = "" if name is None else str(name)
    events = get("events")
    links = get("links")
    composite = get("composite")
    return span_row(
        trace_id,
        span_id,
        parent or None,
        name,
        kind,
        start,
        end,
        code,
        message,
        resource,
        scope,
        attributes(get("attributes")),
        _events(events) if events else EMPTY_LIST,
        _links(links) if links else EMPTY_LIST,
        composite=composite.get("count") if type(composite) is dict else None,
    )


def _times(start: Any, end: Any) -> tuple[int, int]:
    try:
        # The common case, decimal strings, at the cost of one check each.
        if type(start) is str and start.isdigit() and start.isascii():
            start = int(start)
        else:
            start = uint64(start, "start time")
        if type(end) is str and end.isdigit() and end.isascii():
            end = int(end)
        else:
            end = uint64(end, "end time")
    except BadValue as error:
        missing = start is None or end is None
        reason = "missing_times" if missing else "bad_time"
        raise BadSpan(reason, str(error)) from None
    if start > 0 and end <= INT64_MAX:
        return start, end
    if start == 0 or end == 0:
        which = "start" if start == 0 else "end"
        raise BadSpan("missing_times", f"span has no {which} time (0)")
    raise BadSpan("bad_time", f"span times {start}, {end} are out of range")


def _kind(value: object) -> int:
    try:
        return span_kind(value)
    except BadValue as error:
        raise BadSpan("bad_kind", str(error)) from None


def _status(status: dict[str, Any]) -> tuple[int, str | None]:
    code = status.get("code", 0)
    if type(code) is not int or not 0 <= code <= 2:
        try:
            code = status_code(code)
        except BadValue as error:
            raise BadSpan("bad_status", str(error)) from None
    message = status.get("message")
    return code, (str(message) if message else None)


def _id_problem(trace_id: object, span_id: object) -> str:
    if trace_id is None or span_id is None:
        return f"span has no {'traceId' if trace_id is None else 'spanId'}"
    return (
        f"span ids are not valid (traceId {trace_id!r}, spanId {span_id!r}): "
        "expected 16 and 8 bytes, not all zeros, as hex or base64"
    )


def scope_of(scope: Any) -> tuple[str | None, str | None]:
    """Instrumentation scope name and version; empty strings are None."""
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
    try:
        # Most values are strings.
        return {item["key"]: item["value"]["stringValue"] for item in items}
    except (KeyError, TypeError):
        pass
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
            event = camel_keys(event)
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
            link = camel_keys(link)
        trace_id, span_id = link.get("traceId"), link.get("spanId")
        out.append(
            link_dict(
                hex_id(trace_id, 16) or str(trace_id),
                hex_id(span_id, 8) or str(span_id),
                attributes(link.get("attributes")),
            )
        )
    return dumps(out)


_CAMEL: dict[str, str] = {}
_CAMEL_CACHE_LIMIT: Final = 1024


def camel_keys(mapping: dict[str, Any]) -> dict[str, Any]:
    """A copy with snake_case keys, which the Collector still accepts, in camelCase."""
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
