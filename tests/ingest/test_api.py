"""The public API: finding files, sniffing formats, batching and logging."""

from __future__ import annotations

import logging
import os
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


def test_expand_paths_names_a_symlink_loop_as_such(tmp_path: Path) -> None:
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    with pytest.raises(InputError) as caught:
        expand_paths([tmp_path / "a.json"])
    assert caught.value.code == "not_found"
    assert "symbolic link" in caught.value.message


def test_expand_paths_refuses_a_pipe_rather_than_hang(tmp_path: Path) -> None:
    # A file is opened more than once; the second open of a pipe would wait
    # for a writer forever.
    fifo = tmp_path / "traces.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as caught:
        expand_paths([fifo])
    assert caught.value.code == "unreadable"
    assert "not a regular file" in caught.value.message


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


@pytest.mark.parametrize(
    ("bad", "code", "message"),
    [
        (b"\xe9", "bad_encoding", "not valid UTF-8 (byte 0xe9 at byte offset"),
        (b"\x00", "bad_json", "unexpected control character"),
    ],
)
def test_json_with_a_byte_json_never_holds_is_an_error_saying_where(
    tmp_path: Path, bad: bytes, code: str, message: str
) -> None:
    # Not "binary content, not protobuf", and never skipped as not traces.
    good = (FIXTURES / "otlp_shop.json").read_bytes()
    data = good.replace(b'"shop"', b'"sh' + bad + b'op"', 1)
    path = tmp_path / "traces.json"
    path.write_bytes(data)
    assert is_trace_file(path)
    with pytest.raises(InputError) as caught:
        list(read_spans(path))
    assert not isinstance(caught.value, FormatNotRecognised)
    assert (caught.value.code, caught.value.retryable) == (code, False)
    assert message in caught.value.message
    offset = data.index(bad)
    line = data.count(b"\n", 0, offset) + 1
    column = offset - data.rfind(b"\n", 0, offset)
    assert caught.value.position == f"line {line}, column {column}"


def test_a_json_line_that_is_not_utf8_is_skipped_alone(tmp_path: Path) -> None:
    lines = (FIXTURES / "otlp_lines.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "lines.jsonl"
    path.write_bytes(lines[0] + b'{"resourceSpans": "caf\xe9"}\n' + b"".join(lines[1:]))
    rows, ctx = read_rows(path, skip_invalid=True)
    assert len(rows) == 3
    assert ctx.skipped == {"bad_json": 1}


def test_utf16_text_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "traces.json"
    text = (FIXTURES / "otlp_shop.json").read_text(encoding="utf-8")
    path.write_bytes(text.encode("utf-16"))  # with its byte order mark
    assert is_trace_file(path)
    with pytest.raises(InputError) as caught:
        sniff_format(path)
    assert not isinstance(caught.value, FormatNotRecognised)
    assert caught.value.code == "bad_encoding"
    assert "UTF-16LE" in caught.value.message


@pytest.mark.parametrize("name", ["otlp_shop.json", "otlp_lines.jsonl"])
def test_a_utf8_byte_order_mark_is_read_past(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / name).read_bytes())
    expected, _ = read_rows(FIXTURES / name)
    rows, _ = read_rows(path)
    assert rows == expected


def test_a_document_padded_with_nul_bytes_is_not_json_lines(tmp_path: Path) -> None:
    # A file padded with NULs (a crash while writing) is bad JSON, not a
    # first line of JSON Lines cut short and worth retrying.
    path = tmp_path / "padded.json"
    data = (FIXTURES / "otlp_shop.json").read_bytes().rstrip()
    path.write_bytes(data + b"\x00" * 64)
    with pytest.raises(InputError) as caught:
        list(read_spans(path))
    assert (caught.value.code, caught.value.retryable) == ("bad_json", False)
