"""The span store: named runs of spans in SQLite or PostgreSQL.

Spans go in as row tuples straight through the database driver, a batch at a
time, never as one ORM object per span (see :mod:`perfkit.store.writer`); each
file is written inside one transaction, so a file is stored whole or not at
all. Reading a run back decompresses the Arrow batches stored beside the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from perfkit.errors import ConfigError, StoreError
from perfkit.ingest.schema import SpanRow
from perfkit.store import migrate
from perfkit.store._engine import create_engine, display_url, resolve_url
from perfkit.store.columnar import SpanFrameBuilder, decode, drop_repeated
from perfkit.store.tables import files, runs, span_batches
from perfkit.store.writer import InsertCounts, SpanWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """A run held in the store: its label, when it began, and what it holds."""

    label: str
    created_at: dt.datetime
    files: int
    spans: int


@dataclass(frozen=True)
class SourceFile:
    """A file a stored run was built from, as recorded when it was ingested."""

    path: str
    sha256: str
    size: int
    format: str | None
    spans: int
    ingested_at: dt.datetime


class Store:
    """A span store in a SQLite file or a PostgreSQL database.

    Opening a store creates its tables, or migrates them to this perfkit's
    schema, through the packaged Alembic migrations.

    Args:
        db: A SQLite file path, or an SQLAlchemy URL: ``sqlite://`` for an
            in-memory store, ``postgresql://user@host/dbname`` for PostgreSQL.
        migrate: Bring the schema up to date on open (the default).

    Raises:
        StoreError: the database cannot be reached, created or migrated.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | sa.URL = "perfkit.db",
        *,
        migrate: bool = True,
    ) -> None:
        self.url = resolve_url(db)
        self.engine = create_engine(self.url)
        if migrate:
            try:
                self._migrate()
            except StoreError:
                self.engine.dispose()
                raise

    def __repr__(self) -> str:
        return f"Store({display_url(self.url)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def location(self) -> str:
        """Where the store is, for messages: a file path or a URL without password."""
        return display_url(self.url)

    @property
    def dialect(self) -> str:
        """The database in use: ``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def runs(self) -> list[RunInfo]:
        """Every run in the store, oldest first."""
        query = (
            sa.select(
                runs.c.label,
                runs.c.created_at,
                sa.func.count(files.c.id),
                sa.func.coalesce(sa.func.sum(files.c.spans), 0),
            )
            .select_from(runs.outerjoin(files, files.c.run_id == runs.c.id))
            .group_by(runs.c.id, runs.c.label, runs.c.created_at)
            .order_by(runs.c.created_at, runs.c.id)
        )
        with self._connect("list the runs") as connection:
            rows = connection.execute(query).all()
        return [
            RunInfo(label, _utc(created), int(n_files), int(n_spans))
            for label, created, n_files, n_spans in rows
        ]

    def has_run(self, label: str) -> bool:
        """Whether the store holds a run named ``label``."""
        with self._connect("look up a run") as connection:
            return _run_id(connection, label) is not None

    @contextmanager
    def writer(
        self, run: str, *, path: str, size: int = 0, format: str | None = None
    ) -> Iterator[SpanWriter]:
        """Write one file's spans into ``run`` in a single transaction.

        The run is created if it is new. Leaving the block normally commits;
        an exception rolls back everything written for this file, the run's
        creation included, and propagates.

        Raises:
            StoreError: the database refuses the write.
        """
        if not run:
            raise ConfigError("the run label must not be empty; give --run LABEL")
        with self._transaction(f"store the spans of {path}") as connection:
            run_id = self._ensure_run(connection, run)
            inserted = connection.execute(
                files.insert().values(
                    run_id=run_id,
                    path=path,
                    sha256="",
                    size=size,
                    format=format,
                    spans=0,
                    ingested_at=dt.datetime.now(dt.UTC),
                )
            )
            file_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            writer = SpanWriter(connection, run_id, file_id)
            try:
                yield writer
                writer.flush()
            finally:
                writer.close()
            _record_file(connection, run_id, file_id, path, writer)

    def add_spans(
        self,
        run: str,
        batches: Iterable[Sequence[SpanRow]],
        *,
        path: str,
        sha256: str = "",
        size: int = 0,
        format: str | None = None,
    ) -> InsertCounts:
        """Store one file's spans, given as batches of row tuples, all or nothing.

        ``batches`` may be a reader's generator: an exception it raises rolls
        back the whole file and propagates.

        Returns:
            The rows stored and the rows the run already held.
        """
        with self.writer(run, path=path, size=size, format=format) as writer:
            for batch in batches:
                writer.add(batch)
            writer.sha256 = sha256
        return InsertCounts(writer.inserted, writer.duplicates)

    def read_spans(self, run: str) -> pd.DataFrame:
        """The spans of ``run`` as a frame, in the order they were stored.

        The frame has the columns and dtypes of
        :func:`~perfkit.ingest.schema.rows_to_frame`. It is built from the
        run's Arrow batches; a span that more than one file held is kept once,
        from the file stored first, just as the ``spans`` table keeps it.

        Raises:
            StoreError: the store holds no run of that name.
        """
        builder = SpanFrameBuilder()
        with self._connect(f"read run {run!r}") as connection:
            run_id = self._require_run(connection, run)
            stored = connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(files.c.spans), 0)).where(
                    files.c.run_id == run_id
                )
            ).scalar_one()
            blocks = connection.execution_options(stream_results=True).execute(
                sa.select(span_batches.c.data)
                .where(span_batches.c.run_id == run_id)
                .order_by(span_batches.c.id)
            )
            for (data,) in blocks:
                for batch in decode(data):
                    builder.add_batch(batch)
        frame = builder.frame()
        return frame if builder.rows == stored else drop_repeated(frame)

    def sources(self, run: str) -> list[SourceFile]:
        """The files ``run`` was built from, in the order they were ingested.

        Raises:
            StoreError: the store holds no run of that name.
        """
        query = sa.select(
            files.c.path,
            files.c.sha256,
            files.c.size,
            files.c.format,
            files.c.spans,
            files.c.ingested_at,
        ).order_by(files.c.id)
        with self._connect(f"read run {run!r}") as connection:
            run_id = self._require_run(connection, run)
            rows = connection.execute(query.where(files.c.run_id == run_id)).all()
        return [
            SourceFile(path, sha, int(size), fmt, int(n), _utc(at))
            for path, sha, size, fmt, n, at in rows
        ]

    def count_orphans(self, run: str) -> int:
        """Spans of ``run`` whose parent span is not in the same trace of the run.

        A parent id matching any span of the trace counts as present, whatever
        that span's kind (Zipkin shares one id between client and server).
        """
        sql = sa.text(
            "SELECT count(*) FROM spans s"
            " WHERE s.run_id = :run_id AND s.parent_span_id IS NOT NULL"
            " AND s.parent_span_id <> ''"
            " AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.run_id = s.run_id"
            " AND p.trace_id = s.trace_id AND p.span_id = s.parent_span_id)"
        )
        with self._connect(f"count the orphans of run {run!r}") as connection:
            run_id = self._require_run(connection, run)
            return int(connection.execute(sql, {"run_id": run_id}).scalar_one())

    def delete_run(self, label: str) -> bool:
        """Delete a run and everything it holds; False when there was no such run."""
        with self._transaction(f"delete run {label!r}") as connection:
            run_id = _run_id(connection, label)
            if run_id is None:
                return False
            for table in ("spans", "span_batches", "files"):
                connection.execute(
                    sa.text(f"DELETE FROM {table} WHERE run_id = :id"), {"id": run_id}
                )
            connection.execute(runs.delete().where(runs.c.id == run_id))
        logger.info("deleted run %r from %s", label, self.location)
        return True

    def _migrate(self) -> None:
        try:
            migrate.upgrade(self.engine)
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as error:
            raise StoreError(
                f"cannot open the store {self.location}: {_reason(error)}"
            ) from error

    @property
    def _dbapi_error(self) -> type[Exception]:
        error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        return error

    @contextmanager
    def _connect(self, action: str) -> Iterator[sa.Connection]:
        with self._errors_as_store_errors(action), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sa.Connection]:
        with self._errors_as_store_errors(action), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _errors_as_store_errors(self, action: str) -> Iterator[None]:
        """Database errors while doing ``action`` become one StoreError."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, self._dbapi_error) as error:
            raise StoreError(
                f"cannot {action} in {self.location}: {_reason(error)}"
            ) from error

    def _ensure_run(self, connection: sa.Connection, label: str) -> int:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        connection.execute(
            insert(runs)
            .values(label=label, created_at=dt.datetime.now(dt.UTC))
            .on_conflict_do_nothing(index_elements=["label"])
        )
        run_id = _run_id(connection, label)
        assert run_id is not None
        return run_id

    def _require_run(self, connection: sa.Connection, label: str) -> int:
        run_id = _run_id(connection, label)
        if run_id is None:
            labels = connection.execute(sa.select(runs.c.label)).scalars().all()
            known = ", ".join(sorted(labels)) or "none yet; ingest some traces first"
            raise StoreError(
                f"the store {self.location} holds no run named {label!r} "
                f"(runs: {known})"
            )
        return run_id


def is_retryable(error: BaseException) -> bool:
    """Whether a store error came from a passing condition worth retrying.

    A locked SQLite file or a dropped server connection may clear; a constraint
    or a schema problem will not.
    """
    cause = error.__cause__
    if isinstance(cause, sa.exc.DBAPIError):
        cause = cause.orig
    return type(cause).__name__ == "OperationalError"


def _run_id(connection: sa.Connection, label: str) -> int | None:
    found = connection.execute(
        sa.select(runs.c.id).where(runs.c.label == label)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _record_file(
    connection: sa.Connection, run_id: int, file_id: int, path: str, writer: SpanWriter
) -> None:
    # A file ingested again that adds nothing leaves no second record.
    if writer.inserted == 0:
        same = connection.execute(
            sa.select(files.c.id).where(
                files.c.run_id == run_id,
                files.c.path == path,
                files.c.sha256 == writer.sha256,
                files.c.id != file_id,
            )
        ).first()
        if same is not None:
            connection.execute(
                span_batches.delete().where(span_batches.c.file_id == file_id)
            )
            connection.execute(files.delete().where(files.c.id == file_id))
            return
    connection.execute(
        files.update()
        .where(files.c.id == file_id)
        .values(sha256=writer.sha256, spans=writer.inserted)
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _reason(error: BaseException) -> str:
    if isinstance(error, sa.exc.DBAPIError):
        error = error.orig  # type: ignore[assignment]
    return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
