"""OTLP JSON Lines read a chunk of lines at a time into span columns, with Arrow.

This is the path a large trace file takes. ``pyarrow.json`` parses a chunk of
lines (16 MB by default) against an explicit schema of ``TracesData``, on every
core, and everything after that is column arithmetic: spans are flattened out
of their resource and scope blocks, ids and times are checked in bulk, and the
raw attributes become JSON text without a Python object per span. Python runs
once per *distinct* value instead: once per distinct attribute string (to
escape it as JSON), once per distinct resource, and once per distinct
combination of the attributes that semantic-convention normalisation reads
(:data:`~perfkit.ingest.semconv.NORMALISE_KEYS`), through the very
:func:`~perfkit.ingest.semconv.normalise` the row readers call.

The result is the same, value for value, as the row reader's
(:mod:`perfkit.ingest.otlp_json`). Where a chunk holds anything that path
treats specially (an unexpected field, explicit ``null``\\ s, enum names, ids
that are not lowercase hex, a bad time, a span that ends before it starts, a
repeated attribute key, a value of two kinds, a line that is not one JSON
object, and what pyarrow reads but JSON has not: NaN and infinities, bytes
that are not UTF-8, a carriage return inside a line), the fast path
declines the whole chunk and the row reader reads it instead, with its exact
positions and lenient rules. A declined chunk costs its parse twice and
nothing else.
"""

from __future__ import annotations

import io
import logging
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Final

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from perfkit.ingest import otlp_json
from perfkit.ingest._otlp_json_span import _events, _links, any_value
from perfkit.ingest._rows import COMPOSITE_KEYS, composite_count, make_resource
from perfkit.ingest._semconv_rules import (
    CLIENT_URL_KEYS,
    SERVER_URL_KEYS,
    url_host,
    url_source,
)
from perfkit.ingest._values import EMPTY_LIST, INT64_MAX, BadValue
from perfkit.ingest.results import ReadContext
from perfkit.ingest.schema import (
    ARROW_SCHEMA as SCHEMA,
)
from perfkit.ingest.schema import (
    COLUMN_NAMES,
    KIND_SERVER,
    MEMORY_POOL,
    SpanRow,
    record_batch,
)
from perfkit.ingest.semconv import NORMALISE_KEYS, NORMALISED_COLUMNS, normalise

logger = logging.getLogger(__name__)

#: Bytes of lines parsed at a time: enough for both cores to share the work,
#: few enough that a chunk's nested columns stay small.
CHUNK_BYTES: Final = 16 << 20
_BLOCK_BYTES: Final = 4 << 20
# Distinct resources remembered between chunks, as the row reader bounds its own.
_RESOURCE_CACHE_LIMIT: Final = 4096
_UTF8_BOM: Final = b"\xef\xbb\xbf"

# Explicit nulls (`"kind": null`, `[null]`, a line `null`) mean something to
# the row reader that absent fields do not: chunks holding one go the row
# reader's way. (Both parsers reject a lone surrogate escape, and decode pairs
# alike.)
_NULL = re.compile(rb"(?:[:\[,]|^)\s*null\b", re.MULTILINE)
_NEWLINE: Final = ord("\n")
_SPACE_BYTES: Final = np.frombuffer(b" \t\r\n\x0b\x0c", dtype=np.uint8)

_SCALAR_FIELDS: Final = [
    ("stringValue", pa.string()),
    ("intValue", pa.string()),
    ("boolValue", pa.bool_()),
    ("doubleValue", pa.float64()),
    ("bytesValue", pa.string()),
]
_SCALAR = pa.struct(_SCALAR_FIELDS)
_ANY_VALUE = pa.struct(
    [*_SCALAR_FIELDS, ("arrayValue", pa.struct([("values", pa.list_(_SCALAR))]))]
)
_ATTRIBUTES = pa.list_(pa.struct([("key", pa.string()), ("value", _ANY_VALUE)]))
_DROPPED = ("droppedAttributesCount", pa.int64())
_SPAN = pa.struct(
    [
        ("traceId", pa.string()),
        ("spanId", pa.string()),
        ("traceState", pa.string()),
        ("parentSpanId", pa.string()),
        ("flags", pa.int64()),
        ("name", pa.string()),
        ("kind", pa.int64()),
        ("startTimeUnixNano", pa.string()),
        ("endTimeUnixNano", pa.string()),
        ("attributes", _ATTRIBUTES),
        _DROPPED,
        (
            "events",
            pa.list_(
                pa.struct(
                    [
                        ("timeUnixNano", pa.string()),
                        ("name", pa.string()),
                        ("attributes", _ATTRIBUTES),
                        _DROPPED,
                    ]
                )
            ),
        ),
        ("droppedEventsCount", pa.int64()),
        (
            "links",
            pa.list_(
                pa.struct(
                    [
                        ("traceId", pa.string()),
                        ("spanId", pa.string()),
                        ("traceState", pa.string()),
                        ("attributes", _ATTRIBUTES),
                        _DROPPED,
                        ("flags", pa.int64()),
                    ]
                )
            ),
        ),
        ("droppedLinksCount", pa.int64()),
        ("status", pa.struct([("code", pa.int64()), ("message", pa.string())])),
    ]
)
_SCOPE = pa.struct(
    [
        ("name", pa.string()),
        ("version", pa.string()),
        ("attributes", _ATTRIBUTES),
        _DROPPED,
    ]
)
#: One line of OTLP JSON Lines: a TracesData object, as the fast path reads it.
LINE_SCHEMA: Final = pa.schema(
    [
        (
            "resourceSpans",
            pa.list_(
                pa.struct(
                    [
                        (
                            "resource",
                            pa.struct([("attributes", _ATTRIBUTES), _DROPPED]),
                        ),
                        (
                            "scopeSpans",
                            pa.list_(
                                pa.struct(
                                    [
                                        ("scope", _SCOPE),
                                        ("spans", pa.list_(_SPAN)),
                                        ("schemaUrl", pa.string()),
                                    ]
                                )
                            ),
                        ),
                        ("schemaUrl", pa.string()),
                    ]
                )
            ),
        )
    ]
)
# The keys whose values decide the normalised columns and the composite count.
_SIGNATURE_KEYS: Final = NORMALISE_KEYS | frozenset(COMPOSITE_KEYS)
_NORMALISED_TYPES: Final = {
    name: (pa.int32() if name == "http_status_code" else pa.large_string())
    for name in NORMALISED_COLUMNS
}
# The attributes a URL is made of: left out of the distinct combinations.
_URL_KEYS: Final = frozenset({*SERVER_URL_KEYS, *CLIENT_URL_KEYS, "url.query"})
# "-0" is not canonical: the row reader writes it as 0.
_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,17})$"
_ZERO_SPAN = "0" * 16


class Declined(Exception):
    """The fast path does not take this chunk; the row reader will."""


def read_lines(
    stream: IO[bytes],
    ctx: ReadContext,
    *,
    chunk_bytes: int | None = None,
    workers: int = 2,
) -> Iterator[pa.RecordBatch | list[SpanRow]]:
    """The spans of an OTLP JSON Lines stream, a chunk at a time.

    Yields a record batch of span columns for each chunk the fast path
    takes, and the row reader's rows for each chunk it declines; positions in
    the row reader's reports are lines of the whole file. ``chunk_bytes``
    defaults to :data:`CHUNK_BYTES`.

    Chunks are parsed and converted on ``workers`` threads, in order:
    parsing runs in Arrow's C++ and most of the conversion in Arrow and numpy
    kernels, all without the GIL, so two chunks proceed at once. Each worker
    holds a chunk's intermediate columns: fewer workers, less memory.
    """
    rows = otlp_json.DocumentReader(ctx)
    resources: dict[str, tuple[str, str]] = {}
    line = 1
    chunks = _chunks(stream, chunk_bytes or CHUNK_BYTES)
    for chunk, converted in _converted_ahead(chunks, resources, workers):
        if isinstance(converted, Declined):
            logger.debug("lines from %d read row by row: %s", line, converted)
            yield from otlp_json.read_lines(
                _Lines(chunk), ctx, first_line=line, reader=rows
            )
        elif converted.num_rows:
            yield converted
        line += chunk.count(b"\n")


def _converted_ahead(
    chunks: Iterator[bytes], resources: dict[str, tuple[str, str]], workers: int
) -> Iterator[tuple[bytes, pa.RecordBatch | Declined]]:
    # Chunks are read here, in order, and converted on the workers; results
    # come back in the order of the chunks, with at most one more chunk in
    # flight than there are workers. Shared state (the resource cache,
    # normalisation's plan cache) is only ever filled with the same values,
    # so two threads filling it at once is harmless.
    def convert(chunk: bytes) -> pa.RecordBatch | Declined:
        try:
            return _batch(_parse(chunk), resources)
        except Declined as why:
            return why

    with ThreadPoolExecutor(workers, thread_name_prefix="perfkit-read") as pool:
        pending: deque[tuple[bytes, Future[pa.RecordBatch | Declined]]] = deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(convert, chunk)))
            if len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


class _Lines:
    """A chunk of bytes as the line iterator the row reader takes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __iter__(self) -> Iterator[bytes]:
        # Lines end at a line feed only, as they do when a file is iterated.
        return iter(io.BytesIO(self._data))


def _chunks(stream: IO[bytes], size: int) -> Iterator[bytes]:
    # Whole lines only: each chunk ends at a line break or at the end.
    first = True
    while True:
        data = stream.read(size)
        if not data:
            return
        if not data.endswith(b"\n"):
            data += stream.readline()
        if first and data.startswith(_UTF8_BOM):
            data = data[len(_UTF8_BOM) :]
        first = False
        yield data


def chunk_batch(
    chunk: bytes, resources: dict[str, tuple[str, str]] | None = None
) -> pa.RecordBatch:
    """The span columns of a chunk of whole lines, in the store's schema.

    ``resources`` remembers resources between chunks of a file: attributes
    JSON to service name and resource JSON.

    Raises:
        Declined: the chunk holds something only the row reader handles.
    """
    return _batch(_parse(chunk), resources)


def _batch(
    table: pa.Table, resources: dict[str, tuple[str, str]] | None
) -> pa.RecordBatch:
    spans = _Spans(table)
    cache = resources if resources is not None else {}
    if not len(spans.spans):
        # The row reader reads a resource even when it has no spans, and
        # rejects a bad one: so must this.
        spans.resource_columns(cache)
        return record_batch([])
    columns = spans.columns(cache)
    arrays = [
        pc.cast(columns[name], field.type, memory_pool=MEMORY_POOL)
        for name, field in zip(COLUMN_NAMES, SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _parse(chunk: bytes) -> pa.Table:
    """The chunk's lines as nested columns of :data:`LINE_SCHEMA`.

    pyarrow infers the types (cheaper than parsing against an explicit
    schema, measured), then every field is checked against the schema before
    the columns are cast to it, so a field the fast path does not know, or a
    type it does not expect, declines the chunk.

    Raises:
        Declined: explicit nulls, a parse error, a line that is not one JSON
            object, or a field or type the fast path does not read.
    """
    if b"null" in chunk and _NULL.search(chunk):
        raise Declined("explicit nulls")
    if b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"):
        # pyarrow ends a row at a carriage return; the row reader only at a
        # line feed.
        raise Declined("a carriage return that does not end a line")
    if not chunk.isascii():
        # pyarrow takes bytes that are not UTF-8 into its strings, and skips
        # a byte order mark at the start of a block; the row reader rejects
        # both.
        try:
            chunk.decode()
        except UnicodeDecodeError:
            raise Declined("bytes that are not UTF-8") from None
        if chunk.startswith(_UTF8_BOM) or b"\n" + _UTF8_BOM in chunk:
            raise Declined("a byte order mark after the first line")
    block = max(_BLOCK_BYTES, len(chunk) // 2 + 1)
    for size in (block, len(chunk) + 1):
        try:
            table = pj.read_json(
                pa.BufferReader(chunk), read_options=pj.ReadOptions(block_size=size)
            )
            break
        except pa.ArrowInvalid as error:
            if "straddling" not in str(error) or size > len(chunk):
                raise Declined(str(error)) from None
    if table.num_rows != _lines_with_content(chunk):
        raise Declined("a line is not one JSON object")
    if not table.schema.names:
        return pa.table(
            {"resourceSpans": pa.nulls(table.num_rows, LINE_SCHEMA.field(0).type)}
        )
    for field in table.schema:
        if field.name != "resourceSpans":
            raise Declined(f"a line has {field.name!r}")
        _check_type(field.type, LINE_SCHEMA.field(0).type, field.name)
    for column in table.columns:
        for array in column.chunks:
            _check_finite(array)
    try:
        return table.cast(LINE_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise Declined(str(error)) from None


#: Fields whose JSON numbers the row reader takes as it takes their usual
#: strings or floats: integers given as numbers, floats that happen to be whole.
_NUMBERS_ALLOWED: Final = {
    "intValue": pa.string(),
    "startTimeUnixNano": pa.string(),
    "endTimeUnixNano": pa.string(),
    "timeUnixNano": pa.string(),
    "doubleValue": pa.float64(),
}


def _check_type(found: pa.DataType, expected: pa.DataType, name: str) -> None:
    """Raise Declined unless ``found`` fits ``expected``, field by field."""
    if found == expected or pa.types.is_null(found):
        return
    if pa.types.is_struct(expected) and pa.types.is_struct(found):
        for field in found:
            index = expected.get_field_index(field.name)
            if index < 0:
                raise Declined(f"{name} has a field {field.name!r}")
            _check_type(field.type, expected.field(index).type, field.name)
        return
    if pa.types.is_list(expected) and pa.types.is_list(found):
        _check_type(found.value_type, expected.value_type, name)
        return
    if pa.types.is_int64(found) and _NUMBERS_ALLOWED.get(name) == expected:
        return
    raise Declined(f"{name} is {found}, not {expected}")


def _check_finite(array: pa.Array) -> None:
    """Raise Declined if a double anywhere in ``array`` is NaN or infinite.

    pyarrow reads ``NaN``, ``Inf`` and ``Infinity`` (signed or not) as
    doubles; JSON has no such numbers, and the row reader rejects the line.
    Only the parts of the columns that hold doubles are looked at.
    """
    kind = array.type
    if pa.types.is_floating(kind):
        if pc.all(pc.is_finite(array)).as_py() is False:
            raise Declined("a number is NaN or infinite")
    elif pa.types.is_struct(kind):
        for index, field in enumerate(kind):
            if _holds_doubles(field.type):
                _check_finite(pc.struct_field(array, [index]))
    elif pa.types.is_list(kind) and _holds_doubles(kind.value_type):
        _check_finite(pc.list_flatten(array))


def _holds_doubles(kind: pa.DataType) -> bool:
    if pa.types.is_floating(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_holds_doubles(field.type) for field in kind)
    if pa.types.is_list(kind):
        return _holds_doubles(kind.value_type)
    return False


def _lines_with_content(chunk: bytes) -> int:
    data = np.frombuffer(chunk, dtype=np.uint8)
    breaks = np.flatnonzero(data == _NEWLINE)
    # A blank line starts with a line break or a space: look at the first
    # byte of every line at once, and count line by line only if one does.
    firsts = data[np.concatenate(([0], breaks[breaks < len(data) - 1] + 1))]
    if np.isin(firsts, _SPACE_BYTES).any():
        return sum(1 for line in chunk.split(b"\n") if line.strip())
    return len(breaks) + (not chunk.endswith(b"\n"))


def _combined(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def _flatten(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The items of a list array and, for each, the index of its list."""
    items = pc.list_flatten(lists)
    owners = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    return items, owners


class _Spans:
    """The spans of one parsed chunk, flattened out of their blocks."""

    def __init__(self, table: pa.Table) -> None:
        lines = _combined(table.column("resourceSpans"))
        self.resources, _ = _flatten(lines)
        scopes, scope_resource = _flatten(pc.struct_field(self.resources, "scopeSpans"))
        self.scopes = scopes
        self.spans, span_scope = _flatten(pc.struct_field(scopes, "spans"))
        self.span_scope = span_scope
        self.span_resource = scope_resource[span_scope]

    def field(self, name: str) -> pa.Array:
        return pc.struct_field(self.spans, name)

    def columns(self, resources: dict[str, tuple[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["trace_id"] = _ids(self.field("traceId"), 32, "trace")
        out["span_id"] = _ids(self.field("spanId"), 16, "span")
        out["parent_span_id"] = _parent_ids(self.field("parentSpanId"))
        names = self.field("name").fill_null("")
        out["name"] = names
        kind = _small_enum(self.field("kind"), 5, "kind")
        out["kind"] = kind
        out["start_ns"], out["end_ns"] = _times(
            self.field("startTimeUnixNano"), self.field("endTimeUnixNano")
        )
        status = self.field("status")
        out["status_code"] = _small_enum(pc.struct_field(status, "code"), 2, "code")
        message = pc.struct_field(status, "message")
        out["status_message"] = pc.if_else(
            pc.equal(message, ""), pa.scalar(None, pa.string()), message
        )
        out["service_name"], out["resource_attributes"] = self.resource_columns(
            resources
        )
        scope = pc.struct_field(self.scopes, "scope")
        for column, key in (("scope_name", "name"), ("scope_version", "version")):
            values = pc.struct_field(scope, key)
            values = pc.if_else(
                pc.equal(values, ""), pa.scalar(None, pa.string()), values
            )
            out[column] = values.take(pa.array(self.span_scope))

        attributes = _AttributeItems(self.field("attributes"), len(self.spans))
        out["attributes"] = attributes.json()
        out.update(_normalised(attributes, kind, names))
        for column, convert in (("events", _events), ("links", _links)):
            nested = self.field(column)
            _check_kinds(_attribute_values(pc.list_flatten(nested)))
            out[column] = _nested_json(nested, convert)
        return out

    def resource_columns(
        self, cache: dict[str, tuple[str, str]]
    ) -> tuple[pa.Array, pa.Array]:
        """Each span's service name and resource attributes JSON."""
        resource = pc.struct_field(self.resources, "resource")
        items = _AttributeItems(pc.struct_field(resource, "attributes"), len(resource))
        encoded = items.json().dictionary_encode()
        services, texts = [], []
        for text in encoded.dictionary.to_pylist():
            known = cache.get(text)
            if known is None:
                if len(cache) >= _RESOURCE_CACHE_LIMIT:
                    cache.clear()
                made = make_resource(orjson.loads(text))
                known = cache[text] = (made.service_name, made.attributes_json)
            services.append(known[0])
            texts.append(known[1])
        which = pc.take(encoded.indices, pa.array(self.span_resource))
        return pa.array(services).take(which), pa.array(texts).take(which)


def _not_hex(data: np.ndarray) -> np.ndarray:
    # Comparisons, not a lookup table: several times faster on large arrays.
    return ~(((data - np.uint8(48)) < 10) | ((data - np.uint8(97)) < 6))


def _not_digit(data: np.ndarray) -> np.ndarray:
    return (data - np.uint8(48)) >= 10


def _to_escape(data: np.ndarray) -> np.ndarray:
    # What orjson escapes in a string: control characters, quote, backslash.
    marked: np.ndarray = (data < 0x20) | (data == 0x22) | (data == 0x5C)
    return marked


def _text_layout(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string array and its offsets into them, uncopied."""
    buffers = values.buffers()
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=width)[
        values.offset : values.offset + len(values) + 1
    ]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return data, offsets


def _rows_with_bytes(
    values: pa.Array, chosen: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Which strings hold a byte that ``chosen`` marks, from their bytes at once."""
    data, offsets = _text_layout(values)
    start = int(offsets[0]) if len(offsets) else 0
    hits = np.flatnonzero(chosen(data[start : int(offsets[-1]) if len(offsets) else 0]))
    rows = np.zeros(len(values), dtype=bool)
    if len(hits):
        rows[np.searchsorted(offsets, hits + start, side="right") - 1] = True
    rows &= np.asarray(values.is_valid(), dtype=bool)
    return rows


def _lengths(values: pa.Array) -> np.ndarray:
    _, offsets = _text_layout(values)
    return np.diff(offsets.astype(np.int64))


def _ids(values: pa.Array, width: int, what: str) -> pa.Array:
    if values.null_count:
        raise Declined(f"a span has no {what} id")
    if (_lengths(values) != width).any() or _rows_with_bytes(values, _not_hex).any():
        raise Declined(f"a {what} id is not {width} lowercase hex digits")
    if pc.any(pc.equal(values, "0" * width)).as_py():
        raise Declined(f"a {what} id is all zeros")
    return values


def _parent_ids(values: pa.Array) -> pa.Array:
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    present = np.asarray(values.is_valid(), dtype=bool)
    if (
        (_lengths(values)[present] != 16).any()
        or _rows_with_bytes(values, _not_hex).any()
        or pc.any(pc.equal(values, _ZERO_SPAN)).as_py()
    ):
        raise Declined("a parent span id is not 16 lowercase hex digits")
    return values


def _small_enum(values: pa.Array, largest: int, what: str) -> np.ndarray:
    numbers = np.asarray(values.fill_null(0), dtype=np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() > largest):
        raise Declined(f"a span's {what} is out of range")
    return numbers.astype(np.int8)


def _times(start: pa.Array, end: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for values in (start, end):
        if values.null_count:
            raise Declined("a span has no time")
        lengths = _lengths(values)
        if (
            (lengths < 1).any()
            or (lengths > 19).any()
            or _rows_with_bytes(values, _not_digit).any()
        ):
            raise Declined("a time is not a decimal integer")
        out.append(np.asarray(pc.cast(values, pa.uint64())))
    first, last = out
    if len(first) and (
        first.min() == 0
        or last.min() == 0
        or last.max() > INT64_MAX
        or (last < first).any()
    ):
        raise Declined("a span's times are missing, out of range or reversed")
    return first.astype(np.int64), last.astype(np.int64)


@dataclass
class _Keys:
    """The distinct keys of some attribute items, and each item's code."""

    names: list[str]
    codes: np.ndarray


class _AttributeItems:
    """A list of OTLP ``{key, value}`` attributes per row, as JSON fragments.

    Each item becomes ``"key":value`` exactly as :func:`perfkit.ingest._values.dumps`
    writes it, the items of a row sorted by key, so that joining a row's
    fragments gives the row's attributes as that function's JSON object.
    """

    def __init__(self, lists: pa.Array, rows: int) -> None:
        self.rows = rows
        items, owners = _flatten(lists)
        keys = pc.struct_field(items, "key")
        if keys.null_count:
            raise Declined("an attribute has no key")
        encoded = keys.dictionary_encode()
        names = encoded.dictionary.to_pylist()
        codes = np.asarray(encoded.indices, dtype=np.int64)
        # Sort each row's items by key, as the JSON has them.
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(
            len(names)
        )
        ranks = rank[codes]
        same_row = owners[1:] == owners[:-1]
        order: np.ndarray | None = None
        if (same_row & (ranks[1:] < ranks[:-1])).any():
            order = np.lexsort((ranks, owners))
            ranks, codes, owners = ranks[order], codes[order], owners[order]
            same_row = owners[1:] == owners[:-1]
        if (same_row & (ranks[1:] == ranks[:-1])).any():
            raise Declined("an attribute key is repeated in one span")
        value = pc.struct_field(items, "value")
        strings = pc.struct_field(value, "stringValue")
        values = _value_json(value)
        if order is not None:
            taken = pa.array(order)
            values, strings = values.take(taken), strings.take(taken)
        self.key_json = pa.array([_json(name) + ":" for name in names], pa.string())
        self.keys = _Keys(names, codes)
        self.owners = owners
        #: Each item's value if it is a string, else null; in fragment order.
        self.strings = strings
        self.fragments = pc.binary_join_element_wise(
            self.key_json.take(pa.array(codes)), values, ""
        )

    def key_mask(self, keys: frozenset[str]) -> np.ndarray:
        """Which items have one of ``keys``."""
        wanted = np.array([name in keys for name in self.keys.names], dtype=bool)
        return wanted[self.keys.codes] if len(wanted) else np.zeros(0, dtype=bool)

    def values_of(self, key: str) -> pa.Array:
        """Each row's string value of ``key``, null where it has none."""
        if key not in self.keys.names:
            return pa.nulls(self.rows, pa.string())
        chosen = np.flatnonzero(self.keys.codes == self.keys.names.index(key))
        where = np.full(self.rows, -1, dtype=np.int64)
        where[self.owners[chosen]] = chosen
        return self.strings.take(pa.array(where, mask=where < 0))

    def json(
        self,
        keep: frozenset[str] | None = None,
        fragments: pa.Array | None = None,
    ) -> pa.Array:
        """Each row's attributes as a JSON object.

        Only ``keep``'s keys if given; ``fragments`` replaces the items' own
        ``"key":value`` text.
        """
        owners = self.owners
        if fragments is None:
            fragments = self.fragments
        if keep is not None:
            chosen = self.key_mask(keep)
            fragments = fragments.filter(pa.array(chosen))
            owners = owners[chosen]
        counts = np.bincount(owners, minlength=self.rows)
        offsets = np.zeros(self.rows + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        lists = pa.LargeListArray.from_arrays(pa.array(offsets), fragments)
        joined = pc.binary_join(lists, ",")
        return pc.binary_join_element_wise("{", joined, "}", "")


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _value_json(values: pa.Array) -> pa.Array:
    """Each AnyValue as the JSON of the plain value the row reader makes of it."""
    n = len(values)
    strings = pc.struct_field(values, "stringValue")
    ints = pc.struct_field(values, "intValue")
    bools = pc.struct_field(values, "boolValue")
    doubles = pc.struct_field(values, "doubleValue")
    _check_kinds(values)
    parts = [_string_json(strings)]
    canonical = pc.fill_null(pc.match_substring_regex(ints, _CANONICAL_INT), False)
    parts.append(pc.if_else(canonical, ints, pa.scalar(None, pa.string())))
    parts.append(
        pc.if_else(bools, pa.scalar("true"), pa.scalar("false"))
        if bools.null_count < n
        else pa.nulls(n, pa.string())
    )
    parts.append(_distinct_json(doubles))
    found = pc.coalesce(*parts)
    # The rest (arrays, bytes, empty values, integers not in canonical form)
    # go through the row reader's own conversion, one item at a time.
    rest = np.flatnonzero(np.asarray(found.is_null(), dtype=bool))
    if len(rest):
        texts = []
        for value in values.take(pa.array(rest)).to_pylist():
            try:
                texts.append(_json(any_value(_without_nulls(value))))
            except BadValue as error:
                raise Declined(str(error)) from None
        found = pc.coalesce(found, _scatter(pa.array(texts, pa.string()), rest, n))
    return found


def _check_kinds(values: pa.Array) -> None:
    """Raise Declined if an attribute value has a kind the row reader may not take.

    The row reader takes a value's ``stringValue`` if it has one, else its
    first kind in the JSON's order, which the parsed columns no longer keep;
    and inside an array, the first kind whatever it is.
    """
    if (_kinds_set(values, "stringValue") > 1).any():
        raise Declined("an attribute value has more than one kind")
    arrays = pc.struct_field(values, "arrayValue")
    if arrays.null_count < len(arrays):
        items = pc.list_flatten(pc.struct_field(arrays, "values"))
        if (_kinds_set(items) > 1).any():
            raise Declined("an array item has more than one kind")


def _kinds_set(values: pa.Array, winner: str | None = None) -> np.ndarray:
    """How many kinds each AnyValue has; 1 where it has ``winner``'s, if given."""
    counts = np.zeros(len(values), dtype=np.int64)
    for field in values.type:
        counts += np.asarray(
            pc.struct_field(values, field.name).is_valid(), dtype=np.int64
        )
    if winner is not None:
        has_winner = np.asarray(pc.struct_field(values, winner).is_valid(), dtype=bool)
        counts[has_winner] = 1
    return counts


def _string_json(values: pa.Array) -> pa.Array:
    """Each string as JSON text: quoted, and escaped where it needs to be."""
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string())
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    positions = np.flatnonzero(_rows_with_bytes(values, _to_escape))
    if not len(positions):
        return quoted
    escaped = _distinct_json(values.take(pa.array(positions)))
    return pc.coalesce(_scatter(escaped, positions, len(values)), quoted)


def _scatter(values: pa.Array, positions: np.ndarray, length: int) -> pa.Array:
    """``values`` placed at ``positions`` of an array of ``length``, null elsewhere."""
    where = np.full(length, -1, dtype=np.int64)
    where[positions] = np.arange(len(positions))
    return values.take(pa.array(where, mask=where < 0))


def _distinct_json(values: pa.Array) -> pa.Array:
    """Each value as JSON text, worked out once per distinct value."""
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string())
    encoded = values.dictionary_encode()
    texts = [_json(value) for value in encoded.dictionary.to_pylist()]
    return pa.array(texts, pa.string()).take(encoded.indices)


def _without_nulls(value: Any) -> Any:
    # A struct read back from Arrow has every field, absent ones as None; the
    # row reader only ever saw the fields that were there.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _normalised(
    attributes: _AttributeItems, kind: np.ndarray, names: pa.Array
) -> dict[str, pa.Array]:
    """The normalised columns and the composite count, once per distinct input.

    URLs take most of the distinct values (ids in paths, query strings), so
    where every URL attribute of the chunk is a string, the combinations are
    worked out with each URL replaced by ``""``, and the URL column, and the
    host taken from it, are filled in span by span with column arithmetic.
    """
    url_items = attributes.key_mask(_URL_KEYS)
    split = not (url_items & np.asarray(attributes.strings.is_null())).any()
    fragments = None
    if split and url_items.any():
        fragments = pc.if_else(
            pa.array(url_items),
            pc.binary_join_element_wise(
                attributes.key_json.take(pa.array(attributes.keys.codes)), '""', ""
            ),
            attributes.fragments,
        )
    known = attributes.json(_SIGNATURE_KEYS, fragments)
    server = kind == KIND_SERVER
    signature = pc.if_else(
        pa.array(server),
        pc.binary_join_element_wise("S", names, known, "\x00"),
        pc.binary_join_element_wise("C", known, "\x00"),
    ).dictionary_encode()
    codes = np.asarray(signature.indices, dtype=np.int64)
    _, first = np.unique(codes, return_index=True)
    columns: list[list[object]] = [[] for _ in NORMALISED_COLUMNS]
    counts: list[int] = []
    url_keys: list[str | None] = []
    url_query: list[bool] = []
    host_from_url: list[bool] = []
    chosen = pa.array(first)
    for text, name, span_kind in zip(
        known.take(chosen).to_pylist(),
        names.take(chosen).to_pylist(),
        kind[first].tolist(),
        strict=True,
    ):
        values = orjson.loads(text)
        row = normalise(values, span_kind, name)
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        counts.append(composite_count(values))
        source = url_source(values, span_kind == KIND_SERVER)
        url_keys.append(source.key)
        url_query.append(source.with_query)
        host_from_url.append(source.host_from_url)
    # np.unique's order is the order of the codes, 0, 1, 2...
    take = pa.array(codes)
    out: dict[str, pa.Array] = {
        name: pa.array(values, _NORMALISED_TYPES[name]).take(take)
        for name, values in zip(NORMALISED_COLUMNS, columns, strict=True)
    }
    out["composite_count"] = pa.array(counts, pa.int32()).take(take)
    if fragments is not None:
        url = _urls(attributes, codes, url_keys, url_query)
        out["url"] = url
        from_url = np.array(host_from_url, dtype=bool)[codes]
        if from_url.any():
            positions = np.flatnonzero(from_url)
            hosts = url_hosts(url.take(pa.array(positions)))
            out["server_address"] = pc.if_else(
                pa.array(from_url),
                _scatter(hosts, positions, len(url)),
                out["server_address"],
            )
    return out


def _urls(
    attributes: _AttributeItems,
    codes: np.ndarray,
    url_keys: list[str | None],
    url_query: list[bool],
) -> pa.Array:
    """The URL column, span by span, from the URL key each combination uses."""
    url = pa.nulls(attributes.rows, pa.large_string())
    key_of = np.array(url_keys, dtype=object)[codes]
    for key in sorted({key for key in url_keys if key is not None}):
        mask = pa.array(key_of == key)
        url = pc.if_else(
            mask, pc.cast(attributes.values_of(key), pa.large_string()), url
        )
    with_query = np.array(url_query, dtype=bool)[codes]
    if with_query.any():
        query = pc.cast(attributes.values_of("url.query"), pa.large_string())
        joined = pc.binary_join_element_wise(
            url, query, pa.scalar("?", pa.large_string())
        )
        has_query = pc.and_(
            pa.array(with_query), pc.not_equal(query, "").fill_null(False)
        )
        url = pc.if_else(has_query, joined, url)
    return url


def url_hosts(urls: pa.Array) -> pa.Array:
    """:func:`~perfkit.ingest._semconv_rules.url_host` of each URL, as a column.

    The authority after the first ``://``, up to ``/``, ``?`` or ``#``; after
    its last ``@``; inside ``[...]`` or before a ``:``; lowercase; null when
    empty or when there is no ``://``. Hosts that are not ASCII are lowered
    by Python, one distinct URL at a time, so that case folding is the same.
    """
    authority = pc.struct_field(
        pc.extract_regex(urls, r"(?s)^.*?://(?:[^/?#]*@)?(?P<host>[^/?#]*)"), "host"
    )
    bracketed = pc.struct_field(
        pc.extract_regex(authority, r"(?s)^\[(?P<host>[^\]]*)\]"), "host"
    )
    plain = pc.struct_field(
        pc.extract_regex(authority, r"(?s)^(?P<host>[^:]*)"), "host"
    )
    hosts = pc.if_else(pc.starts_with(authority, "["), bracketed.fill_null(""), plain)
    ascii_only = pc.string_is_ascii(hosts).fill_null(True)
    hosts = pc.ascii_lower(hosts)
    hosts = pc.if_else(pc.equal(hosts, ""), pa.scalar(None, hosts.type), hosts)
    if pc.all(ascii_only).as_py():
        return hosts
    positions = np.flatnonzero(~np.asarray(ascii_only, dtype=bool))
    others = [url_host(url) for url in urls.take(pa.array(positions)).to_pylist()]
    return pc.coalesce(
        _scatter(pa.array(others, hosts.type), positions, len(urls)), hosts
    )


def _attribute_values(items: pa.Array) -> pa.Array:
    """The values of every attribute of some events or links, flattened."""
    return pc.struct_field(
        pc.list_flatten(pc.struct_field(items, "attributes")), "value"
    )


def _nested_json(lists: pa.Array, convert: Any) -> pa.Array:
    """Events or links as the row reader's JSON, ``[]`` for a span without any."""
    lengths = np.asarray(pc.list_value_length(lists).fill_null(0), dtype=np.int64)
    present = np.flatnonzero(lengths)
    if not len(present):
        return pa.repeat(pa.scalar(EMPTY_LIST, pa.string()), len(lists))
    texts = [EMPTY_LIST]
    try:
        for items in lists.take(pa.array(present)).to_pylist():
            texts.append(convert(_without_nulls(items)))
    except (BadValue, AttributeError, TypeError, KeyError, ValueError) as error:
        raise Declined(f"an event or link is malformed ({error})") from None
    where = np.zeros(len(lists), dtype=np.int64)
    where[present] = np.arange(1, len(present) + 1)
    return pa.array(texts, pa.string()).take(pa.array(where))
