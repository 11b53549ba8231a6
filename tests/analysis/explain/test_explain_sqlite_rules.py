"""SQLite's own signs: automatic indexes, aliases, covering index scans."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from perfkit.analysis.explain import FullScan, explain_statement

from .conftest import AppDb


def test_automatic_index_is_a_full_scan_with_its_columns(sqlite_app: AppDb) -> None:
    # Two unindexed columns joined: SQLite builds a throwaway index per query.
    statement = (
        "SELECT b1.id, b2.id FROM books AS b1\n"
        "JOIN books AS b2 ON b2.title = b1.title\n"
        "WHERE b1.author_id = ?"
    )
    before = sqlite_app.snapshot()

    report = explain_statement(sqlite_app.url, statement)

    assert report is not None
    assert any("AUTOMATIC" in line for line in report.plan_lines)
    assert report.full_scans == [FullScan("books", ["author_id", "title"])]
    assert report.uses_index is False
    assert report.index_proposal is not None
    assert report.index_proposal.columns == ["author_id"]
    assert sqlite_app.snapshot() == before


def test_count_through_a_covering_index_is_no_full_scan(sqlite_app: AppDb) -> None:
    report = explain_statement(sqlite_app.url, "SELECT count(*) FROM books")

    assert report is not None
    assert report.full_scans == []
    assert report.index_proposal is None


def test_no_filter_means_no_full_scan_finding(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
    connection.close()

    report = explain_statement(f"sqlite:///{path}", "SELECT * FROM events")

    assert report is not None
    assert report.plan_lines == ["SCAN events"]
    assert report.full_scans == []
    assert report.uses_index is False


def _files(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()
    }


def test_wal_database_is_read_without_leaving_files(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
    connection.commit()
    connection.close()
    before = _files(tmp_path)

    report = explain_statement(
        f"sqlite:///{path}", "SELECT * FROM events WHERE kind = ?"
    )

    assert report is not None
    assert report.full_scans == [FullScan("events", ["kind"])]
    assert _files(tmp_path) == before
    assert sorted(before) == ["wal.db"]


def test_wal_database_with_a_live_writer_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
    writer.commit()
    try:
        before = _files(tmp_path)
        report = explain_statement(
            f"sqlite:///{path}", "SELECT * FROM events WHERE id = 1"
        )
        after = _files(tmp_path)
    finally:
        writer.close()

    assert report is not None
    assert report.uses_index is True
    # The shared-memory index is the writer's and changes; the data does not.
    assert sorted(after) == ["live.db", "live.db-shm", "live.db-wal"]
    assert after["live.db"] == before["live.db"]
    assert after["live.db-wal"] == before["live.db-wal"]
