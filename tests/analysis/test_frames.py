"""The call tables: which database calls count once."""

from __future__ import annotations

import pytest

from perfkit.analysis.frames import build_frames
from perfkit.analysis.tree import build_tree
from tests.analysis.builders import Spans

DRIVER = "opentelemetry.instrumentation.psycopg"


@pytest.mark.parametrize("inner_start", [1.0, 2.0])
@pytest.mark.parametrize("inner_first", [True, False])
def test_a_driver_span_inside_the_orm_span_counts_once(
    inner_start: float, inner_first: bool
) -> None:
    # The ORM's span runs 1..6 ms; the driver's span of the same statement
    # lies within it (starting with it, or after it) and is dropped, whichever
    # of the two was recorded first.
    s = Spans()
    root = s.request("GET /books", duration=20)
    if inner_first:
        inner = s.query(root, start=inner_start, duration=3, scope=DRIVER)
        outer = s.query(root, start=1, duration=5)
    else:
        outer = s.query(root, start=1, duration=5)
        inner = s.query(root, start=inner_start, duration=3, scope=DRIVER)
    frame = s.frame()
    db = build_frames(frame, build_tree(frame)).db
    at = {row["span_id"]: i for i, row in enumerate(s.rows)}
    assert db.index.tolist() == [at[outer]]
    assert at[inner] not in db.index


def test_calls_of_one_instrumentation_all_count() -> None:
    s = Spans()
    root = s.request("GET /books", duration=20)
    s.query(root, start=1, duration=5)
    s.query(root, start=1, duration=3)
    s.query(root, start=2, duration=1)
    frame = s.frame()
    assert len(build_frames(frame, build_tree(frame)).db) == 3
