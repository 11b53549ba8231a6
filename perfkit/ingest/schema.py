"""The normalised span row: the one shape every reader produces.

Readers turn each span into a plain tuple whose fields follow
:data:`SPAN_COLUMNS` in order. Tuples, not objects, keep a million spans cheap;
the store writes them in bulk and :func:`rows_to_frame` turns batches of them
into a pandas DataFrame with proper dtypes.

Timestamps are int64 nanoseconds since the Unix epoch, never floats: 1.7e18
does not fit a float's 53-bit mantissa. Ids are lowercase hex (trace ids 32
characters, span ids 16). ``kind`` and ``status_code`` use the OTLP enum numbers.
Normalised columns hold the value of the new semantic-convention attribute when
a span carries both the old and the new name; ``attributes`` keeps the raw
span attributes as a JSON object so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

# SpanKind and StatusCode as numbered by OTLP.
KIND_UNSPECIFIED, KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 0, 1, 2, 3
KIND_PRODUCER, KIND_CONSUMER = 4, 5
KIND_NAMES: Final = (
    "UNSPECIFIED",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
)
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
STATUS_NAMES: Final = ("UNSET", "OK", "ERROR")

#: Column name -> pandas dtype, in the order of a span row tuple.
SPAN_COLUMNS: Final[dict[str, str]] = {
    "trace_id": "str",
    "span_id": "str",
    "parent_span_id": "str",  # None for a root
    "name": "str",
    "kind": "int8",
    "start_ns": "int64",
    "end_ns": "int64",
    "status_code": "int8",
    "status_message": "str",
    "service_name": "str",
    "scope_name": "str",
    "scope_version": "str",
    # Normalised semantic-convention fields (new name wins over old).
    "http_method": "str",
    "http_route": "str",
    "http_status_code": "Int32",
    "url": "str",  # url.full on clients; path and query on servers
    "server_address": "str",
    "peer_service": "str",
    "db_system": "str",
    "db_statement": "str",
    "db_operation": "str",
    "db_table": "str",
    "db_namespace": "str",
    # "<METHOD> <route>" on SERVER spans, else None.
    "endpoint": "str",
    # Elastic composite spans stand for this many real spans.
    "composite_count": "int32",
    # Raw data, as JSON text.
    "attributes": "str",
    "resource_attributes": "str",
    "events": "str",
    "links": "str",
}

#: Text columns with few distinct values in a run, kept as pandas categoricals
#: (categories in order of first appearance): one copy of each value rather
#: than one per span. A run's resource attributes, for example, repeat the
#: same few JSON objects on every span.
CATEGORICAL_COLUMNS: Final = frozenset(
    {"resource_attributes", "service_name", "scope_name", "scope_version"}
)

COLUMN_NAMES: Final = tuple(SPAN_COLUMNS)
COLUMN_INDEX: Final = {name: i for i, name in enumerate(COLUMN_NAMES)}
N_COLUMNS: Final = len(COLUMN_NAMES)

#: A span row: a tuple with one value per entry of SPAN_COLUMNS.
SpanRow = tuple[object, ...]


def empty_frame() -> pd.DataFrame:
    """A span DataFrame with no rows and the right dtypes."""
    return rows_to_frame([])


def rows_to_frame(rows: list[SpanRow]) -> pd.DataFrame:
    """Build a span DataFrame from row tuples, with the dtypes of SPAN_COLUMNS.

    A ``duration_ns`` column (end minus start) is added.
    """
    columns = list(zip(*rows, strict=True)) if rows else [()] * N_COLUMNS
    data: dict[str, object] = {}
    for name, values in zip(COLUMN_NAMES, columns, strict=True):
        data[name] = _column(values, SPAN_COLUMNS[name])
        if name in CATEGORICAL_COLUMNS:
            data[name] = categorical(data[name])
    frame = pd.DataFrame(data)
    frame["duration_ns"] = frame["end_ns"] - frame["start_ns"]
    return frame


def categorical(values: Any) -> pd.Categorical:
    """Text values as a categorical whose categories are in order of appearance."""
    codes, uniques = pd.factorize(pd.array(values, dtype="string"))
    categories = pd.Index(uniques, dtype="string")
    return pd.Categorical.from_codes(codes, categories=categories)


def _column(values: tuple[Any, ...], dtype: str) -> object:
    if dtype in ("int8", "int32", "int64"):
        return np.fromiter(values, dtype=dtype, count=len(values))
    if dtype == "Int32":
        return pd.array(values, dtype="Int32")
    return pd.array(values, dtype="string")


_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.large_string(),
    "int8": pa.int8(),
    "int32": pa.int32(),
    "Int32": pa.int32(),
    "int64": pa.int64(),
}

#: The Arrow schema of a span record batch, in the order of SPAN_COLUMNS.
ARROW_SCHEMA: Final = pa.schema(
    [
        pa.field(name, _ARROW_TYPES[dtype], nullable=dtype in ("str", "Int32"))
        for name, dtype in SPAN_COLUMNS.items()
    ]
)


def _memory_pool() -> pa.MemoryPool:
    # pyarrow's default pool, mimalloc, hands freed pages back to the OS at
    # once and faults them in again on the next allocation: decoding a
    # million-span run took 7 s with it and 0.7 s with jemalloc. The columns
    # made here come from a pool of their own; the process default is left as
    # the user set it.
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow built without it
        return pa.system_memory_pool()


#: The memory pool for the span columns perfkit builds and decodes.
MEMORY_POOL = _memory_pool()


def record_batch(rows: Sequence[SpanRow]) -> pa.RecordBatch:
    """One Arrow record batch of span row tuples."""
    columns = zip(*rows, strict=True) if rows else ([()] * len(COLUMN_NAMES))
    arrays = [
        pa.array(values, type=field.type, memory_pool=MEMORY_POOL)
        for values, field in zip(columns, ARROW_SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=ARROW_SCHEMA)
