"""The columnar frame builder gives exactly what rows_to_frame gives."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from perfkit.ingest.schema import COLUMN_NAMES, SPAN_COLUMNS, SpanRow, rows_to_frame
from perfkit.store.columnar import SpanFrameBuilder, frame_from_batches

_NULLABLE_TEXT = st.none() | st.text(max_size=12)
_INT = {
    "int8": st.integers(0, 5),
    "int32": st.integers(1, 2**31 - 1),
    "int64": st.integers(0, 2**62),
}


def _value(name: str, dtype: str) -> st.SearchStrategy[object]:
    if dtype == "Int32":
        return st.none() | st.integers(100, 599)
    if dtype in _INT:
        return _INT[dtype]
    if name in ("trace_id", "span_id", "name"):
        return st.text(min_size=1, max_size=32)
    return _NULLABLE_TEXT


ROW = st.tuples(*(_value(name, dtype) for name, dtype in SPAN_COLUMNS.items()))


@given(st.lists(st.lists(ROW, max_size=6), max_size=4))
def test_batches_make_the_frame_rows_to_frame_makes(
    batches: list[list[SpanRow]],
) -> None:
    rows = [row for batch in batches for row in batch]

    built = frame_from_batches(batches)

    pd.testing.assert_frame_equal(built, rows_to_frame(rows), check_exact=True)


def test_no_batches_make_an_empty_frame_with_every_column() -> None:
    builder = SpanFrameBuilder()
    builder.add([])

    frame = builder.frame()
    assert builder.rows == 0
    assert list(frame.columns) == [*COLUMN_NAMES, "duration_ns"]
    assert frame.empty
