"""Turn what a user passes as ``--db`` into an SQLAlchemy engine.

A plain path is a SQLite file; ``sqlite://`` alone is an in-memory database;
``postgresql://`` URLs use the psycopg 3 driver. Other databases are refused
with a message saying which ones work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from perfkit.errors import StoreError

#: Database backends the store supports, by SQLAlchemy dialect name.
SUPPORTED = ("sqlite", "postgresql")

_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}

# Bulk-load settings for SQLite: the write-ahead log lets readers work while a
# file is ingested, and NORMAL sync is safe with WAL (a power cut may lose the
# last transaction, never corrupt the file). A 16 MiB page cache holds the hot
# part of the unique index; more bought no measurable speed and cost memory.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-16384",
    "PRAGMA temp_store=MEMORY",
)


def resolve_url(db: str | os.PathLike[str] | sa.URL) -> sa.URL:
    """The SQLAlchemy URL for a store given as a path or a URL.

    Raises:
        StoreError: the URL cannot be parsed or names an unsupported database.
    """
    if isinstance(db, sa.URL):
        url = db
    elif isinstance(db, os.PathLike) or "://" not in db:
        return sa.URL.create("sqlite", database=os.fspath(db))
    else:
        try:
            url = sa.make_url(db)
        except (sa.exc.ArgumentError, ValueError) as error:
            raise StoreError(f"cannot parse the store URL {db!r}: {error}") from None

    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    if url.get_backend_name() not in SUPPORTED:
        raise StoreError(
            f"the span store cannot use {url.get_backend_name()!r} databases; "
            "give a SQLite file path or a postgresql:// URL"
        )
    return url


def create_engine(url: sa.URL) -> sa.Engine:
    """An engine for ``url``, with SQLite tuned for bulk loading.

    Raises:
        StoreError: the SQLite file's folder does not exist, or the driver for
            the URL is not installed.
    """
    if url.get_backend_name() == "sqlite":
        _check_sqlite_folder(url.database)
    try:
        engine = sa.create_engine(url)
    except ModuleNotFoundError as error:
        raise StoreError(
            f"the driver for {url.drivername} is not installed ({error.name}); "
            "install perfkit[postgres]"
        ) from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    return engine


def display_url(url: sa.URL) -> str:
    """The URL as text with any password hidden, for messages and logs."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _check_sqlite_folder(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().parent
    if not folder.is_dir():
        raise StoreError(
            f"cannot create the store {database}: folder {folder} does not exist"
        )


def _tune_sqlite(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
