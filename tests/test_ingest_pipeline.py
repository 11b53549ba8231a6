"""The ingest pipeline: files into a run, whole or not at all, errors as results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit.errors import InputError
from perfkit.ingest.results import FileResult
from perfkit.ingest_pipeline import find_inputs, ingest
from perfkit.store import Store

OtlpWriter = Callable[..., Path]


def trace(n: int, spans: int = 3, *, service_route: str = "/users/{id}") -> list[Any]:
    """A SERVER span and ``spans - 1`` CLIENT children, in trace number ``n``."""
    trace_id = f"{n:032x}"
    root = {
        "trace_id": trace_id,
        "span_id": f"{n:08x}{0:08x}",
        "name": f"GET {service_route}",
        "kind": 2,
        "attributes": {"http.request.method": "GET", "http.route": service_route},
    }
    children = [
        {
            "trace_id": trace_id,
            "span_id": f"{n:08x}{i:08x}",
            "parent_span_id": root["span_id"],
            "name": "SELECT users",
            "kind": 3,
            "attributes": {"db.system": "postgresql", "db.statement": "SELECT 1"},
        }
        for i in range(1, spans)
    ]
    return [root, *children]


def stored_spans(db: Path, run: str = "default") -> int:
    with Store(db) as store:
        return len(store.read_spans(run)) if store.has_run(run) else 0


def bad_line_in_the_middle(path: Path, write_otlp: OtlpWriter) -> Path:
    write_otlp(path, trace(1) + trace(2), per_line=3)
    good, rest = path.read_text().split("\n", 1)
    path.write_text(good + "\n" + '{"resourceSpans": [\n' + rest)
    return path


def test_a_file_is_stored_with_its_counts(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    path = write_otlp(tmp_path / "a.jsonl", trace(1) + trace(2, 4))

    report = ingest([path], db=tmp_path / "perfkit.db", run="baseline")

    [result] = report.files
    assert result.status == "ok"
    assert (result.spans, result.traces, result.duplicates) == (7, 2, 0)
    assert result.bytes == path.stat().st_size
    assert (report.spans, report.traces) == (7, 2)
    assert (report.services, report.endpoints, report.orphans) == (1, 1, 0)
    assert report.ok
    assert stored_spans(tmp_path / "perfkit.db", "baseline") == 7


def test_ingesting_twice_reports_every_span_as_a_duplicate(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    path = write_otlp(tmp_path / "a.jsonl", trace(1) + trace(2))
    db = tmp_path / "perfkit.db"

    ingest([path], db=db)
    again = ingest([path], db=db)

    assert (again.spans, again.duplicates) == (0, 6)
    assert stored_spans(db) == 6
    with Store(db) as store:
        assert len(store.sources("default")) == 1


def test_a_bad_line_in_the_middle_stores_nothing_from_that_file(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    bad = bad_line_in_the_middle(tmp_path / "bad.jsonl", write_otlp)
    good = write_otlp(tmp_path / "good.jsonl", trace(7))
    db = tmp_path / "perfkit.db"

    report = ingest([bad, good], db=db)

    failed, stored = report.files
    assert failed.status == "error"
    assert (failed.position, failed.error_code) == ("line 2", "bad_json")
    assert failed.retryable is False
    assert "JSON" in (failed.message or "")
    assert stored.ok
    assert stored.spans == 3
    assert (report.files_ok, report.files_failed, report.ok) == (1, 1, False)
    # Only the good file's spans are in the store.
    assert stored_spans(db) == 3


def test_skip_invalid_stores_the_rest_and_counts_the_reason(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    bad = bad_line_in_the_middle(tmp_path / "bad.jsonl", write_otlp)

    report = ingest([bad], db=tmp_path / "perfkit.db", skip_invalid=True)

    [result] = report.files
    assert result.ok
    assert result.skipped == {"bad_json": 1}
    assert report.skipped == {"bad_json": 1}
    assert result.spans == 6
    assert stored_spans(tmp_path / "perfkit.db") == 6


def test_raise_on_error_raises_the_files_error(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    bad = bad_line_in_the_middle(tmp_path / "bad.jsonl", write_otlp)

    with pytest.raises(InputError, match="line 2") as caught:
        ingest([bad], db=tmp_path / "perfkit.db", raise_on_error=True)
    assert caught.value.path == str(bad)


def test_parents_in_a_later_file_are_found_whatever_the_order(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    spans = trace(1, 4) + trace(2, 3)
    roots = [span for span in spans if "parent_span_id" not in span]
    children = [span for span in spans if "parent_span_id" in span]
    lost = {**children[0], "span_id": "f" * 16, "parent_span_id": "e" * 16}
    # Children first, parents after, both files read in reverse name order.
    z_children = write_otlp(tmp_path / "z_children.jsonl", [*children[::-1], lost])
    a_roots = write_otlp(tmp_path / "a_roots.jsonl", roots[::-1])
    db = tmp_path / "perfkit.db"

    alone = ingest([z_children], db=db, run="children only")
    both = ingest([z_children, a_roots], db=db, run="all")

    assert alone.orphans == len(children) + 1
    assert both.orphans == 1  # the span whose parent is in no file
    with Store(db) as store:
        assert store.count_orphans("all") == 1


def test_non_trace_files_in_a_folder_are_ignored_but_named_ones_fail(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    folder = tmp_path / "traces"
    folder.mkdir()
    write_otlp(folder / "a.jsonl", trace(1))
    readme = folder / "README.md"
    readme.write_text("# Traces of the checkout load test\n")
    (folder / ".hidden.jsonl").write_text("not even looked at\n")
    db = tmp_path / "perfkit.db"

    from_folder = ingest([folder], db=db)
    named = ingest([readme], db=db)

    assert [r.path for r in from_folder.files] == [str(folder / "a.jsonl")]
    assert from_folder.ignored == [str(readme)]
    assert from_folder.ok
    [result] = named.files
    assert (result.status, result.error_code) == ("error", "not_traces")


def test_a_missing_path_is_an_error_result(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    good = write_otlp(tmp_path / "a.jsonl", trace(1))

    report = ingest([tmp_path / "nope.jsonl", good], db=tmp_path / "perfkit.db")

    assert [(r.status, r.error_code) for r in report.files] == [
        ("error", "not_found"),
        ("ok", None),
    ]


def test_a_folder_with_no_trace_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n")

    with pytest.raises(InputError, match=r"no trace files found \(1 other file"):
        ingest([tmp_path], db=tmp_path / "perfkit.db")


def test_the_same_file_given_twice_is_read_once(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    path = write_otlp(tmp_path / "a.jsonl", trace(1))

    inputs = find_inputs([path, tmp_path, str(path)])

    assert inputs.files == [path]


class Recorder:
    """An IngestProgress that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, files: Any, total_bytes: int) -> None:
        self.calls.append(("start", (len(files), total_bytes)))

    def advance(self, path: Path, spans: int) -> None:
        self.calls.append(("advance", spans))

    def done(self, path: Path, result: FileResult) -> None:
        self.calls.append(("done", result.status))


def test_progress_hears_of_every_batch_and_file(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    a = write_otlp(tmp_path / "a.jsonl", trace(1, 5))
    b = write_otlp(tmp_path / "b.jsonl", trace(2, 3))
    recorder = Recorder()

    ingest([a, b], db=tmp_path / "x.db", progress=recorder, batch_size=2)

    size = a.stat().st_size + b.stat().st_size
    assert recorder.calls == [
        ("start", (2, size)),
        ("advance", 2),
        ("advance", 2),
        ("advance", 1),
        ("done", "ok"),
        ("advance", 2),
        ("advance", 1),
        ("done", "ok"),
    ]


@pytest.mark.postgres
def test_ingest_into_postgresql(
    postgres_schema_url: Any, tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    path = write_otlp(tmp_path / "a.jsonl", trace(1) + trace(2))
    bad = bad_line_in_the_middle(tmp_path / "bad.jsonl", write_otlp)

    first = ingest([path, bad], db=postgres_schema_url, run="pg")
    second = ingest([path], db=postgres_schema_url, run="pg")

    assert (first.spans, first.files_failed) == (6, 1)
    assert (second.spans, second.duplicates) == (0, 6)
    with Store(postgres_schema_url) as store:
        assert len(store.read_spans("pg")) == 6


def test_endpoints_are_counted_per_service(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    shop = write_otlp(tmp_path / "shop.jsonl", trace(1) + trace(2), service="shop")
    edge = write_otlp(tmp_path / "edge.jsonl", trace(3), service="edge")
    other_route = write_otlp(
        tmp_path / "orders.jsonl", trace(4, service_route="/orders"), service="shop"
    )

    report = ingest([shop, edge, other_route], db=tmp_path / "perfkit.db")

    # GET /users/{id} in shop and in edge, GET /orders in shop.
    assert (report.services, report.endpoints, report.traces) == (2, 3, 4)


def test_an_empty_path_is_an_error_not_the_current_folder(
    tmp_path: Path, write_otlp: OtlpWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Path("") is ".": the current folder would be read whole.
    monkeypatch.chdir(tmp_path)
    write_otlp(tmp_path / "here.jsonl", trace(1))

    inputs = find_inputs(["", tmp_path / "nope.jsonl"])

    assert inputs.files == []
    assert [(r.path, r.error_code) for r in inputs.missing] == [
        ("''", "not_found"),
        (str(tmp_path / "nope.jsonl"), "not_found"),
    ]


def test_a_named_file_is_read_even_when_its_folder_came_first(
    tmp_path: Path, write_otlp: OtlpWriter
) -> None:
    write_otlp(tmp_path / "a.jsonl", trace(1))
    notes = tmp_path / "notes.txt"
    notes.write_text("not traces\n")

    inputs = find_inputs([tmp_path, notes])

    # Named, so read (and failed on), whatever the order of the arguments.
    assert inputs.files == [tmp_path / "a.jsonl", notes]
    assert inputs.ignored == []


def test_a_folder_with_nothing_in_it_says_so_plainly(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        ingest([tmp_path], db=tmp_path / "perfkit.db")
    assert "ignored" not in str(caught.value)
