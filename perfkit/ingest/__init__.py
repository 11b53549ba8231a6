"""Reading trace files into normalised span rows.

Four formats, recognised by content: OTLP JSON (a document or JSON Lines),
OTLP protobuf (a bare message or the Collector's length-prefixed stream),
Jaeger JSON and Zipkin v2 JSON, each possibly gzip- or zstd-compressed.
:func:`read_spans` yields row tuples in the order of
:data:`~perfkit.ingest.schema.SPAN_COLUMNS`, with old and new semantic-convention
names mapped to one set of columns; :func:`read_span_batches` yields the same
spans as Arrow record batches, reading OTLP JSON Lines straight into columns.

Typical use::

    for path in expand_paths(["traces/"]):
        if not is_trace_file(path):
            continue
        for batch in read_spans(path, ReadContext(str(path), skip_invalid=True)):
            ...
"""

from __future__ import annotations

from perfkit.ingest._read import (
    expand_paths,
    is_trace_file,
    read_span_batches,
    read_spans,
)
from perfkit.ingest.results import FileResult, ReadContext
from perfkit.ingest.schema import SPAN_COLUMNS, SpanRow, rows_to_frame
from perfkit.ingest.sniff import FORMATS, sniff_format

__all__ = [
    "FORMATS",
    "SPAN_COLUMNS",
    "FileResult",
    "ReadContext",
    "SpanRow",
    "expand_paths",
    "is_trace_file",
    "read_span_batches",
    "read_spans",
    "rows_to_frame",
    "sniff_format",
]
