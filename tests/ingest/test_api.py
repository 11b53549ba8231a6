"""The public API: finding files, sniffing formats, batching and logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from perfkit.errors import FormatNotRecognised, InputError
from perfkit.ingest import expand_paths, is_trace_file, read_spans, sniff_format

from .helpers import FIXTURES, read_rows


def test_expand_paths_lists_folders_recursively_sorted_without_hidden(
    tmp_path: Path,
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/2.json", "a.json", "b/1.json", ".hidden.json", ".git/x.json"):
        (tmp_path / name).write_text("{}")
    single = tmp_path / "b" / "1.json"
    assert expand_paths([tmp_path, single]) == [
        tmp_path / "a.json",
        tmp_path / "b" / "1.json",
        tmp_path / "b" / "2.json",
    ]
    # A file given by name is read even when hidden.
    assert expand_paths([str(tmp_path / ".hidden.json")]) == [tmp_path / ".hidden.json"]


def test_expand_paths_rejects_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        expand_paths([tmp_path / "nope"])
    assert caught.value.code == "not_found"
    assert caught.value.path == str(tmp_path / "nope")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("otlp_shop.json", "otlp_json"),
        ("otlp_lenient.json", "otlp_json"),
        ("tempo_batches.json", "otlp_json"),
        ("jaeger_v3_result.json", "otlp_json"),
        ("otlp_lines.jsonl", "otlp_jsonl"),
        ("bad_line.jsonl", "otlp_jsonl"),
        ("jaeger_shop.json", "jaeger_json"),
        ("zipkin_shop.json", "zipkin_json"),
    ],
)
def test_sniff_format(name: str, expected: str) -> None:
    assert sniff_format(FIXTURES / name) == expected


def test_sniff_ignores_the_file_name(tmp_path: Path) -> None:
    misleading = tmp_path / "traces.jsonl.gz"
    misleading.write_bytes((FIXTURES / "zipkin_shop.json").read_bytes())
    assert sniff_format(misleading) == "zipkin_json"


@pytest.mark.parametrize("name", ["README.md", "not_traces.json", "otlp_metrics.json"])
def test_not_traces(name: str) -> None:
    with pytest.raises(FormatNotRecognised) as caught:
        sniff_format(FIXTURES / name)
    assert (caught.value.code, caught.value.retryable) == ("not_traces", False)
    with pytest.raises(FormatNotRecognised):
        list(read_spans(FIXTURES / name))


def test_empty_file() -> None:
    with pytest.raises(InputError) as caught:
        list(read_spans(FIXTURES / "empty.json"))
    assert caught.value.code == "empty"
    assert not isinstance(caught.value, FormatNotRecognised)


def test_is_trace_file_skips_what_is_recognisably_not_traces() -> None:
    found = {path.name: is_trace_file(path) for path in expand_paths([FIXTURES])}
    assert found["README.md"] is False
    assert found["not_traces.json"] is False
    assert found["otlp_metrics.json"] is False
    # Empty and broken files are read, so that their problem is reported.
    assert found["empty.json"] is True
    assert found["bad_truncated.jsonl"] is True
    assert found["otlp_shop.json"] is True
    # A trace format perfkit does not read is reported, not silently skipped.
    assert found["zipkin_v1.json"] is True


def test_batches_have_batch_size_rows() -> None:
    batches = list(read_spans(FIXTURES / "otlp_lines.jsonl", batch_size=2))
    assert [len(batch) for batch in batches] == [2, 1]
    batches = list(read_spans(FIXTURES / "otlp_shop.json", batch_size=1))
    assert [len(batch) for batch in batches] == [1, 1, 1, 1]


def test_one_info_line_per_file(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="perfkit"):
        read_rows(FIXTURES / "otlp_shop.json")
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1
    assert infos[0].name == "perfkit.ingest._read"
    assert "4 spans" in infos[0].getMessage()


def test_a_one_line_document_cut_short_with_its_newline_is_not_retryable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(b'{"resourceSpans":[{"resource":{"attributes":[\n')
    with pytest.raises(InputError) as caught:
        list(read_spans(path))
    assert (caught.value.code, caught.value.retryable) == ("bad_json", False)
    assert caught.value.position == "line 2, column 1"


def test_json_lines_whose_first_line_is_longer_than_the_sniffed_head(
    tmp_path: Path,
) -> None:
    line = (FIXTURES / "jaeger_v3_result.json").read_bytes().strip()
    padded = line.replace(b'"wrapped"', b'"' + b"w" * (1 << 20) + b'"')
    path = tmp_path / "long.jsonl"
    path.write_bytes(padded + b"\n" + line + b"\n")
    assert sniff_format(path) == "otlp_json"  # the head alone cannot tell
    rows, _ = read_rows(path)
    assert [len(str(row[3])) for row in rows] == [1 << 20, 7]
