"""Connecting to the application database safely, and reading its schema.

perfkit picks the driver itself (psycopg for PostgreSQL, PyMySQL for MySQL and
MariaDB, the standard library for SQLite): the read-only guarantees in the
dialect modules rely on how those drivers send a statement. Connections are
never pooled; each EXPLAIN opens one and closes it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError
from sqlalchemy.pool import NullPool

from perfkit.analysis.sqlinfo import neutral_literal
from perfkit.errors import AppDatabaseError

logger = logging.getLogger(__name__)

_BACKENDS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mariadb",
}
_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_CONNECT_TIMEOUT_S = 5
_SECRET_QUERY = re.compile(
    r"([?&](?:[^=&]*(?:pass|secret|token|key)[^=&]*)=)[^&]*", re.IGNORECASE
)
_USERINFO = re.compile(r"(://[^:/@]*:)[^@/]*@")


def mask_url(url: str | URL) -> str:
    """The URL with its password and secret-looking query values as ``***``."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        text = make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        text = _USERINFO.sub(r"\1***@", text)
    return _SECRET_QUERY.sub(r"\1***", text)


def as_url(app_db: str) -> str:
    """The application database as a URL: a plain file path is a SQLite file.

    Raises:
        AppDatabaseError: A path that is not an existing file.
    """
    if "://" in app_db:
        return app_db
    path = Path(app_db)
    if not path.is_file():
        raise AppDatabaseError(
            f"--app-db {app_db!r}: no such SQLite file; give the application "
            "database's file, or a URL such as postgresql://user@127.0.0.1/shop"
        )
    return f"sqlite:///{path.resolve()}"


def parse_url(app_db_url: str) -> tuple[URL, str]:
    """The URL with perfkit's driver, and the backend name.

    ``app_db_url`` may also be the path of a SQLite file (see :func:`as_url`).

    Raises:
        AppDatabaseError: The URL does not parse or names another database.
    """
    app_db_url = as_url(app_db_url)
    try:
        url = make_url(app_db_url)
    except (ArgumentError, ValueError):
        raise AppDatabaseError(
            f"--app-db {mask_url(app_db_url)!r} is not a database URL; use e.g. "
            "sqlite:///app.db or postgresql://user@host/dbname"
        ) from None
    backend = _BACKENDS.get(url.get_backend_name())
    if backend is None:
        raise AppDatabaseError(
            f"--app-db {mask_url(url)}: perfkit can EXPLAIN on SQLite, PostgreSQL, "
            f"MySQL and MariaDB, not {url.get_backend_name()}"
        )
    if backend in _DRIVERS:
        url = url.set(drivername=f"{backend}+{_DRIVERS[backend]}")
    return url, backend


def open_engine(url: URL, backend: str, timeout_ms: int) -> sa.Engine:
    """An unpooled engine for the application database.

    Raises:
        AppDatabaseError: The driver is missing or the SQLite file does not exist.
    """
    if backend == "sqlite":
        return _sqlite_engine(url)
    connect_args: dict[str, object] = {"connect_timeout": _CONNECT_TIMEOUT_S}
    if backend == "postgresql":
        connect_args["application_name"] = "perfkit-explain"
    else:
        # No MULTI_STATEMENTS flag: the server refuses a second statement.
        connect_args["client_flag"] = 0
        connect_args["read_timeout"] = _CONNECT_TIMEOUT_S + timeout_ms // 1000 * 2
    try:
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, NoSuchModuleError) as error:
        raise AppDatabaseError(
            f"--app-db {mask_url(url)}: the {_DRIVERS[backend]} driver is not "
            f"installed; install perfkit[{_EXTRAS[backend]}] ({error})"
        ) from None


def _sqlite_engine(url: URL) -> sa.Engine:
    if not url.database or url.database == ":memory:":
        raise AppDatabaseError(
            f"--app-db {mask_url(url)}: give the application's SQLite file, "
            "e.g. sqlite:///path/to/app.db"
        )
    path = Path(url.database).resolve()
    if not path.is_file():
        raise AppDatabaseError(f"--app-db {mask_url(url)}: no such file {path}")
    # mode=ro: SQLite itself refuses to write, whatever is executed.
    uri = f"file:{quote(str(path))}?mode=ro"
    if _wal_without_writer(path):
        # A read-only reader of a WAL database would leave empty -wal and -shm
        # files beside it; with no writer around, immutable reads need none.
        uri += "&immutable=1"
    return sa.create_engine(
        "sqlite://",
        poolclass=NullPool,
        creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
    )


def _wal_without_writer(path: Path) -> bool:
    with path.open("rb") as file:
        header = file.read(20)
    # Bytes 18 and 19 of the header are 2 in WAL mode.
    in_wal_mode = len(header) == 20 and header[18] == 2
    return in_wal_mode and not path.with_name(path.name + "-wal").exists()


def connect(engine: sa.Engine, app_db_url: str) -> sa.Connection:
    """Open a connection, turning every failure into :class:`AppDatabaseError`.

    Args:
        engine: From :func:`open_engine`.
        app_db_url: The URL as the user gave it, shown masked in the message.
    """
    try:
        return engine.connect()
    except sa.exc.DBAPIError as error:
        raise AppDatabaseError(
            f"cannot connect to the application database at {mask_url(app_db_url)}:"
            f" {driver_message(error, engine.url)}; check --app-db"
        ) from None


def driver_message(error: BaseException, url: URL | None = None) -> str:
    """The first line of a driver's error, password removed, safe to print.

    Database errors can quote the statement, which came from a trace: control
    characters are escaped so the text cannot rewrite a terminal line.
    """
    orig = getattr(error, "orig", None) or error
    message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if url is not None and url.password:
        message = message.replace(str(url.password), "***")
    printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return printable[:300]


@dataclass
class TableInfo:
    """What perfkit needs to know about one table of the application database."""

    name: str
    #: Column name as the database spells it -> neutral literal of its type.
    literals: dict[str, str] = field(default_factory=dict)
    #: Column lists of the indexes, primary key and unique constraints.
    indexes: list[list[str]] = field(default_factory=list)
    #: Columns MySQL can index only by a prefix (TEXT, BLOB).
    prefix_only: set[str] = field(default_factory=set)

    def column(self, name: str) -> str | None:
        """The database's spelling of a column name, matched case-insensitively."""
        if name in self.literals:
            return name
        folded = {column.lower(): column for column in self.literals}
        return folded.get(name.lower())


def read_tables(connection: sa.Connection, tables: set[str]) -> dict[str, TableInfo]:
    """Columns, literals and indexes of the named tables that exist."""
    inspector = sa.inspect(connection)
    found: dict[str, TableInfo] = {}
    for table in sorted(tables):
        try:
            found[table] = _read_table(connection, inspector, table)
        except NoSuchTableError:
            logger.debug("table %s is not in the application database", table)
    return found


def _read_table(
    connection: sa.Connection, inspector: sa.Inspector, table: str
) -> TableInfo:
    info = TableInfo(table)
    dialect_name = connection.dialect.name
    for column in inspector.get_columns(table):
        column_type = column["type"]
        info.literals[column["name"]] = _literal(column_type, connection.dialect)
        if dialect_name in ("mysql", "mariadb") and isinstance(
            column_type, sa.Text | sa.LargeBinary
        ):
            info.prefix_only.add(column["name"])
    primary = inspector.get_pk_constraint(table).get("constrained_columns") or []
    info.indexes.append(list(primary))
    for index in inspector.get_indexes(table):
        info.indexes.append([c for c in index["column_names"] if c is not None])
    for unique in inspector.get_unique_constraints(table):
        info.indexes.append(list(unique["column_names"]))
    return info


def _literal(column_type: sa.types.TypeEngine[object], dialect: sa.Dialect) -> str:
    if isinstance(column_type, sa.Enum) and column_type.enums:
        return "'" + column_type.enums[0].replace("'", "''") + "'"
    try:
        type_name = column_type.compile(dialect=dialect)
    except Exception:  # a reflected type without a name in this dialect
        type_name = type(column_type).__name__
    return neutral_literal(type_name, dialect.name)
