"""Every file of the public trace corpus reads, or fails with a perfkit error.

The corpus lives beside the repository (``../shared/corpus``) and is not part
of it; these tests skip where it is absent. Span counts come from the corpus's
PROVENANCE.md, computed there independently of perfkit. A file whose spans
all read must give exactly that many rows; a file with bad spans must fail in
strict mode with the code below, and with ``skip_invalid`` its rows and
skipped spans must add up to that count.
"""

from __future__ import annotations

import re

import pytest

from perfkit.errors import InputError
from perfkit.ingest import is_trace_file
from perfkit.ingest.schema import COLUMN_NAMES

from .helpers import CORPUS, read_rows

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/corpus")

# What each negative file is, from the "structure & odd features" column of
# PROVENANCE.md: the code perfkit must answer with in strict mode.
_PLACEHOLDER_IDS = "missing_ids"  # "trace-001", "xxxxx", "trace-123"...
_NO_TIMESTAMPS = "missing_times"
EXPECTED_ERRORS = {
    "duckdb-otlp/test-data/empty.jsonl": "empty",
    "duckdb-otlp/test-data/whitespace.jsonl": "empty",
    "duckdb-otlp/test-data/malformed.jsonl": "not_otlp",  # line 1 is not OTLP
    "duckdb-otlp/test-data/multifile_malformed_traces.jsonl": "bad_json",
    "duckdb-otlp/test-data/single_trace.jsonl": _NO_TIMESTAMPS,
    "duckdb-otlp/test-data/traces_deep_nesting.jsonl": _NO_TIMESTAMPS,
    "duckdb-otlp/test-data/traces_large_attrs.jsonl": _NO_TIMESTAMPS,
    "duckdb-otlp/test-data/traces_nulls.jsonl": _NO_TIMESTAMPS,
    "jaeger/anonymizer-uiconv-fixtures/trace_empty.json": "empty",
    "jaeger/anonymizer-uiconv-fixtures/trace_invalid_json.json": _NO_TIMESTAMPS,
    "jaeger/anonymizer-uiconv-fixtures/trace_scan_error.json": "bad_json",
    "jaeger/anonymizer-uiconv-fixtures/trace_wrong_format.json": "not_traces",
    # Jaeger's internal api_v2 model JSON (base64 ids, RFC 3339 times).
    "jaeger/converter-thrift-jaeger-fixtures/domain_03.json": "not_traces",
    "jaeger/uimodel-converter-v1-json-fixtures/domain_01.json": "not_traces",
    "jaeger/jaegerquery-apiv3-snapshots/GetTrace.json": _NO_TIMESTAMPS,
    "jaeger-ui/CriticalPath-testCases/happyTrace.json": _PLACEHOLDER_IDS,
    # Relative times: the root starts at 0, which is no time at all.
    "jaeger-ui/TraceCriticalPath/testTrace.json": _NO_TIMESTAMPS,
    "jaeger-ui/TraceFlamegraph/genaiPartialTestTrace.json": _PLACEHOLDER_IDS,
    "jaeger-ui/TraceGraph/overlappingTrace.json": _PLACEHOLDER_IDS,
    "jaeger-ui/TraceGraph/testTrace.json": _PLACEHOLDER_IDS,
    "jaeger-ui/test-data/upload-test-file-a.json": _PLACEHOLDER_IDS,
    "jaeger-ui/test-data/upload-test-file-b.json": _PLACEHOLDER_IDS,
    "openobserve/dbm-capture-fixtures/MANIFEST.md": "not_traces",
    "opentelemetry-proto/examples/trace.protobuf-text": "not_traces",
    "otlp2parquet/testdata/invalid/malformed.json": "not_traces",  # resourceLogs
    "otlp2parquet/testdata/invalid/trace_invalid_base64.json": _PLACEHOLDER_IDS,
    "otlp2parquet/testdata/invalid/trace_invalid_kind.json": "bad_kind",
    "otlp2parquet/testdata/invalid/trace_mixed_encoding.json": _PLACEHOLDER_IDS,
    "zipkin/benchmarks/span-client.json": "unsupported_format",
    "zipkin/benchmarks/span-local.json": "unsupported_format",
    "zipkin/benchmarks/span-rpc-ipv6.json": "unsupported_format",
    "zipkin/benchmarks/span-rpc.json": "unsupported_format",
    "zipkin/zipkin-lens-v1/test.json": "unsupported_format",
    "zipkin/zipkin-lens-src-test-data/malformed.json": _NO_TIMESTAMPS,
    "zipkin/zipkin-lens-testdata/netflix.json": _NO_TIMESTAMPS,
    "zipkin/zipkin-lens-testdata/smartthings-mobile-web-install.json": _NO_TIMESTAMPS,
}
_PREFIXES_WITH_ERRORS = {
    "openobserve/dbm-capture-fixtures/": _PLACEHOLDER_IDS,
    "otel-go-instrumentation/20": _PLACEHOLDER_IDS,
    "pyinstrument/": "not_traces",
}
# Reasons that count one span each (line- and file-level ones do not).
SPAN_REASONS = {
    "missing_ids",
    "missing_times",
    "bad_id",
    "bad_time",
    "bad_kind",
    "bad_status",
    "bad_value",
    "bad_span",
    "end_before_start",
}
_ROW = re.compile(r"^\| `([^`]+)` \|(?:[^|]*\|){4} (\d+) \(")


def _provenance_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    provenance = CORPUS / "PROVENANCE.md"
    if provenance.is_file():
        for line in provenance.read_text(encoding="utf-8").splitlines():
            match = _ROW.match(line)
            if match:
                counts[match.group(1)] = int(match.group(2))
    return counts


COUNTS = _provenance_counts()
FILES = sorted(
    str(path.relative_to(CORPUS)).replace("\\", "/")
    for path in (CORPUS.rglob("*") if CORPUS.is_dir() else ())
    if path.is_file() and path.name != "PROVENANCE.md"
)


def expected_error(name: str) -> str | None:
    if name in EXPECTED_ERRORS:
        return EXPECTED_ERRORS[name]
    for prefix, code in _PREFIXES_WITH_ERRORS.items():
        if name.startswith(prefix):
            return code
    return None


def test_provenance_gives_counts() -> None:
    # Guards the parsing above: a change of table layout must not pass silently.
    assert COUNTS[
        "zipkin/zipkin-lens-testdata/smartthings-mobile-web-install.json"
    ] == (1041)
    assert len(COUNTS) > 100


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(name: str) -> None:
    path = CORPUS / name
    code = expected_error(name)
    if code is None:
        rows, ctx = read_rows(path)
        assert not ctx.skipped
        if name in COUNTS:
            assert len(rows) == COUNTS[name]
        _check_rows(rows)
        assert is_trace_file(path)
        return

    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == code, caught.value
    assert caught.value.path == str(path)
    assert is_trace_file(path) is (code != "not_traces")
    if code in SPAN_REASONS:
        rows, ctx = read_rows(path, skip_invalid=True)
        spans_skipped = sum(
            n for reason, n in ctx.skipped.items() if reason in SPAN_REASONS
        )
        assert len(rows) + spans_skipped == COUNTS[name]
        _check_rows(rows)


def _check_rows(rows: list[tuple[object, ...]]) -> None:
    hex_digits = set("0123456789abcdef")
    for row in rows:
        span = dict(zip(COLUMN_NAMES, row, strict=True))
        trace_id, span_id, parent = (
            span["trace_id"],
            span["span_id"],
            span["parent_span_id"],
        )
        assert isinstance(trace_id, str)
        assert isinstance(span_id, str)
        assert (len(trace_id), len(span_id)) == (32, 16)
        assert set(trace_id + span_id) <= hex_digits
        if parent is not None:
            assert isinstance(parent, str)
            assert len(parent) == 16
            assert set(parent) <= hex_digits
        start, end = span["start_ns"], span["end_ns"]
        assert isinstance(start, int)
        assert isinstance(end, int)
        assert 0 < start <= end
        assert span["kind"] in range(6)
        assert span["status_code"] in range(3)
