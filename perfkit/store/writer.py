"""Writing one file's spans into the store, straight through the driver.

Rows go to the database as the reader's tuples, with ``executemany`` on the
driver's own cursor: no ORM object and no SQLAlchemy parameter processing per
span. Each row batch is also kept as an Arrow record batch, written to
``span_batches`` in blocks, for reading the run back fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPIConnection

from perfkit.ingest.schema import COLUMN_NAMES, N_COLUMNS, SpanRow
from perfkit.store.columnar import BlockEncoder

#: Spans gathered, compressed, before a block of Arrow batches is written.
BLOCK_ROWS = 100_000
#: Spans of a record batch turned into row tuples and inserted at a time.
_INSERT_ROWS = 5_000


def _row_tuples(batch: pa.RecordBatch) -> list[SpanRow]:
    """A record batch of spans as row tuples, in the order of SPAN_COLUMNS."""
    return list(zip(*(column.to_pylist() for column in batch.columns), strict=True))


class InsertCounts(NamedTuple):
    """How many rows a write stored, and how many were already there."""

    inserted: int
    duplicates: int


class SpanWriter:
    """Adds one file's spans to a run, inside the transaction of that file.

    Made by :meth:`Store.writer <perfkit.store.Store.writer>`; rows a run
    already holds (same trace id, span id and kind) are counted as duplicates
    and left as they are.
    """

    def __init__(self, connection: sa.Connection, run_id: int, file_id: int) -> None:
        self._cursor = dbapi_connection(connection).cursor()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        # The run and file ids are the store's own integers, written into the
        # statements so each span row tuple goes to the driver unchanged.
        ids = f"{int(run_id)}, {int(file_id)}"
        self._insert_spans = (
            f"INSERT INTO spans (run_id, file_id, {', '.join(COLUMN_NAMES)})"
            f" VALUES ({ids}, {', '.join([mark] * N_COLUMNS)})"
            " ON CONFLICT (run_id, trace_id, span_id, kind) DO NOTHING"
        )
        self._insert_block = (
            "INSERT INTO span_batches (run_id, file_id, rows, data)"
            f" VALUES ({ids}, {mark}, {mark})"
        )
        self._block = BlockEncoder()
        self.inserted = 0
        self.duplicates = 0
        #: Hex SHA-256 of the file, recorded when the transaction commits.
        self.sha256 = ""

    def add(self, spans: Sequence[SpanRow] | pa.RecordBatch) -> InsertCounts:
        """Write a batch of spans, as row tuples or as a record batch.

        Returns how many were new and how many the run already held.
        """
        if isinstance(spans, pa.RecordBatch):
            batch: pa.RecordBatch | None = spans
            total = spans.num_rows
            # Row tuples a slice at a time: a whole chunk of them at once
            # would hold every value of it as a Python object.
            slices: Iterator[Sequence[SpanRow]] = (
                _row_tuples(spans.slice(start, _INSERT_ROWS))
                for start in range(0, total, _INSERT_ROWS)
            )
        else:
            batch, total, slices = None, len(spans), iter([spans])
        if not total:
            return InsertCounts(0, 0)
        inserted = 0
        for rows in slices:
            self._cursor.executemany(self._insert_spans, rows)
            inserted += self._cursor.rowcount
        counts = InsertCounts(inserted, total - inserted)
        self.inserted += counts.inserted
        self.duplicates += counts.duplicates

        if batch is None:
            self._block.add(spans)
        else:
            self._block.add_batch(batch)
        if self._block.rows >= BLOCK_ROWS:
            self.flush()
        return counts

    def flush(self) -> None:
        """Write the Arrow batches gathered so far; the store calls this last."""
        if not self._block.rows:
            return
        rows = self._block.rows
        self._cursor.execute(
            self._insert_block, (rows, memoryview(self._block.finish()))
        )

    def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


def dbapi_connection(connection: sa.Connection) -> DBAPIConnection:
    """The driver's own connection, inside the transaction SQLAlchemy began."""
    raw = connection.connection.dbapi_connection
    assert raw is not None, "connection already closed"
    return raw
