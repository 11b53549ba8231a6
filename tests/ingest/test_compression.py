"""gzip and zstd files are recognised by their magic bytes and read through."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import zstandard

from perfkit.errors import InputError
from perfkit.ingest import is_trace_file, sniff_format

from .helpers import FIXTURES, read_rows
from .shop_proto import shop_request

LINES = (FIXTURES / "otlp_lines.jsonl").read_bytes()


def test_gzip(tmp_path: Path) -> None:
    path = tmp_path / "traces.data"
    path.write_bytes(gzip.compress(LINES))
    assert sniff_format(path) == "otlp_jsonl"
    assert read_rows(path)[0] == read_rows(FIXTURES / "otlp_lines.jsonl")[0]


def test_zstd_with_several_frames(tmp_path: Path) -> None:
    # The Collector starts a new frame at each flush, mid-line or not.
    cut = len(LINES) // 3
    compress = zstandard.ZstdCompressor().compress
    path = tmp_path / "traces.data"
    path.write_bytes(compress(LINES[:cut]) + compress(LINES[cut:]))
    assert sniff_format(path) == "otlp_jsonl"
    assert read_rows(path)[0] == read_rows(FIXTURES / "otlp_lines.jsonl")[0]


def test_zstd_stream_without_content_size(tmp_path: Path) -> None:
    writer = zstandard.ZstdCompressor().compressobj()
    data = writer.compress(LINES) + writer.flush()
    path = tmp_path / "traces.data"
    path.write_bytes(data)
    assert len(read_rows(path)[0]) == 3


def test_compressed_protobuf_and_documents(tmp_path: Path) -> None:
    bare = tmp_path / "request.bin.gz"
    bare.write_bytes(gzip.compress(shop_request().SerializeToString()))
    assert sniff_format(bare) == "otlp_proto"
    jaeger = tmp_path / "jaeger.zst"
    jaeger.write_bytes(
        zstandard.ZstdCompressor().compress(
            (FIXTURES / "jaeger_shop.json").read_bytes()
        )
    )
    assert sniff_format(jaeger) == "jaeger_json"
    assert read_rows(bare)[0] == read_rows(jaeger)[0]


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_cut_off_compressed_data_is_retryable(tmp_path: Path, codec: str) -> None:
    big = LINES * 2000
    if codec == "gzip":
        data = gzip.compress(big)
    else:
        data = zstandard.ZstdCompressor().compress(big)
    path = tmp_path / f"growing.{codec}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert (caught.value.code, caught.value.retryable) == ("truncated", True)


def test_corrupt_zstd(tmp_path: Path) -> None:
    data = zstandard.ZstdCompressor().compress(LINES)
    path = tmp_path / "corrupt.zst"
    path.write_bytes(data[:4] + b"\x00" * 8 + data[12:])
    with pytest.raises(InputError) as caught:
        sniff_format(path)
    assert caught.value.code == "bad_compression"
    assert is_trace_file(path) is True  # read it, so the problem is reported


def test_compressed_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError) as caught:
        sniff_format(path)
    assert caught.value.code == "empty"
