"""The timeout is set in the session, and a plan blocked on a lock gives up."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from perfkit.analysis.explain import explain_statement, mysql, postgres, sqlite
from perfkit.analysis.explain._session import connect, open_engine, parse_url

from .conftest import AppDb

STATEMENT = "SELECT * FROM books WHERE author_id = 3"


@pytest.fixture
def session(app_db: AppDb) -> Iterator[tuple[str, Any]]:
    """A DBAPI connection as explain_statement opens it, nothing begun yet."""
    url, backend = parse_url(app_db.url)
    engine = open_engine(url, backend, 1500)
    connection = connect(engine, app_db.url)
    dbapi: Any = connection.connection.dbapi_connection
    is_mariadb = bool(getattr(connection.dialect, "is_mariadb", False))
    try:
        yield ("mariadb" if is_mariadb else backend), dbapi
    finally:
        dbapi.rollback()
        connection.close()
        engine.dispose()


def _query(dbapi: Any, statement: str) -> tuple[Any, ...]:
    cursor = dbapi.cursor()
    try:
        cursor.execute(statement)
        row = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None
    return tuple(row)


def test_timeout_and_read_only_are_set_in_the_session(
    session: tuple[str, Any],
) -> None:
    dialect, dbapi = session

    if dialect == "sqlite":
        sqlite.begin_read_only(dbapi, 1500)
        assert _query(dbapi, "PRAGMA busy_timeout") == (1500,)
        assert _query(dbapi, "PRAGMA query_only") == (1,)
        assert dbapi.in_transaction is True
    elif dialect == "postgresql":
        postgres.begin_read_only(dbapi, 1500)
        assert _query(dbapi, "SHOW statement_timeout") == ("1500ms",)
        assert _query(dbapi, "SHOW lock_timeout") == ("1500ms",)
        assert _query(dbapi, "SHOW transaction_read_only") == ("on",)
    elif dialect == "mariadb":
        mysql.begin_read_only(dbapi, 1500, mariadb=True)
        assert _query(dbapi, "SELECT @@session.max_statement_time") == (1.5,)
        assert _query(dbapi, "SELECT @@session.lock_wait_timeout") == (2,)
        assert _query(dbapi, "SELECT @@in_transaction") == (1,)
    else:
        mysql.begin_read_only(dbapi, 1500, mariadb=False)
        assert _query(dbapi, "SELECT @@session.max_execution_time") == (1500,)
        assert _query(dbapi, "SELECT @@session.lock_wait_timeout") == (2,)


@pytest.fixture
def locked(app_db: AppDb) -> Iterator[AppDb]:
    """``books`` held under an exclusive lock by another connection."""
    if app_db.backend == "sqlite":
        assert app_db.path is not None
        holder = sqlite3.connect(app_db.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield app_db
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    connection = app_db.admin.connect()
    dbapi: Any = connection.connection.dbapi_connection
    cursor = dbapi.cursor()
    if app_db.backend == "postgresql":
        cursor.execute("LOCK TABLE books IN ACCESS EXCLUSIVE MODE")
    else:
        cursor.execute("LOCK TABLES books WRITE")
    try:
        yield app_db
    finally:
        if app_db.backend == "mysql":
            cursor.execute("UNLOCK TABLES")
        dbapi.rollback()
        cursor.close()
        connection.close()


def test_a_plan_blocked_by_a_lock_gives_up_after_the_timeout(
    locked: AppDb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="perfkit.analysis.explain")
    started = time.monotonic()

    report = explain_statement(locked.url, STATEMENT, timeout_ms=300)

    elapsed = time.monotonic() - started
    assert report is None
    assert 0.25 < elapsed < 3
    assert "EXPLAIN failed" in caplog.text
    assert any(
        word in caplog.text.lower()
        for word in ("timeout", "locked", "max_statement_time", "interrupted")
    )
