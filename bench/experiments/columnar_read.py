"""Experiment: OTLP JSON Lines to span columns with pyarrow alone, no Python per span.

Not perfkit code: a measurement of what a columnar reader could cost, quoted in
docs/benchmarks.md. ``pyarrow.json`` parses the file into nested Arrow columns
on every core; the spans are flattened out of resourceSpans and scopeSpans, ids
are checked and times converted in bulk, and the attributes perfkit normalises
are pulled out of the key/value lists with one dictionary encoding of the keys
and one ``take`` per attribute. It covers the common shape only (camelCase
keys, hex ids, string and int values) and builds no raw attributes JSON.

    python bench/experiments/columnar_read.py FILE
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

#: The attributes the normalised columns come from, old and new names.
KNOWN_KEYS = (
    "http.request.method",
    "http.method",
    "http.route",
    "url.path",
    "url.query",
    "http.target",
    "url.full",
    "http.url",
    "http.response.status_code",
    "http.status_code",
    "server.address",
    "net.peer.name",
    "peer.service",
    "db.system.name",
    "db.system",
    "db.query.text",
    "db.statement",
    "db.namespace",
    "db.name",
)


def spans_of(table: pa.Table) -> pa.Array:
    """One struct per span, out of resourceSpans and scopeSpans."""
    resource_spans = pc.list_flatten(table.column("resourceSpans"))
    scope_spans = pc.list_flatten(pc.struct_field(resource_spans, "scopeSpans"))
    return pc.list_flatten(pc.struct_field(scope_spans, "spans"))


def span_columns(spans: pa.Array) -> dict[str, pa.Array]:
    """Ids, name, kind and times, checked in bulk."""
    columns = {
        name: pc.struct_field(spans, name)
        for name in ("traceId", "spanId", "parentSpanId", "name", "kind")
    }
    for name in ("startTimeUnixNano", "endTimeUnixNano"):
        columns[name] = pc.cast(pc.struct_field(spans, name), pa.int64())
    ok = pc.all(pc.match_substring_regex(columns["traceId"], "^[0-9a-f]{32}$"))
    if not ok.as_py():
        raise ValueError("a trace id is not 32 lowercase hex digits")
    return columns


def attribute_columns(spans: pa.Array) -> dict[str, pa.Array]:
    """One column per known attribute key, null where a span lacks it."""
    lists = pc.struct_field(spans, "attributes")
    owner = np.asarray(pc.list_parent_indices(lists))
    items = pc.list_flatten(lists)
    value = pc.struct_field(items, "value")
    values = pc.coalesce(
        pc.struct_field(value, "stringValue"), pc.struct_field(value, "intValue")
    )
    keys = pc.dictionary_encode(pc.struct_field(items, "key")).combine_chunks()
    codes = np.asarray(keys.indices)
    names = keys.dictionary.to_pylist()

    columns = {}
    for key in KNOWN_KEYS:
        if key not in names:
            continue
        chosen = np.flatnonzero(codes == names.index(key))
        position = np.full(len(spans), -1, dtype=np.int64)
        position[owner[chosen]] = chosen
        columns[key] = pc.take(values, pa.array(position, mask=position < 0))
    return columns


def main(path: str) -> int:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
    started = time.perf_counter()
    table = pj.read_json(path, read_options=pj.ReadOptions(block_size=1 << 26))
    parsed = time.perf_counter()
    spans = spans_of(table)
    span_columns(spans)
    flat = time.perf_counter()
    attribute_columns(spans)
    done = time.perf_counter()
    print(
        f"{len(spans):,} spans: read_json {parsed - started:.2f} s, spans, ids and "
        f"times {flat - parsed:.2f} s, attributes {done - flat:.2f} s, "
        f"total {done - started:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
