"""Finding trace files and reading their spans in batches, whatever the format."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson
import pyarrow as pa

from perfkit.errors import FormatNotRecognised, InputError
from perfkit.ingest import _otlp_columnar, jaeger, otlp_json, otlp_proto, zipkin
from perfkit.ingest._io import (
    DECOMPRESSION_ERRORS,
    decompression_error,
    open_decompressed,
)
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import SpanRow, record_batch
from perfkit.ingest.sniff import DOCUMENT_FORMATS, UTF8_BOM, classify, sniff_format

logger = logging.getLogger(__name__)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files to read: files as given, folders as every file inside them.

    A folder is searched recursively; its files come sorted by path, and
    hidden files and folders (names starting with a dot) are left out. A file
    named twice is listed once. Files found in folders may include things that
    are not traces (a README, a profile): check them with
    :func:`is_trace_file` and skip those that are not.

    Raises:
        InputError: a path does not exist (code ``not_found``), or is a pipe
            or a device (code ``unreadable``).
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(
                f
                for f in path.rglob("*")
                if f.is_file() and not _hidden(f.relative_to(path))
            )
        elif path.is_file():
            files = [path]
        elif path.exists():
            # A pipe or a device: a file is opened more than once (to sniff
            # it, to read it), which a pipe cannot give and would hang on.
            raise InputError(
                str(path),
                "not a regular file (a pipe or a device); save the traces to a "
                "file and give its path",
                code="unreadable",
            )
        elif path.is_symlink():
            raise InputError(
                str(path),
                "a symbolic link to nothing (its target is missing, or it loops)",
                code="not_found",
            )
        else:
            raise InputError(str(path), "no such file or folder", code="not_found")
        for file in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def is_trace_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file found in a folder should be read as traces.

    False only when the content is recognisably something else (a README, a
    pyinstrument ``.pyisession``, OTLP metrics): :func:`sniff_format` raises
    :class:`~perfkit.errors.FormatNotRecognised` with code ``not_traces``, and
    the caller skips the file. Empty, unreadable or truncated files, and trace
    formats perfkit does not read (Zipkin v1), count as trace files, so that
    reading them reports the problem rather than hiding it.
    """
    try:
        sniff_format(path)
    except InputError as error:
        return error.code != "not_traces"
    return True


def read_spans(
    path: str | os.PathLike[str],
    ctx: ReadContext | None = None,
    *,
    batch_size: int = 20_000,
    format: str | None = None,
) -> Iterator[list[SpanRow]]:
    """Read a trace file as batches of span row tuples.

    The format is sniffed from the content (:func:`sniff_format`); gzip and
    zstd are decompressed on the way. JSON Lines and protobuf streams are read
    a line or a message at a time; a single JSON document or protobuf message
    is parsed whole. Batches hold ``batch_size`` rows, the last one fewer.

    Bad records (a bad line, a span without ids or times, one that ends
    before it starts) raise :class:`~perfkit.errors.InputError` naming the
    line, byte offset or JSON path, unless ``ctx.skip_invalid`` is set: then
    they are counted by reason in ``ctx.skipped``. Batches may have been
    yielded before an error is raised, so a caller that must store nothing
    from a bad file keeps the file's rows apart until the iterator ends.

    Args:
        path: the trace file.
        ctx: where bad records are reported; a strict context by default.
        batch_size: rows per batch.
        format: the format :func:`sniff_format` already found for this file,
            so that it is not sniffed twice; sniffed here when ``None``.

    Raises:
        InputError: the file cannot be read as traces, or (in strict mode) a
            record is bad. ``FormatNotRecognised`` for content that is not
            traces at all.
    """
    path = Path(path)
    ctx = ctx or ReadContext(str(path))
    fmt = format or sniff_format(path)
    spans = 0
    batch: list[SpanRow] = []
    with open_decompressed(path) as stream:
        try:
            for rows in _rows(fmt, stream, ctx, path):
                batch.extend(rows)
                while len(batch) >= batch_size:
                    spans += batch_size
                    yield batch[:batch_size]
                    batch = batch[batch_size:]
        except DECOMPRESSION_ERRORS as error:
            raise decompression_error(path, error) from None
    if batch:
        spans += len(batch)
        yield batch
    _finish_read(path, fmt, spans, ctx)


def read_span_batches(
    path: str | os.PathLike[str],
    ctx: ReadContext | None = None,
    *,
    batch_size: int = 20_000,
    format: str | None = None,
    chunk_bytes: int | None = None,
    workers: int = 2,
) -> Iterator[pa.RecordBatch]:
    """Read a trace file as Arrow record batches of span columns.

    The same spans, values and errors as :func:`read_spans`, in the columns of
    :data:`~perfkit.ingest.schema.ARROW_SCHEMA`. OTLP JSON Lines, the format
    of large files, is read a chunk of lines at a time straight into columns
    (:mod:`perfkit.ingest._otlp_columnar`), falling back to the row reader for
    any chunk the columnar path does not take; other formats are read as rows
    and converted. Batches hold at most ``batch_size`` spans from the row
    reader, and one chunk's spans from the columnar path, whose chunks are
    ``chunk_bytes`` of lines (16 MB by default), converted on ``workers``
    threads: larger chunks and more workers cost less time and more memory.
    """
    path = Path(path)
    ctx = ctx or ReadContext(str(path))
    fmt = format or sniff_format(path)
    if fmt != "otlp_jsonl":
        for rows in read_spans(path, ctx, batch_size=batch_size, format=fmt):
            yield record_batch(rows)
        return
    spans = 0
    pending: list[SpanRow] = []
    with open_decompressed(path) as stream:
        try:
            for found in _otlp_columnar.read_lines(
                stream, ctx, chunk_bytes=chunk_bytes, workers=workers
            ):
                if isinstance(found, pa.RecordBatch):
                    if pending:
                        spans += len(pending)
                        yield record_batch(pending)
                        pending = []
                    spans += found.num_rows
                    yield found
                    continue
                pending.extend(found)
                if len(pending) >= batch_size:
                    spans += len(pending)
                    yield record_batch(pending)
                    pending = []
        except DECOMPRESSION_ERRORS as error:
            raise decompression_error(path, error) from None
    if pending:
        spans += len(pending)
        yield record_batch(pending)
    _finish_read(path, fmt, spans, ctx)


def _rows(
    fmt: str, stream: BinaryIO, ctx: ReadContext, path: Path
) -> Iterator[list[SpanRow]]:
    if fmt == "otlp_jsonl":
        return otlp_json.read_lines(stream, ctx)
    if fmt == "otlp_proto_stream":
        return otlp_proto.read_stream(stream, ctx)
    data = stream.read()
    if fmt == "otlp_proto":
        return iter([otlp_proto.read_message(data, ctx)])
    assert fmt in DOCUMENT_FORMATS
    return _document_rows(data, ctx, path)


def _document_rows(
    data: bytes, ctx: ReadContext, path: Path
) -> Iterator[list[SpanRow]]:
    if data.startswith(UTF8_BOM):
        # Windows tools write one; sniffing looked past it, and so does reading.
        data = data[len(UTF8_BOM) :]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if _is_first_line_complete(data, error):
            # JSON Lines whose first line did not fit in the sniffed head.
            return otlp_json.read_lines(io.BytesIO(data), ctx)
        raise _json_error(data, error, str(path)) from None
    fmt = classify(doc, str(path))
    if fmt == "jaeger_json":
        return jaeger.read_document(doc, ctx)
    if fmt == "zipkin_json":
        return zipkin.read_document(doc, ctx)
    return iter([otlp_json.DocumentReader(ctx).rows(doc)])


def _is_first_line_complete(data: bytes, error: orjson.JSONDecodeError) -> bool:
    # A whole first document, then a line break before what follows it: not
    # a document followed by junk on its own line (NUL padding, say).
    first = data[: error.pos]
    return (
        "after document" in error.msg
        and b"\n" not in first.strip()
        and first.rstrip(b" \t") != first.rstrip()
    )


def _json_error(data: bytes, error: orjson.JSONDecodeError, path: str) -> InputError:
    where = f"line {error.lineno}, column {error.colno}"
    if "UTF-8" in error.msg and "BOM" not in error.msg:
        return _utf8_error(data, path) or InputError(
            path, f"the JSON is not valid ({error.msg})", code="bad_json"
        )
    at_end = error.pos >= len(data.rstrip()) - 1
    finished_line = data.endswith(b"\n") and b"\n" not in data.rstrip()
    if at_end and not finished_line:
        # A file still being written ends early; a one-line document that
        # ends early but has its newline was written that way.
        return InputError(
            path,
            "the JSON ends early; the file may still be being written",
            position=where,
            code="truncated",
            retryable=True,
        )
    problem = "ends early" if at_end else "is not valid"
    return InputError(
        path, f"the JSON {problem} ({error.msg})", position=where, code="bad_json"
    )


def _utf8_error(data: bytes, path: str) -> InputError | None:
    # orjson puts every UTF-8 error at byte 0: find the real place.
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start
    else:
        return None
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return InputError(
        path,
        f"the JSON is not valid UTF-8 (byte 0x{data[offset]:02x} at byte offset "
        f"{offset}); save the file as UTF-8",
        position=f"line {line}, column {column}",
        code="bad_encoding",
    )


def _finish_read(path: Path, fmt: str, spans: int, ctx: ReadContext) -> None:
    _check_some_traces(fmt, spans, ctx)
    logger.info(
        "read %s (%s): %d spans, %d skipped",
        path,
        fmt,
        spans,
        sum(ctx.skipped.values()),
    )


def _check_some_traces(fmt: str, spans: int, ctx: ReadContext) -> None:
    # A JSON Lines file of OTLP metrics or logs only is not a trace file.
    if fmt == "otlp_jsonl" and spans == 0 and ctx.ignored and not ctx.skipped:
        signals = " and ".join(sorted(ctx.ignored))
        raise FormatNotRecognised(
            ctx.path, f"OTLP {signals} data, not traces", code="not_traces"
        )
