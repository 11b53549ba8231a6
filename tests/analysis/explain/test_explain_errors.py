"""Bad URLs and unreachable databases are errors a user can act on; no secrets."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from perfkit.analysis.explain import as_url, explain_statement, mask_url
from perfkit.errors import AppDatabaseError

from .conftest import AppDb


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://app:hunter2@db.internal:5432/shop",
            "postgresql://app:***@db.internal:5432/shop",
        ),
        ("mysql+pymysql://root@127.0.0.1/shop", "mysql+pymysql://root@127.0.0.1/shop"),
        (
            "postgresql://app@h/shop?sslmode=require&password=hunter2",
            "postgresql://app@h/shop?password=***&sslmode=require",
        ),
        ("not a url://app:hunter2@host", "not a url://app:***@host"),
    ],
)
def test_mask_url_hides_passwords(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "no such SQLite file"),
        ("sqlite:/only-one-slash://x", "is not a database URL"),
        ("oracle://scott:tiger@127.0.0.1/orcl", "not oracle"),
        ("sqlite://", "give the application's SQLite file"),
        ("sqlite:///no/such/dir/app.db", "no such file"),
    ],
)
def test_unusable_url_is_an_app_database_error(url: str, message: str) -> None:
    with pytest.raises(AppDatabaseError, match=message) as raised:
        explain_statement(url, "SELECT 1")

    assert "tiger" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:hunter2@127.0.0.1:1/shop",
        "mysql://app:hunter2@127.0.0.1:1/shop",
    ],
)
def test_unreachable_server_error_masks_the_password(url: str) -> None:
    with pytest.raises(AppDatabaseError, match="cannot connect") as raised:
        explain_statement(url, "SELECT * FROM books WHERE id = 1")

    assert "hunter2" not in str(raised.value)
    assert ":***@127.0.0.1:1/shop" in str(raised.value)
    assert "check --app-db" in str(raised.value)


def test_statement_the_database_cannot_plan_gives_none_and_a_warning(
    app_db: AppDb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="perfkit.analysis.explain")
    before = app_db.snapshot()

    report = explain_statement(app_db.url, "SELECT * FROM no_such_table WHERE x = ?")

    assert report is None
    assert "EXPLAIN failed" in caplog.text
    assert "no_such_table" in caplog.text
    assert app_db.snapshot() == before


def test_a_read_only_sqlite_file_can_be_explained(sqlite_app: AppDb) -> None:
    assert sqlite_app.path is not None
    sqlite_app.path.chmod(0o444)
    before = sqlite_app.snapshot()

    report = explain_statement(sqlite_app.url, "SELECT * FROM books WHERE title = ?")

    assert report is not None
    assert report.full_scans[0].table == "books"
    assert sqlite_app.snapshot() == before


def test_a_sqlite_file_path_is_taken_as_its_url(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    sqlite3.connect(database).close()

    assert as_url(str(database)) == f"sqlite:///{database.resolve()}"
    assert as_url("postgresql://app@h/shop") == "postgresql://app@h/shop"
