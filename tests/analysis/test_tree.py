from __future__ import annotations

import logging

import pandas as pd
import pytest

from perfkit.analysis.tree import build_tree
from perfkit.ingest.schema import KIND_SERVER, empty_frame
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
