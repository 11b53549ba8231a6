"""Recognising a trace file's format from its content, never from its name.

The first megabyte (decompressed) decides. Binary content is OTLP protobuf:
a bare ``ExportTraceServiceRequest`` starts with the tag of its first
``resource_spans`` (``0x0a``), the Collector file exporter's stream with a
4-byte big-endian length. UTF-16 text is refused with a clear message, and
content that starts like JSON but holds bytes JSON never does (a NUL, bytes
that are not UTF-8) is read as JSON, so that the reader says where they are.
Text is JSON: when the head holds the whole
document it is classified by its structure; otherwise JSON Lines are
recognised by a complete line that is an OTLP ``TracesData``, and a big single
document by the first key that only one format uses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Final

import orjson

from perfkit.errors import FormatNotRecognised, InputError
from perfkit.ingest import jaeger, zipkin
from perfkit.ingest._io import (
    DECOMPRESSION_ERRORS,
    ZSTD_MAGIC,
    decompression_error,
    open_decompressed,
)
from perfkit.ingest.otlp_json import signal_of

#: Every format :func:`sniff_format` can return.
FORMATS: Final = (
    "otlp_json",
    "otlp_jsonl",
    "otlp_proto",
    "otlp_proto_stream",
    "jaeger_json",
    "zipkin_json",
)
#: Formats that are one JSON document, parsed whole.
DOCUMENT_FORMATS: Final = frozenset({"otlp_json", "jaeger_json", "zipkin_json"})

HEAD_SIZE: Final = 1 << 20
_LINES_TO_TRY: Final = 200
#: The byte order mark some Windows tools put before UTF-8 text.
UTF8_BOM: Final = b"\xef\xbb\xbf"
_WIDE_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\xff\xfe", "UTF-16LE"),
    (b"\xfe\xff", "UTF-16BE"),
)
# Control bytes JSON text never holds (inside strings they must be escaped):
# any of them means binary content. DEL (0x7f) is allowed unescaped.
_CONTROL: Final = bytes(b for b in range(32) if b not in b"\t\n\r")
_FIRST_KEY: Final = re.compile(
    rb'"(resourceSpans|resource_spans|batches|resourceMetrics|resource_metrics|'
    rb"resourceLogs|resource_logs|resourceProfiles|traceID|spanID|operationName|"
    rb'traceId)"\s*:'
)
_FIRST_KEY_FORMAT: Final = {
    b"resourceSpans": "otlp_json",
    b"resource_spans": "otlp_json",
    b"batches": "otlp_json",
    b"traceID": "jaeger_json",
    b"spanID": "jaeger_json",
    b"operationName": "jaeger_json",
    b"traceId": "zipkin_json",
}
# Field tags that can start a ResourceSpans message: resource (1),
# scope_spans (2), schema_url (3) and the legacy field 1000.
_RESOURCE_SPANS_STARTS: Final = (b"\x0a", b"\x12", b"\x1a", b"\xc2\x3e")


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format of a trace file, one of :data:`FORMATS`.

    gzip and zstd compression are recognised by their magic bytes and looked
    through.

    Raises:
        FormatNotRecognised: the content is not trace data perfkit reads (code
            ``not_traces``, or ``unsupported_format`` for Zipkin v1).
        InputError: the file is empty (code ``empty``) or cannot be read.
    """
    path = Path(path)
    with open_decompressed(path) as stream:
        try:
            head = stream.read(HEAD_SIZE)
            complete = not stream.read(1)
        except DECOMPRESSION_ERRORS as error:
            raise decompression_error(path, error) from None
    return sniff_bytes(head, complete=complete, path=str(path))


def sniff_bytes(head: bytes, *, complete: bool, path: str) -> str:
    """The format of content whose first bytes are ``head``.

    ``complete`` says whether ``head`` is the whole (decompressed) content.

    Raises:
        FormatNotRecognised: not trace data.
        InputError: empty content (code ``empty``, retryable).
    """
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    text = head.lstrip()
    if not text:
        raise InputError(
            path,
            "the file is empty; it may still be being written",
            code="empty",
            retryable=True,
        )
    if _is_binary(head, complete):
        wide = _wide_encoding(head)
        if wide is not None:
            raise InputError(
                path,
                f"the file is {wide} text, and perfkit reads JSON only as UTF-8; "
                f"convert it first (iconv -f {wide} -t UTF-8)",
                code="bad_encoding",
            )
        found = _sniff_proto(head, complete)
        if found is not None:
            return found
        if text[:1] not in (b"{", b"["):
            raise FormatNotRecognised(
                path,
                "binary content that is not an OTLP protobuf message or stream",
                code="not_traces",
            )
        # JSON holding a byte JSON text never holds (a NUL, a byte that is not
        # UTF-8): read it as JSON, so that the reader says where it is, or
        # skips the line it is in, rather than call the file binary.
    if text[:1] in (b"{", b"["):
        return _sniff_json(text, complete, path)
    raise FormatNotRecognised(
        path, "neither JSON nor OTLP protobuf, so not a trace file", code="not_traces"
    )


def classify(doc: Any, path: str) -> str:
    """The format of a whole parsed JSON document.

    Raises:
        FormatNotRecognised: the document is not traces in a known shape.
    """
    signal = signal_of(doc)
    if signal == "traces":
        return "otlp_json"
    if signal is not None:
        raise FormatNotRecognised(
            path, f"OTLP {signal} data, not traces", code="not_traces"
        )
    if jaeger.is_jaeger(doc):
        return "jaeger_json"
    if zipkin.is_zipkin(doc):
        if zipkin.is_v1(doc):
            raise FormatNotRecognised(
                path,
                "Zipkin v1 JSON is not supported; export Zipkin v2 (/api/v2) "
                "or OTLP instead",
                code="unsupported_format",
            )
        return "zipkin_json"
    raise FormatNotRecognised(
        path,
        f"JSON, but not OTLP, Jaeger or Zipkin trace data ({_describe(doc)})",
        code="not_traces",
    )


def _describe(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(list(doc)[:5]) or "no keys"
        return f"an object with {keys}"
    if isinstance(doc, list):
        return f"a list of {len(doc)} items"
    return f"a JSON {type(doc).__name__}"


def _wide_encoding(head: bytes) -> str | None:
    # Text in UTF-16 (Windows PowerShell 5 redirects in UTF-16LE), known by
    # its byte order mark; UTF-32LE's mark starts like UTF-16LE's. Big-endian
    # UTF-32's mark (00 00 fe ff) is left out: a protobuf stream can start so.
    for mark, name in _WIDE_BOMS:
        if head.startswith(mark):
            return name
    return None


def _is_binary(head: bytes, complete: bool) -> bool:
    if len(head.translate(None, _CONTROL)) != len(head):
        return True
    sample = head if complete else head[:-4]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _sniff_json(text: bytes, complete: bool, path: str) -> str:
    if complete:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            return classify(doc, path)
    if _has_trace_lines(text, complete):
        return "otlp_jsonl"
    match = _FIRST_KEY.search(text)
    if match is None:
        raise FormatNotRecognised(
            path, "JSON, but not OTLP, Jaeger or Zipkin trace data", code="not_traces"
        )
    found = _FIRST_KEY_FORMAT.get(match.group(1))
    if found is None:
        signal = match.group(1).decode()
        raise FormatNotRecognised(
            path, f"OTLP data ({signal}), not traces", code="not_traces"
        )
    return found


def _has_trace_lines(text: bytes, complete: bool) -> bool:
    # JSON Lines: some complete line is a TracesData of its own.
    lines = text.split(b"\n")
    if not complete:
        lines.pop()
    lines = [line for line in lines[:_LINES_TO_TRY] if line.strip()]
    if len(lines) < 2 and complete:
        return False
    for line in lines:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if signal_of(doc) == "traces":
            return True
    return False


def _sniff_proto(head: bytes, complete: bool) -> str | None:
    if head[:1] == b"\x0a" and _is_resource_spans(head, 0):
        return "otlp_proto"
    if len(head) > 4:
        size = int.from_bytes(head[:4], "big")
        fits = not complete or 4 + size <= len(head)
        payload = head[4:8]
        if (
            size > 0
            and fits
            and (payload[:1] in (b"\x0a", b"{") or payload == ZSTD_MAGIC)
        ):
            return "otlp_proto_stream"
    return None


def _is_resource_spans(data: bytes, offset: int) -> bool:
    # A length-delimited field 1 whose content starts like a ResourceSpans.
    # Its length may run past the end: a cut-off message is still protobuf.
    size, start = read_varint(data, offset + 1)
    if size is None:
        return False
    return size == 0 or data[start:].startswith(_RESOURCE_SPANS_STARTS)


def read_varint(data: bytes, offset: int) -> tuple[int | None, int]:
    """A protobuf varint at ``offset``: its value (None if cut off) and end."""
    value = shift = 0
    for index in range(offset, min(len(data), offset + 10)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    return None, offset
