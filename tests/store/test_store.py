"""The span store on SQLite and PostgreSQL: bulk writes, idempotence, runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from perfkit.errors import ConfigError, InputError, StoreError
from perfkit.ingest.schema import COLUMN_NAMES, SpanRow, rows_to_frame
from perfkit.store import InsertCounts, Store, is_retryable, open_store

SpanRowFactory = Callable[..., SpanRow]

T1 = "0af7651916cd43dd8448eb211c80319c"
T2 = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def store(store_url: str | sa.URL) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def rows(span_row: SpanRowFactory) -> list[SpanRow]:
    return [
        span_row(
            T1,
            "a" * 16,
            name="GET /users/{id}",
            kind=2,
            http_status_code=200,
            http_method="GET",
            http_route="/users/{id}",
            endpoint="GET /users/{id}",
        ),
        span_row(
            T1,
            "b" * 16,
            "a" * 16,
            name="SELECT users",
            kind=3,
            db_system="postgresql",
            db_statement="SELECT * FROM users WHERE id = ?",
            start_ns=1_700_000_000_000_000_123,
            end_ns=1_700_000_000_000_900_456,
        ),
        span_row(
            T2,
            "c" * 16,
            name="GET /orders",
            kind=2,
            status_code=2,
            status_message="boom ✗",
            service_name="orders",
            composite_count=3,
        ),
    ]


def rows_in_table(store: Store, run: str) -> pd.DataFrame:
    """The run's rows as the spans table holds them, in insertion order."""
    columns = ", ".join(COLUMN_NAMES)
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            f"SELECT {columns} FROM spans JOIN runs ON runs.id = spans.run_id"
            f" WHERE runs.label = '{run}' ORDER BY spans.id"
        ).all()
    return rows_to_frame([tuple(row) for row in rows])


def batch_count(store: Store) -> int:
    with store.engine.connect() as connection:
        result = connection.exec_driver_sql("SELECT count(*) FROM span_batches")
        return int(result.scalar_one())


def span_count(store: Store) -> int:
    with store.engine.connect() as connection:
        result = connection.exec_driver_sql("SELECT count(*) FROM spans")
        return int(result.scalar_one())


def test_spans_read_back_as_written(store: Store, rows: list[SpanRow]) -> None:
    counts = store.add_spans("baseline", [rows[:2], rows[2:]], path="a.jsonl")

    assert counts == InsertCounts(inserted=3, duplicates=0)
    frame = store.read_spans("baseline")
    pd.testing.assert_frame_equal(frame, rows_to_frame(rows), check_exact=True)
    # Nanosecond timestamps beyond 2**53 survive exactly.
    assert frame["duration_ns"].tolist() == [1_000_000, 900_333, 1_000_000]
    assert frame["status_message"].iloc[2] == "boom ✗"
    assert frame["http_status_code"].isna().tolist() == [False, True, True]


def test_ingesting_the_same_spans_twice_stores_them_once(
    store: Store, rows: list[SpanRow]
) -> None:
    first = store.add_spans("baseline", [rows], path="a.jsonl", sha256="1" * 64)
    second = store.add_spans("baseline", [rows], path="a.jsonl", sha256="1" * 64)

    assert first == (3, 0)
    assert second == (0, 3)
    assert span_count(store) == 3
    assert batch_count(store) == 1
    # The second ingest added nothing, so the file is recorded once.
    assert [(s.path, s.spans) for s in store.sources("baseline")] == [("a.jsonl", 3)]


def test_reading_back_gives_what_the_spans_table_holds(
    store: Store, rows: list[SpanRow], span_row: SpanRowFactory
) -> None:
    extra = span_row(T2, "e" * 16, "c" * 16)
    # Overlapping files: the second repeats two spans and adds one, in between.
    store.add_spans("run", [rows[:2]], path="a.jsonl")
    store.add_spans("run", [[rows[1], extra], [rows[0], rows[2]]], path="b.jsonl")
    store.add_spans("run", [rows], path="a.jsonl")

    frame = store.read_spans("run")

    pd.testing.assert_frame_equal(frame, rows_in_table(store, "run"), check_exact=True)
    assert frame["span_id"].tolist() == ["a" * 16, "b" * 16, "e" * 16, "c" * 16]


def test_duplicates_within_one_batch_are_counted(
    store: Store, rows: list[SpanRow]
) -> None:
    counts = store.add_spans("baseline", [[rows[0], rows[1], rows[0]]], path="a.jsonl")

    assert counts == (2, 1)
    assert span_count(store) == 2


def test_shared_span_id_with_another_kind_is_a_different_span(
    store: Store, span_row: SpanRowFactory
) -> None:
    client = span_row(T1, "d" * 16, "a" * 16, kind=3)
    server = span_row(T1, "d" * 16, "a" * 16, kind=2)

    assert store.add_spans("zipkin", [[client, server]], path="z.json") == (2, 0)


def failing_batches(rows: Sequence[SpanRow]) -> Iterator[Sequence[SpanRow]]:
    yield rows
    raise InputError("bad.jsonl", "not JSON", position="line 2", code="bad_json")


def test_a_file_failing_midway_stores_nothing(
    store: Store, rows: list[SpanRow]
) -> None:
    with pytest.raises(InputError, match="line 2"):
        store.add_spans("baseline", failing_batches(rows), path="bad.jsonl")

    assert span_count(store) == 0
    # Even the run the file would have created is rolled back.
    assert store.runs() == []
    assert not store.has_run("baseline")
    assert batch_count(store) == 0


def test_a_failed_file_leaves_earlier_files_of_the_run_alone(
    store: Store, rows: list[SpanRow]
) -> None:
    store.add_spans("baseline", [rows[:1]], path="good.jsonl")
    with pytest.raises(InputError):
        store.add_spans("baseline", failing_batches(rows[1:]), path="bad.jsonl")

    assert store.read_spans("baseline")["span_id"].tolist() == ["a" * 16]
    assert [s.path for s in store.sources("baseline")] == ["good.jsonl"]


def test_runs_are_kept_apart_by_label(store: Store, rows: list[SpanRow]) -> None:
    store.add_spans("baseline", [rows], path="a.jsonl")
    store.add_spans("candidate", [rows[:1]], path="b.jsonl")

    assert [(r.label, r.files, r.spans) for r in store.runs()] == [
        ("baseline", 1, 3),
        ("candidate", 1, 1),
    ]
    assert len(store.read_spans("baseline")) == 3
    assert len(store.read_spans("candidate")) == 1

    assert store.delete_run("baseline") is True
    assert store.delete_run("baseline") is False
    assert [r.label for r in store.runs()] == ["candidate"]
    assert span_count(store) == 1
    assert batch_count(store) == 1
    assert store.read_spans("candidate")["span_id"].tolist() == ["a" * 16]


def test_reading_an_unknown_run_names_the_runs_there_are(
    store: Store, rows: list[SpanRow]
) -> None:
    store.add_spans("baseline", [rows], path="a.jsonl")

    with pytest.raises(StoreError, match=r"no run named 'nightly' \(runs: baseline\)"):
        store.read_spans("nightly")


def test_an_empty_run_label_is_refused(store: Store, rows: list[SpanRow]) -> None:
    with pytest.raises(ConfigError, match="--run"):
        store.add_spans("", [rows], path="a.jsonl")


def test_orphans_are_spans_whose_parent_is_not_in_their_trace(
    store: Store, span_row: SpanRowFactory
) -> None:
    rows = [
        span_row(T1, "1" * 16),  # root
        span_row(T1, "2" * 16, "1" * 16),  # parent present
        span_row(T1, "3" * 16, "9" * 16),  # parent missing: orphan
        span_row(T2, "9" * 16),  # the id above, but in another trace
        span_row(T2, "4" * 16, "1" * 16),  # parent only in T1: orphan
        span_row(T2, "5" * 16, "9" * 16, kind=3),  # shared id, other kind: present
    ]
    store.add_spans("run", [rows], path="a.jsonl")

    assert store.count_orphans("run") == 2


def test_sources_record_each_file(store: Store, rows: list[SpanRow]) -> None:
    store.add_spans(
        "run", [rows[:2]], path="a.jsonl", sha256="a" * 64, size=1234, format="otlp"
    )
    store.add_spans("run", [rows], path="b.jsonl", sha256="b" * 64, size=99)

    sources = store.sources("run")
    assert [(s.path, s.sha256, s.size, s.format, s.spans) for s in sources] == [
        ("a.jsonl", "a" * 64, 1234, "otlp", 2),
        ("b.jsonl", "b" * 64, 99, None, 1),
    ]
    assert all(s.ingested_at.tzinfo is not None for s in sources)


def test_open_store_passes_a_store_through(store: Store) -> None:
    assert open_store(store) is store


def test_a_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "nowhere" / "perfkit.db")


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not SQLite\n" * 100)

    with pytest.raises(StoreError, match=r"notes\.db") as caught:
        Store(path)
    assert not is_retryable(caught.value)


def test_a_locked_database_is_retryable(tmp_path: Path, rows: list[SpanRow]) -> None:
    path = tmp_path / "perfkit.db"
    Store(path).close()
    locker = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    store = Store(path)
    store.engine.dispose()
    store.engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with locker.connect() as connection:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked") as caught:
            store.add_spans("run", [rows], path="a.jsonl")
        connection.exec_driver_sql("ROLLBACK")

    assert is_retryable(caught.value)
    store.close()
    locker.dispose()


def test_in_memory_store(rows: list[SpanRow]) -> None:
    with Store("sqlite://") as store:
        store.add_spans("run", [rows], path="a.jsonl")
        assert len(store.read_spans("run")) == 3


def test_a_file_larger_than_a_block_reads_back_in_order(
    store: Store, span_row: SpanRowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("perfkit.store.writer.BLOCK_ROWS", 4)
    rows = [span_row(T1, f"{i:016x}", start_ns=i, end_ns=i + 10) for i in range(11)]

    store.add_spans("run", [rows[:3], rows[3:6], rows[6:9], rows[9:]], path="a.jsonl")

    assert batch_count(store) == 2  # blocks of 3 + 3 and 3 + 2 rows
    frame = store.read_spans("run")
    pd.testing.assert_frame_equal(frame, rows_to_frame(rows), check_exact=True)
