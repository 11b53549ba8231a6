"""The Zipkin v2 JSON reader, on hand-written fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.errors import FormatNotRecognised, InputError
from perfkit.ingest.schema import COLUMN_INDEX

from .helpers import FIXTURES, as_dict, read_rows

TRACE = "0000000000000000463ac35c9f6413ad"


def test_list_of_traces_with_a_shared_server_span() -> None:
    rows, _ = read_rows(FIXTURES / "zipkin_traces.json")
    spans = [as_dict(row) for row in rows]
    assert [(s["span_id"], s["kind"]) for s in spans] == [
        ("a2fb4a1d1a96d312", 3),
        ("a2fb4a1d1a96d312", 2),
        ("0000000000000abc", 1),
        ("00000000000000b2", 4),
    ]
    client, server, local, producer = spans
    assert client["trace_id"] == server["trace_id"] == local["trace_id"] == TRACE

    assert client["service_name"] == "frontend"
    assert client["resource_attributes"] == {"service.name": "frontend"}
    assert client["peer_service"] == "backend"
    assert (client["http_method"], client["url"]) == ("GET", "/books/7")

    # The name was lowercased by the Zipkin server; the endpoint is not.
    assert server["name"] == "get /books/{book_id}"
    assert server["endpoint"] == "GET /books/{book_id}"
    assert server["http_status_code"] == 404
    assert (server["status_code"], server["status_message"]) == (2, None)
    assert server["attributes"] == {
        "http.method": "GET",
        "http.route": "/books/{book_id}",
        "http.status_code": "404",
    }
    assert server["events"] == [
        {"name": "wr", "time_ns": 1_700_000_007_000_600_000, "attributes": {}}
    ]
    assert (server["start_ns"], server["end_ns"]) == (
        1_700_000_007_000_500_000,
        1_700_000_007_002_500_000,
    )

    assert local["parent_span_id"] == "a2fb4a1d1a96d312"
    assert local["service_name"] == "backend"

    assert producer["trace_id"] == "463ac35c9f6413ad463ac35c9f6413ad"
    assert (producer["status_code"], producer["status_message"]) == (2, "queue full")
    assert (producer["scope_name"], producer["scope_version"]) == ("kafka-lib", None)
    assert producer["attributes"] == {}


def test_a_single_span_object() -> None:
    rows, _ = read_rows(FIXTURES / "zipkin_single.json")
    (span,) = [as_dict(row) for row in rows]
    assert span["service_name"] == "订单服务"
    assert span["name"] == "查询订单"
    assert span["parent_span_id"] == "86154a4ba6e91385"
    assert span["http_status_code"] == 500
    assert span["end_ns"] - span["start_ns"] == 207_000_000


def test_zipkin_v1_is_refused_not_misread() -> None:
    with pytest.raises(FormatNotRecognised) as caught:
        read_rows(FIXTURES / "zipkin_v1.json")
    assert caught.value.code == "unsupported_format"
    assert "Zipkin v1" in caught.value.message


def test_a_span_without_duration_is_bad(tmp_path: Path) -> None:
    path = tmp_path / "kong.json"
    path.write_text(
        '[{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312",'
        ' "name": "ok", "timestamp": 1700000007000000, "duration": 4},'
        ' {"traceId": "463ac35c9f6413ad", "id": "0000000000000abc",'
        ' "name": "no duration", "timestamp": 1700000007000000}]'
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert (caught.value.code, caught.value.position) == ("missing_times", "span 1")
    rows, ctx = read_rows(path, skip_invalid=True)
    assert [row[COLUMN_INDEX["name"]] for row in rows] == ["ok"]
    assert dict(ctx.skipped) == {"missing_times": 1}
    # No localEndpoint: the default service name and no resource attributes.
    assert rows[0][COLUMN_INDEX["service_name"]] == "unknown_service"
    assert rows[0][COLUMN_INDEX["resource_attributes"]] == "{}"


def test_negative_duration_ends_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "backwards.json"
    path.write_text(
        '[{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312",'
        ' "timestamp": 1700000007000000, "duration": -5}]'
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "end_before_start"


@pytest.mark.parametrize(
    ("bad", "reason", "message"),
    [
        ({"traceId": "5b8efff798038103d269b633813fc60c"}, "missing_ids", "id None"),
        (None, "bad_span", "not a span object but null"),
    ],
)
def test_one_bad_span_is_reported_where_it_is_not_the_file_unrecognised(
    tmp_path: Path, bad: object, reason: str, message: str
) -> None:
    spans = json.loads((FIXTURES / "zipkin_shop.json").read_text())
    path = tmp_path / "spans.json"
    path.write_text(json.dumps([spans[0], bad, *spans[1:]]))

    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert not isinstance(caught.value, FormatNotRecognised)
    assert (caught.value.code, caught.value.position) == (reason, "span 1")
    assert message in caught.value.message

    rows, ctx = read_rows(path, skip_invalid=True)
    assert len(rows) == len(spans)
    assert ctx.skipped == {reason: 1}
