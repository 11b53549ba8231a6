"""Turn what a user passes as ``--db`` into an SQLAlchemy engine.

A plain path is a SQLite file; ``sqlite://`` alone is an in-memory database;
``postgresql://`` URLs use the psycopg 3 driver. Other databases are refused
with a message saying which ones work.
"""

from __future__ import annotations

import os
import re
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

#: Seconds a SQLite write waits for another process's write to finish. An
#: ingest holds the lock while it stores one file, which can take a minute for
#: a big one; the driver's default of 5 s made a second ingest fail instead.
SQLITE_BUSY_TIMEOUT = 300.0


def resolve_url(db: str | os.PathLike[str] | sa.URL) -> sa.URL:
    """The SQLAlchemy URL for a store given as a path or a URL.

    Raises:
        StoreError: the URL cannot be parsed or names an unsupported database.
    """
    if isinstance(db, sa.URL):
        url = db
    elif isinstance(db, os.PathLike) or "://" not in db:
        if not os.fspath(db):
            raise StoreError(
                "the store must not be empty; give a SQLite file path or a "
                "postgresql:// URL (sqlite:// for a store in memory)"
            )
        if isinstance(db, str) and _LIBPQ_DSN.fullmatch(db):
            raise StoreError(
                f"{hide_password(db)!r} looks like a PostgreSQL keyword connection "
                "string; give the store as a URL: postgresql://user@host/dbname"
            )
        return sa.URL.create("sqlite", database=os.fspath(db))
    else:
        try:
            url = sa.make_url(db)
        except (sa.exc.ArgumentError, ValueError) as error:
            text = hide_password(db)
            raise StoreError(f"cannot parse the store URL {text!r}: {error}") from None

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
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite" and "timeout" not in url.query:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
    try:
        engine = sa.create_engine(url, **options)
    except ModuleNotFoundError as error:
        raise StoreError(
            f"the driver for {url.drivername} is not installed ({error.name}); "
            "install perfkit[postgres]"
        ) from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    return engine


def display_url(url: sa.URL) -> str:
    """The URL as text with any password hidden, for messages and logs.

    A password given in the query (``?password=...``, as libpq allows) is
    hidden too.
    """
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return hide_password(url.render_as_string(hide_password=True))


def hide_password(text: str) -> str:
    """A store URL or connection string as given, with its passwords hidden.

    For text that may not parse as a URL: everything between ``scheme://user:``
    and the last ``@`` is hidden, and so is every ``password=`` value.
    """
    text = _URL_PASSWORD.sub(r"\g<1>***@", text)
    return _KEY_PASSWORD.sub(r"\g<1>***", text)


# The password of a URL, up to the last "@" (an unquoted password may hold
# one), and a password given as a query key or connection-string keyword.
_URL_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
_KEY_PASSWORD = re.compile(
    r"(\b(?:ssl)?password\s*=\s*)(?:'[^']*'|[^&\s]*)", re.IGNORECASE
)
# A libpq keyword/value connection string: "host=db user=me dbname=traces",
# nothing but key=value pairs, one of them a libpq keyword.
_LIBPQ_DSN = re.compile(
    r"(?=.*\b(?:host|hostaddr|port|dbname|user|password|service)\s*=)"
    r"\s*(?:\w+\s*=\s*(?:'[^']*'|\S+)\s*)+",
    re.IGNORECASE,
)


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
