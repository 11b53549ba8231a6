from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import pytest

from perfkit.analysis.tree import build_tree
from perfkit.ingest.schema import (
    COLUMN_NAMES,
    KIND_INTERNAL,
    KIND_SERVER,
    empty_frame,
    rows_to_frame,
)
from tests.analysis.builders import Spans


def positions(spans: Spans) -> dict[str, int]:
    return {row["span_id"]: i for i, row in enumerate(spans.rows)}


def test_request_is_the_nearest_server_span_of_the_same_service() -> None:
    s = Spans()
    root = s.request("GET /orders/{id}/availability", duration=300)
    handler = s.internal(root, "handler", start=1, duration=290)
    query = s.query(handler, start=2, duration=3)
    call = s.call(handler, "http://supplier/stock/1", start=10, duration=50)
    # The supplier's own SERVER span, under the shop's CLIENT span.
    upstream = s.request(
        "GET /stock/{sku}",
        start=12,
        duration=40,
        parent=call,
        new_trace=False,
        service="supplier",
    )
    upstream_query = s.query(upstream, start=13, duration=5, service="supplier")
    frame = s.frame()
    tree = build_tree(frame)
    at = positions(s)

    assert tree.parent.tolist() == [-1, 0, 1, 1, 3, 4]
    expected = {root: root, handler: root, query: root, call: root}
    expected |= {upstream: upstream, upstream_query: upstream}
    assert {k: tree.request[at[k]] for k in expected} == {
        k: at[v] for k, v in expected.items()
    }


def test_spans_without_a_server_span_in_their_service_have_no_request() -> None:
    s = Spans()
    s.trace_id = "a" * 32
    job = s.internal(None, "nightly job", start=0, duration=100)
    s.query(job, start=1, duration=2)
    # A worker's span whose parent is the job, but in another service.
    s._span(name="work", parent_span_id=job, start=3, duration=4, service_name="worker")
    orphan = s.request("GET /x")
    s.rows[-1]["parent_span_id"] = "f" * 16  # the parent was never exported
    s.query(orphan, start=1, duration=1)
    tree = build_tree(s.frame())
    assert tree.request.tolist() == [-1, -1, -1, 3, 3]
    assert tree.parent.tolist() == [-1, 0, 0, -1, 3]


def test_same_span_id_in_two_traces_is_two_spans() -> None:
    s = Spans()
    first = s.request("GET /a")
    s.query(first, start=1, duration=1)
    frame = s.frame()
    copy = frame.copy()
    copy["trace_id"] = "b" * 32
    both = pd.concat([frame, copy], ignore_index=True)
    tree = build_tree(both)
    assert tree.parent.tolist() == [-1, 0, -1, 2]
    assert tree.request.tolist() == [0, 0, 2, 2]


def test_a_parent_cycle_resolves_to_no_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Spans()
    s.trace_id = "c" * 32
    a = s.internal("0000000000000002", "a", start=0, duration=1)
    s.internal(a, "b", start=0, duration=1)
    with caplog.at_level(logging.WARNING, logger="perfkit.analysis.tree"):
        tree = build_tree(s.frame())
    assert tree.request.tolist() == [-1, -1]
    assert "2 spans sit on parent cycles" in caplog.text


def test_deep_chains_resolve() -> None:
    s = Spans()
    parent = s.request("GET /deep")
    for depth in range(300):
        parent = s.internal(parent, f"level {depth}", start=depth, duration=1)
    tree = build_tree(s.frame())
    assert (tree.request == 0).all()
    assert s.rows[0]["kind"] == KIND_SERVER


def test_empty_frame() -> None:
    tree = build_tree(empty_frame())
    assert tree.parent.size == 0
    assert tree.request.size == 0


def id_frame(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """A span frame of (trace id, span id, parent id) rows, INTERNAL spans."""
    records = []
    for trace_id, span_id, parent_id in rows:
        record: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
        record.update(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent_id,
            name="work",
            kind=KIND_INTERNAL,
            start_ns=0,
            end_ns=1,
            status_code=0,
            service_name="shop",
            composite_count=1,
        )
        records.append(tuple(record[c] for c in COLUMN_NAMES))
    return rows_to_frame(records)


T1, T2 = "a" * 32, "b" * 32
S1, S2, S3 = "1" * 16, "2" * 16, "3" * 16


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Plain ids: parents by number.
        ([(T1, S1, None), (T1, S2, S1), (T1, S3, S2)], [-1, 0, 1]),
        # A parent that is not in the trace, and one that is only in another.
        ([(T1, S1, None), (T1, S2, S3), (T2, S3, None)], [-1, -1, -1]),
        # The same span id in two traces: each child finds its own trace's.
        (
            [(T2, S1, None), (T1, S1, None), (T1, S2, S1), (T2, S3, S1)],
            [-1, -1, 1, 0],
        ),
        # A span id twice in one trace (Zipkin's shared client and server
        # span): the first row carrying it.
        ([(T1, S1, None), (T1, S1, None), (T1, S2, S1)], [-1, -1, 0]),
        # Ids of other lengths take the general path.
        ([("t", "s1", None), ("t", "s2", "s1"), ("t", "s3", "s2")], [-1, 0, 1]),
        ([(T1, S1, None), (T1, "22", S1), (T1, S3, "22")], [-1, 0, 1]),
    ],
)
def test_parents_whatever_the_path(
    rows: list[tuple[str, str, str | None]], expected: list[int]
) -> None:
    assert build_tree(id_frame(rows)).parent.tolist() == expected


def test_which_rows_take_the_numeric_path() -> None:
    from perfkit.analysis.tree import _parents_by_number

    plain = id_frame([(T1, S1, None), (T1, S2, S1), (T2, S3, S2)])
    assert _parents_by_number(plain) is None  # S2 is found, but in T1
    plain = id_frame([(T1, S1, None), (T1, S2, S1), (T2, S3, None)])
    assert _parents_by_number(plain) is not None
    across = id_frame([(T2, S1, None), (T1, S1, None), (T1, S2, S1)])
    assert _parents_by_number(across) is None  # S1's first row is in T2
    short = id_frame([("t", "s1", None), ("t", "s2", "s1")])
    assert _parents_by_number(short) is None
