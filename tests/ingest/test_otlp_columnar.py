"""The columnar OTLP JSON Lines reader against the row reader.

:func:`perfkit.ingest.read_span_batches` reads OTLP JSON Lines a chunk at a
time into Arrow columns; :func:`perfkit.ingest.read_spans` reads them a span at
a time and is the reference. On every input, valid or not, strict or lenient,
the two must give the same spans, the same skipped counts and the same error.
The clean inputs must also really take the columnar path.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit.errors import PerfkitError
from perfkit.ingest import (
    ReadContext,
    read_span_batches,
    read_spans,
)
from perfkit.ingest import _otlp_columnar as columnar
from perfkit.ingest._semconv_rules import url_host
from perfkit.ingest.schema import ARROW_SCHEMA, record_batch

from .helpers import FIXTURES

SETTINGS = settings(max_examples=60, deadline=None)

# Keys that normalisation reads, and some it does not.
KEYS = [
    "http.method",
    "http.request.method",
    "http.request.method_original",
    "http.route",
    "http.status_code",
    "http.response.status_code",
    "url.full",
    "http.url",
    "url.path",
    "url.query",
    "http.target",
    "server.address",
    "net.peer.name",
    "http.host",
    "peer.service",
    "db.system",
    "db.system.name",
    "db.statement",
    "db.query.text",
    "db.name",
    "db.operation",
    "composite.count",
    "user.id",
    "thread.name",
    "ключ",
]
URLS = st.builds(
    lambda scheme, user, host, port, path, query: (
        f"{scheme}{user}{host}{port}{path}{query}"
    ),
    st.sampled_from(["http://", "https://", "", "HTTP://", "x://"]),
    st.sampled_from(["", "u:p@", "a@b@"]),
    st.sampled_from(
        ["API.Example.com", "[::1]", "[fe80::1", "10.0.0.1", "", "ÉCOLE.fr", "h"]
    ),
    st.sampled_from(["", ":8080", ":"]),
    st.sampled_from(["", "/", "/orders/12", "/a?b", "#frag", "/p@q"]),
    st.sampled_from(["", "?x=1", "?"]),
)
TEXT = st.one_of(
    st.text(max_size=8),
    URLS,
    st.sampled_from(['say "hi"', "back\\slash", "line\nbreak", "tab\t", "GET", ""]),
)


@st.composite
def any_value(draw: st.DrawFn, *, clean: bool) -> dict[str, Any]:
    kinds = ["string", "int", "bool", "double"]
    if not clean:
        kinds += ["int_number", "odd_int", "array", "bytes", "empty", "kvlist", "two"]
    kind = draw(st.sampled_from(kinds))
    if kind == "string":
        return {"stringValue": draw(TEXT)}
    if kind == "int":
        return {"intValue": str(draw(st.integers(-(2**62), 2**62)))}
    if kind == "int_number":
        return {"intValue": draw(st.integers(-100, 100))}
    if kind == "odd_int":
        return {"intValue": draw(st.sampled_from(["007", "-0", "+5", "1e3", "x"]))}
    if kind == "bool":
        return {"boolValue": draw(st.booleans())}
    if kind == "double":
        return {"doubleValue": draw(st.floats(allow_nan=False, allow_infinity=False))}
    if kind == "array":
        items = draw(st.lists(any_value(clean=True), max_size=3))
        return {"arrayValue": {"values": items}}
    if kind == "bytes":
        return {"bytesValue": "AAEC"}
    if kind == "kvlist":
        return {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "1"}}]}}
    if kind == "two":
        return {"intValue": "1", "boolValue": True}
    return {}


@st.composite
def attributes(draw: st.DrawFn, *, clean: bool) -> list[dict[str, Any]]:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=clean))
    return [{"key": key, "value": draw(any_value(clean=clean))} for key in keys]


def hex_id(draw: st.DrawFn, nbytes: int, *, clean: bool) -> str | None:
    value = draw(st.binary(min_size=nbytes, max_size=nbytes).filter(any)).hex()
    if clean:
        return value
    return draw(st.sampled_from([value, value, value.upper(), "0" * 2 * nbytes, None]))


@st.composite
def span(draw: st.DrawFn, *, clean: bool) -> dict[str, Any]:
    start = draw(st.integers(1, 2**62))
    end = start + draw(st.integers(0, 10**9))
    out: dict[str, Any] = {
        "traceId": hex_id(draw, 16, clean=clean),
        "spanId": hex_id(draw, 8, clean=clean),
        "name": draw(st.sampled_from(["GET /x", "SELECT", "", "span"])),
        "kind": draw(st.integers(0, 5)),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": draw(attributes(clean=clean)),
    }
    if draw(st.booleans()):
        out["parentSpanId"] = draw(
            st.sampled_from(["", hex_id(draw, 8, clean=True)])
            if clean
            else st.sampled_from(["", "0" * 16, "xyz", hex_id(draw, 8, clean=True)])
        )
    if draw(st.booleans()):
        out["status"] = draw(
            st.sampled_from(
                [{}, {"code": 2, "message": "boom"}, {"code": 1}, {"message": ""}]
            )
        )
    if draw(st.integers(0, 4)) == 0:
        out["events"] = [
            {
                "timeUnixNano": str(start),
                "name": "exception",
                "attributes": draw(attributes(clean=True)),
            }
        ]
    if draw(st.integers(0, 4)) == 0:
        out["links"] = [
            {"traceId": hex_id(draw, 16, clean=True), "spanId": "0102030405060708"}
        ]
    for key in ("name", "attributes", "kind") if draw(st.booleans()) else ():
        del out[key]
    if not clean:
        oddity = draw(st.integers(0, 12))
        if oddity == 0:
            out["kind"] = "SPAN_KIND_SERVER"
        elif oddity == 1:
            out["startTimeUnixNano"], out["endTimeUnixNano"] = str(end + 1), str(start)
        elif oddity == 2:
            out["startTimeUnixNano"] = start
        elif oddity == 3:
            out["kind"] = None
        elif oddity == 4:
            out["composite"] = {"count": 3}
        elif oddity == 5:
            out["endTimeUnixNano"] = "0"
        elif oddity == 6:
            out["kind"] = 9
    return out


@st.composite
def resource_spans(draw: st.DrawFn, *, clean: bool) -> dict[str, Any]:
    resource_attributes = draw(attributes(clean=clean))
    if draw(st.booleans()):
        service = draw(st.sampled_from(["shop", "", "api"]))
        resource_attributes.append(
            {"key": "service.name", "value": {"stringValue": service}}
        )
    scopes = []
    for _ in range(draw(st.integers(1, 2))):
        scope = draw(
            st.sampled_from(
                [{"name": "sqlalchemy", "version": "0.1"}, {"name": ""}, {}, None]
            )
        )
        block: dict[str, Any] = {"spans": draw(st.lists(span(clean=clean), max_size=4))}
        if scope is not None:
            block["scope"] = scope
        scopes.append(block)
    return {"resource": {"attributes": resource_attributes}, "scopeSpans": scopes}


@st.composite
def lines(draw: st.DrawFn, *, clean: bool) -> list[bytes]:
    out = []
    for _ in range(draw(st.integers(1, 5))):
        doc = {"resourceSpans": draw(st.lists(resource_spans(clean=clean), max_size=2))}
        line = orjson.dumps(doc)
        if not clean:
            oddity = draw(st.integers(0, 14))
            if oddity == 0:
                line = b""
            elif oddity == 1:
                line = line + b" " + line
            elif oddity == 2:
                line = b'{"resourceMetrics":[]}'
            elif oddity == 3:
                line = line[: len(line) // 2]
            elif oddity == 4:
                line = b"   "
            elif oddity == 5:
                line = b'{"resourceSpans":[null]}'
        out.append(line)
    return out


def read_both(path: Path, skip_invalid: bool) -> tuple[object, object]:
    """Each reader's spans and skipped counts, or the error it raised."""

    def outcome(read: Any, convert: Any) -> object:
        ctx = ReadContext(str(path), skip_invalid=skip_invalid)
        try:
            batches = [convert(batch) for batch in read(path, ctx)]
        except PerfkitError as error:
            return ("error", type(error).__name__, str(error))
        table = pa.Table.from_batches(batches, schema=ARROW_SCHEMA)
        return table.to_pylist(), dict(ctx.skipped), dict(ctx.ignored)

    return (
        outcome(read_span_batches, lambda batch: batch),
        outcome(read_spans, record_batch),
    )


def check_same(data: bytes, *, chunk_bytes: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "spans.jsonl")
        path.write_bytes(data)
        with pytest.MonkeyPatch.context() as patch:
            if chunk_bytes is not None:
                patch.setattr(columnar, "CHUNK_BYTES", chunk_bytes)
            for skip_invalid in (False, True):
                fast, reference = read_both(path, skip_invalid)
                assert fast == reference


@SETTINGS
@given(lines(clean=True))
def test_clean_lines_take_the_columnar_path_and_match_the_row_reader(
    found: list[bytes],
) -> None:
    data = b"\n".join(found) + b"\n"
    batch = columnar.chunk_batch(data)  # raises Declined if not taken
    assert batch.schema == ARROW_SCHEMA
    check_same(data)


@SETTINGS
@given(lines(clean=False), st.sampled_from([None, 1, 200]))
def test_any_lines_read_as_the_row_reader_reads_them(
    found: list[bytes], chunk_bytes: int | None
) -> None:
    check_same(b"\n".join(found) + b"\n", chunk_bytes=chunk_bytes)


@SETTINGS
@given(lines(clean=False))
def test_a_file_without_a_final_line_break_reads_alike(found: list[bytes]) -> None:
    check_same(b"\n".join(found))


def test_a_bad_line_in_a_later_chunk_is_reported_at_its_line_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = orjson.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": "0af7651916cd43dd8448eb211c80319c",
                                    "spanId": "b7ad6b7169203331",
                                    "name": "GET /",
                                    "kind": 2,
                                    "startTimeUnixNano": "1000",
                                    "endTimeUnixNano": "2000",
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )
    path = tmp_path / "spans.jsonl"
    bad = good[:-1] + b"!"  # as long as a good line: chunks of two lines each
    path.write_bytes(b"\n".join([good, good, good, bad, good]) + b"\n")
    monkeypatch.setattr(columnar, "CHUNK_BYTES", len(good) * 2 + 2)
    with pytest.raises(PerfkitError) as raised:
        list(read_span_batches(path))
    assert "line 4" in str(raised.value)
    ctx = ReadContext(str(path), skip_invalid=True)
    batches = list(read_span_batches(path, ctx))
    # Lines 1-2 are columnar, 3-4 hold the bad line and are read row by
    # row, line 5 is columnar again.
    assert [batch.num_rows for batch in batches] == [2, 1, 1]
    assert dict(ctx.skipped) == {"bad_json": 1}


def test_the_fixture_traces_read_alike_both_ways() -> None:
    files = sorted(FIXTURES.rglob("*.jsonl*"))
    assert files, "the OTLP JSON Lines fixtures are missing"
    for path in files:
        check_same(path.read_bytes())


def test_the_sample_traces_take_the_columnar_path_and_read_alike() -> None:
    sample = Path(__file__).parents[2] / "sample_traces" / "before" / "traces.jsonl.gz"
    data = gzip.decompress(sample.read_bytes())
    first = data[: data.index(b"\n", 1 << 20) + 1]
    assert columnar.chunk_batch(first).num_rows > 1000
    check_same(data)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(URLS, st.text(max_size=12)), max_size=20))
def test_url_hosts_agree_with_url_host(urls: list[str]) -> None:
    hosts = columnar.url_hosts(pa.array(urls, pa.large_string())).to_pylist()
    assert hosts == [url_host(url) if "://" in url else None for url in urls]


def test_url_hosts_by_hand() -> None:
    urls = [
        "https://User:pw@API.Example.com:8443/a?b#c",
        "http://[::1]:8080/",
        "http://[fe80::1/x",
        "http://a@b@Host/x",
        "ftp://",
        "no scheme here",
        "http://ÉCOLE.fr/",
    ]
    assert columnar.url_hosts(pa.array(urls)).to_pylist() == [
        "api.example.com",
        "::1",
        None,
        "host",
        None,
        None,
        "école.fr",
    ]


def test_a_bad_resource_without_spans_is_an_error_both_ways() -> None:
    line = orjson.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "n", "value": {"intValue": "x"}}]
                    },
                    "scopeSpans": [{"spans": []}],
                }
            ]
        }
    )
    with pytest.raises(columnar.Declined):
        columnar.chunk_batch(line + b"\n")
    check_same(line + b"\n")
