"""The OTLP protobuf reader: bare messages and the Collector's prefixed stream."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import zstandard
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    KeyValue,
    KeyValueList,
)

from perfkit.errors import FormatNotRecognised, InputError
from perfkit.ingest import sniff_format

from .helpers import FIXTURES, by_span_id, read_rows
from .shop_proto import shop_request, shop_spans


def framed(*messages: bytes) -> bytes:
    """Messages behind 4-byte big-endian lengths, as the Collector writes them."""
    return b"".join(len(m).to_bytes(4, "big") + m for m in messages)


def test_bare_request_reads_like_the_json_fixture(tmp_path: Path) -> None:
    path = tmp_path / "request.bin"
    path.write_bytes(shop_request().SerializeToString())
    assert sniff_format(path) == "otlp_proto"
    proto_rows, _ = read_rows(path)
    json_rows, _ = read_rows(FIXTURES / "otlp_shop.json")
    assert proto_rows == json_rows


def test_stream_of_messages(tmp_path: Path) -> None:
    fastapi, sqlalchemy = shop_spans()
    first = shop_request(fastapi[:2]).SerializeToString()
    second = shop_request(fastapi[2:], sqlalchemy).SerializeToString()
    path = tmp_path / "collector.proto"
    path.write_bytes(framed(first, second))
    assert sniff_format(path) == "otlp_proto_stream"
    rows, _ = read_rows(path)
    assert [row[1] for row in rows] == [
        "eee19b7ec3c1b174",
        "c8f7a2b4d1e09f63",
        "00f067aa0ba902b7",
        "b7ad6b7169203331",
    ]
    assert rows == read_rows(FIXTURES / "otlp_shop.json")[0]


def test_stream_of_separately_zstd_compressed_messages(tmp_path: Path) -> None:
    fastapi, sqlalchemy = shop_spans()
    compress = zstandard.ZstdCompressor().compress
    path = tmp_path / "collector.proto"
    path.write_bytes(
        framed(
            compress(shop_request(fastapi).SerializeToString()),
            compress(shop_request(None, sqlalchemy).SerializeToString()),
        )
    )
    assert sniff_format(path) == "otlp_proto_stream"
    assert len(read_rows(path)[0]) == 4


def test_stream_ending_inside_a_message_is_retryable(tmp_path: Path) -> None:
    fastapi, sqlalchemy = shop_spans()
    first = shop_request(fastapi).SerializeToString()
    second = shop_request(None, sqlalchemy).SerializeToString()
    path = tmp_path / "growing.proto"
    path.write_bytes(framed(first, second)[:-3])
    with pytest.raises(InputError) as caught:
        read_rows(path)
    error = caught.value
    assert (error.code, error.retryable) == ("truncated", True)
    assert error.position == f"byte {4 + len(first)}"
    rows, ctx = read_rows(path, skip_invalid=True)
    assert len(rows) == 3
    assert dict(ctx.skipped) == {"truncated": 1}


def test_bad_ids_are_reported_with_byte_offset_and_path(tmp_path: Path) -> None:
    fastapi, _ = shop_spans()
    fastapi[1].trace_id = b"\x01\x02\x03\x04\x05"
    good = shop_request(fastapi[:1]).SerializeToString()
    path = tmp_path / "bad.proto"
    path.write_bytes(framed(good, shop_request(fastapi[1:]).SerializeToString()))
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "missing_ids"
    assert caught.value.position == (
        f"byte {4 + len(good)}, resourceSpans[0].scopeSpans[0].spans[0]"
    )


def test_any_values_flatten_like_json(tmp_path: Path) -> None:
    fastapi, _ = shop_spans()
    server = fastapi[0]
    del server.attributes[:]
    server.attributes.extend(
        [
            KeyValue(key="raw", value=AnyValue(bytes_value=b"hi")),
            KeyValue(key="ok", value=AnyValue(bool_value=True)),
            KeyValue(key="ratio", value=AnyValue(double_value=0.5)),
            KeyValue(
                key="list",
                value=AnyValue(
                    array_value=ArrayValue(
                        values=[
                            AnyValue(string_value="a"),
                            AnyValue(int_value=-2),
                            AnyValue(),
                        ]
                    )
                ),
            ),
            KeyValue(
                key="map",
                value=AnyValue(
                    kvlist_value=KeyValueList(
                        values=[KeyValue(key="k", value=AnyValue(int_value=2**62))]
                    )
                ),
            ),
        ]
    )
    path = tmp_path / "values.bin"
    path.write_bytes(shop_request([server]).SerializeToString())
    (span,) = by_span_id(read_rows(path)[0]).values()
    assert span["attributes"] == {
        "raw": base64.b64encode(b"hi").decode(),
        "ok": True,
        "ratio": 0.5,
        "list": ["a", -2, None],
        "map": {"k": 2**62},
    }
    # No route any more: the endpoint falls back to the span name.
    assert span["endpoint"] == "GET /books/{book_id}"
    assert span["http_route"] is None


def test_random_binary_is_not_traces(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FormatNotRecognised):
        sniff_format(path)


def test_a_message_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "broken.bin"
    message = shop_request().SerializeToString()
    # Keep the framing of the first field plausible, break what follows.
    path.write_bytes(message[:40] + b"\xff" * 40)
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "bad_proto"


def test_stream_messages_may_be_otlp_json(tmp_path: Path) -> None:
    good = (FIXTURES / "jaeger_v3_result.json").read_bytes().strip()
    bad = (FIXTURES / "bad_spans.json").read_bytes()
    path = tmp_path / "mixed.stream"
    path.write_bytes(framed(PROTO_MESSAGE, good, bad))
    with pytest.raises(InputError) as caught:
        read_rows(path)
    offset = 4 + len(PROTO_MESSAGE) + 4 + len(good)
    assert caught.value.position == (
        f"byte {offset}, resourceSpans[0].scopeSpans[0].spans[1]"
    )
    rows, ctx = read_rows(path, skip_invalid=True)
    assert [row[3] for row in rows][4:] == ["wrapped", "fine"]
    assert dict(ctx.skipped) == {
        "missing_ids": 1,
        "missing_times": 1,
        "end_before_start": 1,
    }


PROTO_MESSAGE = shop_request().SerializeToString()
