"""An application database to EXPLAIN against, on SQLite, PostgreSQL and MariaDB.

``app_db`` is parametrised over the three; each holds the same two tables:

- ``authors (id PK, name)``: 100 rows;
- ``books (id PK, author_id, title, year, published)``: 4,000 rows, with
  ``year`` indexed (``ix_books_year``) and ``author_id``, ``title`` and
  ``published`` not.

The PostgreSQL one is a schema of its own in the session's scratch database,
the MariaDB one a database of its own; both come from the shared
``postgres_url`` and ``mysql_url`` fixtures, so they skip (or fail, with
``PERFKIT_REQUIRE_DB=1``) where no server answers. The SQLite one is a fresh
file for every test, so its bytes can be compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

BOOKS = 4000
AUTHORS = 100

metadata = sa.MetaData()
authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
)
books = sa.Table(
    "books",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("author_id", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("published", sa.Date, nullable=False),
    sa.Index("ix_books_year", "year"),
)


@dataclass
class AppDb:
    """One application database: its URL and a writable engine for the test."""

    backend: str
    url: str
    admin: sa.Engine
    path: Path | None = None

    def execute(self, statement: str) -> None:
        """Run DDL or DML as the application would (committed)."""
        with self.admin.begin() as connection:
            connection.exec_driver_sql(statement)

    def snapshot(self) -> dict[str, Any]:
        """Everything a change would show: rows, indexes, tables, file bytes."""
        state: dict[str, Any] = {}
        with self.admin.connect() as connection:
            inspector = sa.inspect(connection)
            state["tables"] = sorted(inspector.get_table_names())
            for table in ("authors", "books"):
                rows = connection.execute(
                    sa.text(f"SELECT * FROM {table} ORDER BY id")
                ).all()
                digest = hashlib.sha256(repr(rows).encode()).hexdigest()
                state[table] = (len(rows), digest)
                state[f"{table} indexes"] = sorted(
                    (i["name"] or "", tuple(i["column_names"]))
                    for i in inspector.get_indexes(table)
                )
            if self.backend == "postgresql":
                state["sequence"] = connection.exec_driver_sql(
                    "SELECT last_value, is_called FROM books_id_seq"
                ).one()
        if self.path is not None:
            state["file"] = hashlib.sha256(self.path.read_bytes()).hexdigest()
            state["files"] = sorted(p.name for p in self.path.parent.iterdir())
        return state


def _populate(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    day = dt.date(2000, 1, 1)
    with engine.begin() as connection:
        connection.execute(
            authors.insert(),
            [{"id": i, "name": f"author {i}"} for i in range(1, AUTHORS + 1)],
        )
        connection.execute(
            books.insert(),
            [
                {
                    "id": i,
                    "author_id": i % AUTHORS + 1,
                    "title": f"title {i}",
                    "year": 1900 + i % 120,
                    "published": day + dt.timedelta(days=i),
                }
                for i in range(1, BOOKS + 1)
            ],
        )
    with engine.connect() as connection:
        if engine.dialect.name == "mysql":
            connection.exec_driver_sql("ANALYZE TABLE authors, books").all()
        else:
            connection.exec_driver_sql("ANALYZE")
        connection.commit()


def _url_text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def postgres_app(postgres_url: sa.URL) -> Iterator[AppDb]:
    """The application database as a schema of the scratch PostgreSQL database."""
    schema = f"explain_{uuid.uuid4().hex[:10]}"
    owner = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = postgres_url.update_query_dict({"options": f"-csearch_path={schema}"})
    admin = sa.create_engine(url)
    try:
        _populate(admin)
        yield AppDb("postgresql", _url_text(url), admin)
    finally:
        admin.dispose()
        with owner.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        owner.dispose()


@pytest.fixture(scope="module")
def mysql_app(mysql_url: sa.URL) -> Iterator[AppDb]:
    """The application database as a database of its own on MariaDB/MySQL."""
    name = f"perfkit_explain_{uuid.uuid4().hex[:10]}"
    owner = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE `{name}`")
    url = mysql_url.set(database=name)
    admin = sa.create_engine(url)
    try:
        _populate(admin)
        yield AppDb("mysql", _url_text(url), admin)
    finally:
        admin.dispose()
        with owner.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        owner.dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[AppDb]:
    """The application database as a fresh SQLite file."""
    path = tmp_path / "app" / "app.db"
    path.parent.mkdir()
    admin = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    _populate(admin)
    try:
        yield AppDb("sqlite", f"sqlite:///{path}", admin, path)
    finally:
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def app_db(request: pytest.FixtureRequest) -> AppDb:
    """The same application database on each of the three servers."""
    fixture = {
        "sqlite": "sqlite_app",
        "postgresql": "postgres_app",
        "mysql": "mysql_app",
    }
    app: AppDb = request.getfixturevalue(fixture[request.param])
    return app
