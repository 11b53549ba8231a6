"""Edge cases where the columnar OTLP JSON Lines reader once parted from the row reader.

Each test builds a small JSON Lines file (at least two lines, so that it is
sniffed as JSON Lines and takes the columnar path) and checks that
:func:`perfkit.ingest.read_span_batches` gives what the row reader
:func:`perfkit.ingest.read_spans` gives: the same spans, skipped counts and
error, strict and lenient, in one chunk and in chunks of a line or so.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from perfkit.ingest import _otlp_columnar as columnar

from .test_otlp_columnar import check_same

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def span(span_id: str = SPAN, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "GET /x",
        "kind": 2,
        "startTimeUnixNano": "1000",
        "endTimeUnixNano": "2000",
    }
    out.update(fields)
    return out


def line(*spans: dict[str, Any], resource: list[Any] | None = None) -> bytes:
    block: dict[str, Any] = {"scopeSpans": [{"spans": list(spans)}]}
    if resource is not None:
        block["resource"] = {"attributes": resource}
    return orjson.dumps({"resourceSpans": [block]})


def attribute(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": value}


def two_lines(**fields: Any) -> bytes:
    """Two lines of one span each, with ``fields``, ids apart."""
    return (
        line(span(**fields)) + b"\n" + line(span("1111111111111111", **fields)) + b"\n"
    )


def check_all_chunkings(data: bytes) -> None:
    for chunk_bytes in (None, 1, 64):
        check_same(data, chunk_bytes=chunk_bytes)


def test_an_int_value_of_minus_zero_is_zero() -> None:
    data = two_lines(attributes=[attribute("n", {"intValue": "-0"})])
    assert columnar.chunk_batch(data).column("attributes").to_pylist() == [
        '{"n":0}',
        '{"n":0}',
    ]
    check_all_chunkings(data)


@pytest.mark.parametrize("where", ["name", "status", "value", "key", "scope", "event"])
def test_bytes_that_are_not_utf8_are_an_error_both_ways(where: str) -> None:
    fields: dict[str, Any] = {
        "name": {"name": "@@"},
        "status": {"status": {"code": 2, "message": "@@"}},
        "value": {"attributes": [attribute("k", {"stringValue": "@@"})]},
        "key": {"attributes": [attribute("@@", {"stringValue": "v"})]},
        "scope": {},
        "event": {"events": [{"name": "@@"}]},
    }[where]
    bad = line(span("2222222222222222", **fields))
    if where == "scope":
        bad = bad.replace(b'{"spans"', b'{"scope":{"name":"@@"},"spans"')
    bad = bad.replace(b"@@", b"a\xffb")
    data = line(span()) + b"\n" + bad + b"\n" + line(span("3333333333333333")) + b"\n"
    with pytest.raises(columnar.Declined):
        columnar.chunk_batch(data)
    check_all_chunkings(data)


@pytest.mark.parametrize(
    "fields",
    [
        {
            "events": [
                {
                    "timeUnixNano": "5",
                    "attributes": [
                        attribute("a", {"boolValue": True, "intValue": "1"})
                    ],
                }
            ]
        },
        {
            "links": [
                {
                    "traceId": TRACE,
                    "spanId": SPAN,
                    "attributes": [
                        attribute("a", {"doubleValue": 1.5, "intValue": "1"})
                    ],
                }
            ]
        },
        {
            "attributes": [
                attribute(
                    "a",
                    {"arrayValue": {"values": [{"boolValue": True, "intValue": "1"}]}},
                )
            ]
        },
        {
            "attributes": [
                attribute(
                    "a",
                    {"arrayValue": {"values": [{"intValue": "1", "stringValue": "s"}]}},
                )
            ]
        },
    ],
    ids=["event", "link", "array", "array_with_string"],
)
def test_a_nested_value_of_two_kinds_reads_as_the_row_reader_reads_it(
    fields: dict[str, Any],
) -> None:
    # The row reader takes the first kind in the JSON's own order, which the
    # parsed columns no longer have.
    check_all_chunkings(two_lines(**fields))


def test_a_byte_order_mark_on_a_later_line_is_an_error_both_ways() -> None:
    data = line(span()) + b"\n\xef\xbb\xbf" + line(span("2222222222222222")) + b"\n"
    check_all_chunkings(data)


def test_a_line_of_null_is_not_otlp_both_ways() -> None:
    data = line(span()) + b"\nnull\n" + line(span("2222222222222222")) + b"\n"
    with pytest.raises(columnar.Declined):
        columnar.chunk_batch(data)
    check_all_chunkings(data)


@pytest.mark.parametrize("kind", [2, 3])
def test_url_path_with_url_query_makes_the_url(kind: int) -> None:
    data = two_lines(
        kind=kind,
        attributes=[
            attribute("url.path", {"stringValue": "/a"}),
            attribute("url.query", {"stringValue": "x=1"}),
        ],
    )
    batch = columnar.chunk_batch(data)
    assert batch.column("url").to_pylist() == ["/a?x=1", "/a?x=1"]
    check_all_chunkings(data)


@pytest.mark.parametrize("empty", [{}, None], ids=["empty_value", "no_value"])
@pytest.mark.parametrize("kind", [2, 3])
def test_an_empty_address_attribute_leaves_the_host_to_the_url(
    empty: dict[str, Any] | None, kind: int
) -> None:
    # An address attribute without a value is skipped, as if it were absent.
    address = {"key": "server.address"}
    if empty is not None:
        address["value"] = empty
    data = two_lines(
        kind=kind,
        attributes=[
            attribute("url.full", {"stringValue": "http://API.Example.com:80/x"}),
            address,
        ],
    )
    batch = columnar.chunk_batch(data)
    assert batch.column("server_address").to_pylist() == ["api.example.com"] * 2
    check_all_chunkings(data)


@pytest.mark.parametrize(
    "middle",
    [b"\r", b"\r ", b"\n \n"],
    ids=["cr", "cr_space", "after_a_blank_line"],
)
def test_a_carriage_return_does_not_end_a_line(middle: bytes) -> None:
    # Only a line feed ends a line, for the row reader: two objects apart by
    # a carriage return are one bad line, not two spans.
    first, second, third = (
        line(span(span_id))
        for span_id in (SPAN, "2222222222222222", "3333333333333333")
    )
    if middle == b"\n \n":
        data = first + middle + second + b"\r" + third + b"\n"
    else:
        data = first + b"\n" + second + middle + third + b"\n"
    with pytest.raises(columnar.Declined):
        columnar.chunk_batch(data)
    check_all_chunkings(data)


def test_a_carriage_return_between_tokens_of_a_declined_chunk() -> None:
    # The row reader reads the lines of a declined chunk as the file's lines.
    whitespace = line(span("2222222222222222")).replace(b":", b":\r", 1)
    odd = line(span("3333333333333333", kind="SPAN_KIND_SERVER"))
    data = line(span()) + b"\n" + whitespace + b"\n" + odd + b"\n"
    check_all_chunkings(data)


@pytest.mark.parametrize("literal", [b"NaN", b"-NaN", b"Inf", b"-Infinity"])
@pytest.mark.parametrize("where", ["span", "resource", "event", "array", "scope"])
def test_nan_and_infinity_literals_are_not_json_both_ways(
    literal: bytes, where: str
) -> None:
    # pyarrow reads them as doubles; JSON, and the row reader, has no such
    # numbers.
    value = {"doubleValue": 1.5}
    if where == "array":
        value = {"arrayValue": {"values": [value]}}
    attributes = [attribute("d", value)]
    if where == "span":
        odd = line(span("2222222222222222", attributes=attributes))
    elif where == "resource":
        odd = line(span("2222222222222222"), resource=attributes)
    elif where == "scope":
        # Read by neither reader, but the row reader rejects the line.
        scope = orjson.dumps({"name": "s", "attributes": attributes})
        odd = line(span("2222222222222222")).replace(
            b'{"spans"', b'{"scope":' + scope + b',"spans"'
        )
    else:
        event = {"timeUnixNano": "1500", "attributes": attributes}
        odd = line(span("2222222222222222", events=[event]))
    odd = odd.replace(b"1.5", literal)
    data = line(span()) + b"\n" + odd + b"\n" + line(span("3333333333333333")) + b"\n"
    with pytest.raises(columnar.Declined):
        columnar.chunk_batch(data)
    check_all_chunkings(data)
