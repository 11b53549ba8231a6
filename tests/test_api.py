"""``perfkit.load`` and ``perfkit.open_run``, and the Run they return."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import perfkit
from perfkit.errors import ConfigError, InputError, StoreError
from perfkit.ingest.schema import SpanRow, rows_to_frame
from perfkit.run import Run

OtlpWriter = Callable[..., Path]
SpanRowFactory = Callable[..., SpanRow]


def span(trace: int, span_id: int, parent: int | None = None, **more: Any) -> Any:
    out = {"trace_id": f"{trace:032x}", "span_id": f"{span_id:016x}", **more}
    if parent is not None:
        out["parent_span_id"] = f"{parent:016x}"
    return out


@pytest.fixture
def split_traces(tmp_path: Path, write_otlp: OtlpWriter) -> list[Path]:
    """Two files: children first (named to be read first), their parents after.

    Trace 1 has a root (1) and children 2, 3; trace 2 a root (10) and child 11;
    span 99 names parent 98, which no file holds. The second file repeats
    span 3, which must be kept once.
    """
    children = [span(1, 3, 2), span(1, 2, 1), span(2, 11, 10), span(2, 99, 98)]
    parents = [
        span(2, 10, kind=2, name="GET /b"),
        span(1, 1, kind=2, name="GET /a"),
        span(1, 3, 2),
    ]
    return [
        write_otlp(tmp_path / "a_children.jsonl", children),
        write_otlp(tmp_path / "b_parents.jsonl", parents, service="edge"),
    ]


def test_load_reads_files_into_a_run(split_traces: list[Path]) -> None:
    run = perfkit.load(split_traces, run="baseline")

    assert isinstance(run, Run)
    assert run.label == "baseline"
    assert len(run.spans) == 6
    assert run.traces == 2
    assert run.services == 2
    assert run.orphans == 1
    assert run.sources == tuple(str(path) for path in split_traces)
    assert [r.duplicates for r in run.results] == [0, 1]
    assert [r.spans for r in run.results] == [4, 2]


def test_the_fast_path_and_the_stored_path_give_equal_frames(
    split_traces: list[Path], tmp_path: Path
) -> None:
    direct = perfkit.load(split_traces)
    stored = perfkit.load(split_traces, db=tmp_path / "perfkit.db")
    reopened = perfkit.open_run(tmp_path / "perfkit.db")

    pd.testing.assert_frame_equal(direct.spans, stored.spans, check_exact=True)
    pd.testing.assert_frame_equal(direct.spans, reopened.spans, check_exact=True)
    assert stored.sources == reopened.sources == direct.sources
    assert (stored.orphans, reopened.orphans) == (1, 1)


def test_loading_into_a_store_twice_keeps_one_copy(
    split_traces: list[Path], tmp_path: Path
) -> None:
    db = tmp_path / "perfkit.db"
    perfkit.load(split_traces, db=db, run="r")

    again = perfkit.load(split_traces, db=db, run="r")

    assert len(again.spans) == 6
    assert [r.spans for r in again.results] == [0, 0]
    assert [r.duplicates for r in again.results] == [4, 3]


def test_parents_only_in_a_later_file_are_not_orphans(
    split_traces: list[Path],
) -> None:
    children_only = perfkit.load(split_traces[:1])
    reversed_order = perfkit.load(split_traces[::-1])

    # Spans 3 (parent 2 is here), 2, 11 and 99: only 2, 11 and 99 lack parents.
    assert children_only.orphans == 3
    assert reversed_order.orphans == 1
    orphan_ids = reversed_order.spans.loc[reversed_order.orphan_mask(), "span_id"]
    assert orphan_ids.tolist() == [f"{99:016x}"]


def test_orphans_count_a_parent_of_any_kind_in_the_same_trace_only(
    span_row: SpanRowFactory,
) -> None:
    a, b = "a" * 32, "b" * 32
    rows = [
        span_row(a, "1" * 16, kind=3),  # client side of a shared Zipkin span
        span_row(a, "1" * 16, "0" * 16, kind=2),  # server side, parent missing
        span_row(a, "2" * 16, "1" * 16),  # parent present, of two kinds
        span_row(b, "3" * 16, "1" * 16),  # the parent id exists only in trace a
        span_row(b, "4" * 16, ""),  # an empty parent id is a root
    ]

    run = Run("zipkin", rows_to_frame(rows))

    assert run.orphan_mask().tolist() == [False, True, False, True, False]
    assert run.orphans == 2


def test_a_bad_file_among_good_ones_is_left_out_with_a_warning(
    split_traces: list[Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = tmp_path / "c_bad.jsonl"
    bad.write_text('{"resourceSpans": [\n')

    with caplog.at_level(logging.WARNING, logger="perfkit"):
        run = perfkit.load([*split_traces, bad])

    assert len(run.spans) == 6
    assert [(r.path, r.error_code) for r in run.errors] == [(str(bad), "bad_json")]
    assert "1 of 3 files could not be read" in caplog.text


def test_loading_only_bad_files_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"resourceSpans": []}\n{not json\n')

    with pytest.raises(InputError, match="line 2"):
        perfkit.load(bad)
    with pytest.raises(InputError, match="line 2"):
        perfkit.load(bad, db=tmp_path / "perfkit.db")


def test_raise_on_error_raises_at_the_first_bad_file(
    split_traces: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "a_bad.jsonl"
    bad.write_text("{not json}\n")

    with pytest.raises(InputError, match=r"a_bad\.jsonl"):
        perfkit.load([bad, *split_traces], raise_on_error=True)


def test_opening_a_run_that_is_not_there(
    split_traces: list[Path], tmp_path: Path
) -> None:
    perfkit.load(split_traces, db=tmp_path / "perfkit.db", run="baseline")

    with pytest.raises(StoreError, match="no run named 'candidate'"):
        perfkit.open_run(tmp_path / "perfkit.db", "candidate")


def test_repr_and_html_summarise_the_run(split_traces: list[Path]) -> None:
    run = perfkit.load(split_traces, run="base<line>")

    assert repr(run) == (
        "<Run 'base<line>': 6 spans, 2 traces, 2 services, 1 orphans, 2 files>"
    )
    html = run._repr_html_()
    assert "base&lt;line&gt;" in html
    assert "<td style='text-align:right'>6</td>" in html


@pytest.mark.parametrize("db", [None, "store"])
def test_an_empty_run_label_is_refused_not_taken_for_default(
    split_traces: list[Path], tmp_path: Path, db: str | None
) -> None:
    store = None if db is None else tmp_path / "perfkit.db"
    with pytest.raises(ConfigError, match="run label"):
        perfkit.load(split_traces, db=store, run="")


def test_an_empty_path_is_not_the_current_folder(
    split_traces: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(split_traces[0].parent)
    with pytest.raises(InputError, match="the path is empty"):
        perfkit.load("")
