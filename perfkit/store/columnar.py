"""Spans as Arrow record batches: building the span frame, and the store's copy.

Each batch of row tuples is turned into one Arrow record batch as it arrives,
so the Python tuples can be freed straight away. The frame that comes out has
exactly the columns and dtypes of :func:`~perfkit.ingest.schema.rows_to_frame`;
only the way there is faster.

The store keeps every file's spans twice: as rows in the ``spans`` table, for
SQL and for the uniqueness that makes ingesting idempotent, and as
zstd-compressed Arrow IPC streams in ``span_batches``, so that reading a run
back is a matter of decompressing columns rather than building a Python object
for every value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from perfkit.ingest.schema import (
    ARROW_SCHEMA as SCHEMA,
)
from perfkit.ingest.schema import (
    CATEGORICAL_COLUMNS,
    MEMORY_POOL,
    SPAN_COLUMNS,
    SpanRow,
    categorical,
    empty_frame,
    record_batch,
)

_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd", use_threads=False)

#: Rows converted to columns at a time when encoding.
SLICE_ROWS = 5_000

#: The span identity: one row per (trace, span id, kind) in a run.
SPAN_KEY = ["trace_id", "span_id", "kind"]


class BlockEncoder:
    """Encodes span rows into compressed Arrow IPC streams, a slice at a time.

    Rows are converted and compressed in slices of :data:`SLICE_ROWS`, so only
    one slice is ever held as uncompressed columns.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._sink: pa.BufferOutputStream | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def add(self, rows: Sequence[SpanRow]) -> None:
        """Append rows to the current stream."""
        for start in range(0, len(rows), SLICE_ROWS):
            self._write(record_batch(rows[start : start + SLICE_ROWS]))

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Append a record batch of spans to the current stream."""
        self._write(batch)

    def _write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._sink = pa.BufferOutputStream()
            self._writer = pa.ipc.new_stream(self._sink, SCHEMA, options=_IPC_OPTIONS)
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def finish(self) -> pa.Buffer:
        """The stream of every row added since the last finish; starts a new one."""
        assert self._writer is not None, "no rows added"
        assert self._sink is not None
        self._writer.close()
        data = self._sink.getvalue()
        self._sink, self._writer, self.rows = None, None, 0
        return data


def encode(batches: Sequence[Sequence[SpanRow]]) -> bytes:
    """Batches of span rows as one compressed Arrow IPC stream."""
    encoder = BlockEncoder()
    for rows in batches:
        encoder.add(rows)
    return bytes(encoder.finish())


def decode(data: bytes | memoryview) -> list[pa.RecordBatch]:
    """The record batches of an Arrow IPC stream made by :func:`encode`."""
    return list(pa.ipc.open_stream(pa.py_buffer(data), memory_pool=MEMORY_POOL))


class SpanFrameBuilder:
    """Collects spans, batch by batch, and makes one span DataFrame of them."""

    def __init__(self) -> None:
        self._batches: list[pa.RecordBatch] = []
        self.rows = 0

    def add(self, rows: Sequence[SpanRow]) -> None:
        """Convert one batch of row tuples to columns and keep them."""
        if rows:
            self.add_batch(record_batch(rows))

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Keep an Arrow record batch of spans.

        The columns that become categoricals are dictionary-encoded as they
        arrive: a run's resource attributes repeat the same few JSON objects
        on every span, and holding them once per span was a quarter of the
        memory a large read took.
        """
        arrays = [
            column.dictionary_encode() if name in CATEGORICAL_COLUMNS else column
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]
        self._batches.append(pa.RecordBatch.from_arrays(arrays, schema=_HELD))
        self.rows += batch.num_rows

    def extend(self, other: SpanFrameBuilder) -> None:
        """Append every batch another builder holds, without copying them."""
        self._batches.extend(other._batches)
        self.rows += other.rows

    def frame(self) -> pd.DataFrame:
        """The span frame of every batch added so far, with ``duration_ns``."""
        if not self.rows:
            return empty_frame()
        table = pa.Table.from_batches(self._batches, schema=_HELD)
        data = {
            name: _to_pandas(table.column(name), dtype, name)
            for name, dtype in SPAN_COLUMNS.items()
        }
        frame = pd.DataFrame(data)
        frame["duration_ns"] = frame["end_ns"] - frame["start_ns"]
        return frame


#: The schema of the batches a builder holds: SCHEMA with the categorical
#: columns dictionary-encoded.
_HELD = pa.schema(
    [
        pa.field(field.name, pa.dictionary(pa.int32(), field.type), field.nullable)
        if field.name in CATEGORICAL_COLUMNS
        else field
        for field in SCHEMA
    ]
)


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A dictionary column as a categorical, categories in order of appearance."""
    table = pa.table({"column": column}).unify_dictionaries()
    unified = table.column("column")
    dictionary = unified.chunk(0).dictionary if unified.num_chunks else None
    codes = np.concatenate(
        [
            np.asarray(chunk.indices.fill_null(-1), dtype=np.int64)
            for chunk in unified.chunks
        ]
    )
    # Number the values in order of first appearance, as categorical() does.
    order, seen = pd.factorize(codes)
    present = seen >= 0
    values = [] if dictionary is None else dictionary.take(seen[present]).to_pylist()
    categories = pd.Index(values, dtype="string")
    remap = np.full(len(seen), -1, dtype=np.int64)
    remap[present] = np.arange(int(present.sum()))
    return pd.Categorical.from_codes(remap[order], categories=categories)


def frame_from_batches(batches: Iterable[Sequence[SpanRow]]) -> pd.DataFrame:
    """The span frame of an iterable of row batches, such as a reader's output."""
    builder = SpanFrameBuilder()
    for batch in batches:
        builder.add(batch)
    return builder.frame()


def drop_repeated(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without later copies of a span (same trace, span id and kind)."""
    repeated = frame.duplicated(subset=SPAN_KEY, keep="first").to_numpy()
    if not repeated.any():
        return frame
    return frame.loc[~repeated].reset_index(drop=True)


def _to_pandas(column: pa.ChunkedArray, dtype: str, name: str = "") -> object:
    if pa.types.is_dictionary(column.type):
        return _categorical(column)
    if dtype == "str" and name in CATEGORICAL_COLUMNS:
        return categorical(pd.arrays.ArrowStringArray(column))
    if dtype == "str":
        return pd.arrays.ArrowStringArray(column)
    if dtype == "Int32":
        values = column.fill_null(0).to_numpy().astype(np.int32)
        missing = column.is_null().to_numpy(zero_copy_only=False)
        return pd.arrays.IntegerArray(values, missing)
    return np.asarray(column.to_numpy(), dtype=dtype)
