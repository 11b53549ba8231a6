"""The OTLP JSON reader, on hand-written fixtures with values worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.errors import InputError
from perfkit.ingest._values import BadValue, hex_id, int64
from perfkit.ingest.schema import COLUMN_INDEX, N_COLUMNS

from .helpers import FIXTURES, by_span_id, read_rows

TRACE = "5b8efff798038103d269b633813fc60c"
NO_DB = dict.fromkeys(
    ["db_system", "db_statement", "db_operation", "db_table", "db_namespace"]
)


def test_shop_server_span_every_column() -> None:
    rows, ctx = read_rows(FIXTURES / "otlp_shop.json")
    assert len(rows) == 4
    assert all(len(row) == N_COLUMNS for row in rows)
    assert by_span_id(rows)["eee19b7ec3c1b174"] == {
        "trace_id": TRACE,
        "span_id": "eee19b7ec3c1b174",
        "parent_span_id": None,
        "name": "GET /books/{book_id}",
        "kind": 2,
        "start_ns": 1_700_000_000_000_000_000,
        "end_ns": 1_700_000_000_250_000_000,
        "status_code": 0,
        "status_message": None,
        "service_name": "shop",
        "scope_name": "opentelemetry.instrumentation.fastapi",
        "scope_version": "0.48b0",
        "http_method": "GET",
        "http_route": "/books/{book_id}",
        "http_status_code": 200,
        "url": "/books/42?format=json",
        "server_address": "shop.local",
        "peer_service": None,
        **NO_DB,
        "endpoint": "GET /books/{book_id}",
        "composite_count": 1,
        "attributes": {
            "http.request.method": "GET",
            "http.route": "/books/{book_id}",
            "http.response.status_code": 200,
            "url.path": "/books/42",
            "url.query": "format=json",
            "server.address": "shop.local",
        },
        "resource_attributes": {"service.name": "shop"},
        "events": [],
        "links": [],
    }
    assert dict(ctx.skipped) == {}


def test_shop_client_spans() -> None:
    spans = by_span_id(read_rows(FIXTURES / "otlp_shop.json")[0])
    http = spans["c8f7a2b4d1e09f63"]
    assert http["parent_span_id"] == "eee19b7ec3c1b174"
    assert (http["kind"], http["status_code"], http["status_message"]) == (
        3,
        2,
        "Bad Gateway",
    )
    assert http["http_method"] == "POST"
    assert http["http_status_code"] == 502
    assert http["url"] == "https://pay.example.com/charge?id=7"
    assert http["server_address"] == "pay.example.com"
    assert http["peer_service"] == "payments"
    assert http["endpoint"] is None
    assert http["events"] == [
        {"name": "retry", "time_ns": 1_700_000_000_150_000_000, "attributes": {}}
    ]

    db = spans["b7ad6b7169203331"]
    assert db["scope_name"] == "opentelemetry.instrumentation.sqlalchemy"
    assert (db["start_ns"], db["end_ns"]) == (
        1_700_000_000_010_000_000,
        1_700_000_000_030_000_000,
    )
    assert db["db_system"] == "postgresql"
    assert db["db_statement"] == "SELECT * FROM books WHERE id = %s"
    assert (db["db_operation"], db["db_table"], db["db_namespace"]) == (
        "SELECT",
        "books",
        "shop",
    )
    assert db["server_address"] == "db.internal"
    assert db["http_method"] is None


def test_shop_internal_span_with_a_link() -> None:
    render = by_span_id(read_rows(FIXTURES / "otlp_shop.json")[0])["00f067aa0ba902b7"]
    assert (render["kind"], render["status_code"]) == (1, 1)
    assert render["attributes"] == {"template": "book.html", "items": 3}
    assert render["links"] == [
        {
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "53995c3f42cd8ad8",
            "attributes": {},
        }
    ]


def test_raw_json_columns_have_sorted_keys() -> None:
    rows, _ = read_rows(FIXTURES / "otlp_shop.json")
    server = next(row for row in rows if row[1] == "eee19b7ec3c1b174")
    assert str(server[COLUMN_INDEX["attributes"]]).startswith(
        '{"http.request.method":"GET"'
    )


def test_lenient_ids_numbers_enums_and_snake_case() -> None:
    spans = by_span_id(read_rows(FIXTURES / "otlp_lenient.json")[0])
    assert set(spans) == {"b7ad6b7169203331", "fbfffe0000000001", "2222222222222222"}

    upper = spans["b7ad6b7169203331"]
    assert upper["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert (upper["kind"], upper["status_code"], upper["status_message"]) == (
        2,
        2,
        "boom",
    )
    assert (upper["start_ns"], upper["end_ns"]) == (
        1_700_000_001_000_000_000,
        1_700_000_001_000_000_123,
    )
    assert upper["endpoint"] == "upper"
    assert (upper["scope_name"], upper["scope_version"]) == ("lenient-lib", None)
    assert upper["resource_attributes"] == {
        "service.name": "lenient",
        "host.cores": 8,
        "tags": ["a", 2, None],
    }

    snake = spans["fbfffe0000000001"]
    # base64 ids (standard and URL-safe) become lowercase hex.
    assert snake["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert snake["parent_span_id"] == "b7ad6b7169203331"
    assert snake["kind"] == 0
    assert snake["attributes"] == {
        "s": "text",
        "i": -9_007_199_254_740_993,
        "b": True,
        "d": 0.5,
        "raw": "aGk=",
        "kv": {"k": 1},
        "empty": None,
    }

    composite = spans["2222222222222222"]
    assert composite["name"] == ""
    assert (composite["kind"], composite["status_code"]) == (3, 1)
    assert composite["start_ns"] == composite["end_ns"] == 1_700_000_001_000_000_030
    assert composite["composite_count"] == 5
    assert (composite["db_system"], composite["db_namespace"]) == ("redis", "2")
    assert composite["events"] == [
        {
            "name": "exception",
            "time_ns": 1_700_000_001_000_000_031,
            "attributes": {
                "exception.type": "ValueError",
                "exception.escaped": "False",
            },
        }
    ]


def test_int64_beyond_float_precision_stays_exact() -> None:
    spans = by_span_id(read_rows(FIXTURES / "otlp_lenient.json")[0])
    # -(2**53 + 1) has no exact float; a float round trip would give ...992.
    assert spans["fbfffe0000000001"]["attributes"]["i"] == -(2**53 + 1)


def test_tempo_batches_and_instrumentation_library_spans() -> None:
    spans = by_span_id(read_rows(FIXTURES / "tempo_batches.json")[0])
    assert set(spans) == {"1111111111111111", "2222222222222222"}
    parent, child = spans["1111111111111111"], spans["2222222222222222"]
    assert parent["trace_id"] == child["trace_id"] == TRACE
    assert (parent["scope_name"], parent["scope_version"]) == ("old-lib", "0.1")
    assert (parent["kind"], parent["status_code"]) == (3, 1)
    assert child["parent_span_id"] == "1111111111111111"
    assert (child["kind"], child["status_code"]) == (0, 0)
    assert parent["service_name"] == "legacy"


def test_jaeger_api_v3_result_wrapper() -> None:
    rows, _ = read_rows(FIXTURES / "jaeger_v3_result.json")
    (span,) = by_span_id(rows).values()
    assert span["service_name"] == "v3"
    assert (span["kind"], span["status_code"], span["status_message"]) == (2, 2, None)
    assert (span["scope_name"], span["scope_version"]) == (None, None)
    assert span["end_ns"] - span["start_ns"] == 1000


def test_json_lines_keep_parents_whatever_the_order() -> None:
    rows, ctx = read_rows(FIXTURES / "otlp_lines.jsonl")
    assert [(r[1], r[2], r[9]) for r in rows] == [
        ("00f067aa0ba902b8", "00f067aa0ba902b7", "frontend"),
        ("00f067aa0ba902b7", None, "frontend"),
        ("00f067aa0ba902b9", "00f067aa0ba902b8", "backend"),
    ]
    # The metrics line is valid OTLP, just not spans: ignored, not skipped.
    assert dict(ctx.ignored) == {"metrics": 1}
    assert dict(ctx.skipped) == {}


def test_lines_repeating_a_resource_share_its_json_text() -> None:
    rows, _ = read_rows(FIXTURES / "otlp_lines.jsonl")
    column = COLUMN_INDEX["resource_attributes"]
    assert rows[0][column] == '{"service.name":"frontend"}'
    assert rows[0][column] is rows[1][column]


def test_a_bad_line_is_an_error_naming_it() -> None:
    path = FIXTURES / "bad_line.jsonl"
    with pytest.raises(InputError) as caught:
        read_rows(path)
    error = caught.value
    assert (error.code, error.position, error.retryable) == (
        "bad_json",
        "line 2",
        False,
    )
    assert str(error).startswith(f"{path}, line 2: the line is not valid JSON")


def test_a_bad_line_is_skipped_and_counted_on_request() -> None:
    rows, ctx = read_rows(FIXTURES / "bad_line.jsonl", skip_invalid=True)
    assert [row[3] for row in rows] == ["one", "two"]
    assert dict(ctx.skipped) == {"bad_json": 1}


def test_a_truncated_last_line_is_retryable() -> None:
    with pytest.raises(InputError) as caught:
        read_rows(FIXTURES / "bad_truncated.jsonl")
    error = caught.value
    assert (error.code, error.position, error.retryable) == (
        "truncated",
        "line 2",
        True,
    )
    rows, ctx = read_rows(FIXTURES / "bad_truncated.jsonl", skip_invalid=True)
    assert [row[3] for row in rows] == ["one"]
    assert dict(ctx.skipped) == {"truncated": 1}


def test_bad_spans_are_errors_with_their_json_path() -> None:
    with pytest.raises(InputError) as caught:
        read_rows(FIXTURES / "bad_spans.json")
    assert caught.value.code == "missing_ids"
    assert caught.value.position == "resourceSpans[0].scopeSpans[0].spans[1]"
    assert "spanId" in caught.value.message


def test_bad_spans_are_skipped_by_reason() -> None:
    rows, ctx = read_rows(FIXTURES / "bad_spans.json", skip_invalid=True)
    assert [row[3] for row in rows] == ["fine"]
    assert dict(ctx.skipped) == {
        "missing_ids": 1,
        "missing_times": 1,
        "end_before_start": 1,
    }
    # A resource without service.name gets the SDK's default name.
    assert rows[0][COLUMN_INDEX["service_name"]] == "unknown_service"


def test_truncated_single_document(tmp_path: Path) -> None:
    text = (FIXTURES / "otlp_shop.json").read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(text[:1500])
    with pytest.raises(InputError) as caught:
        read_rows(cut)
    assert (caught.value.code, caught.value.retryable) == ("truncated", True)
    assert caught.value.position is not None
    assert caught.value.position.startswith("line ")


@pytest.mark.parametrize(
    ("text", "nbytes", "expected"),
    [
        ("0XAAAAAAAAA=", 8, "d170000000000000"),  # base64 that starts like 0x
        ("AAAAAAAAAAE", 8, "0000000000000001"),  # unpadded base64 of hex digits
        ("0x00f067aa0ba902b7", 8, "00f067aa0ba902b7"),
        ("463AC35C9F6413AD", 16, "0000000000000000463ac35c9f6413ad"),
        ("abc", 8, None),  # short hex is padded only for Jaeger and Zipkin
        ("0000000000000000", 8, None),  # all zeros is no id
        ("zzzzzzzzzzzzzzzz", 8, None),  # neither hex nor 8 bytes of base64
    ],
)
def test_id_spellings(text: str, nbytes: int, expected: str | None) -> None:
    assert hex_id(text, nbytes) == expected


@pytest.mark.parametrize(
    "start",
    ["1_700_000_000_000_000_000", " 1700000000000000000", "\u0661\u0667" * 9 + "0"],
)
def test_a_time_that_only_int_would_take_is_a_bad_time(
    tmp_path: Path, start: str
) -> None:
    # int() takes digit separators, spaces and other scripts' digits; a
    # time written so is not a decimal integer, and not read as one.
    doc = (FIXTURES / "otlp_shop.json").read_text(encoding="utf-8")
    path = tmp_path / "odd.json"
    path.write_text(
        doc.replace('"1700000000000000000"', f'"{start}"', 1), encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "bad_time"
    assert "is not an integer" in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), ("-7", -7), (3.0, 3), ("4_2", None), (" 42", None), (1.5, None)],
)
def test_int_values_are_decimal_or_integral(
    value: object, expected: int | None
) -> None:
    if expected is None:
        with pytest.raises(BadValue):
            int64(value)
    else:
        assert int64(value) == expected
