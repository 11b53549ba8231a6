"""The Python entry points: load trace files or a stored run as a :class:`Run`.

>>> run = perfkit.load("traces/")                       # straight from files
>>> run = perfkit.load("traces/", db="perfkit.db", run="baseline")  # and keep them
>>> run = perfkit.open_run("perfkit.db", "baseline")    # read a stored run back
"""

from __future__ import annotations

import logging

from perfkit.errors import ConfigError, InputError, PerfkitError, StoreError
from perfkit.ingest.results import FileResult
from perfkit.ingest_pipeline import DEFAULT_RUN, DbArg, PathsArg, ingest, read_files
from perfkit.run import Run
from perfkit.store import Store, open_store

logger = logging.getLogger(__name__)


def load(
    paths: PathsArg,
    *,
    db: DbArg | None = None,
    run: str | None = None,
    skip_invalid: bool = False,
    raise_on_error: bool = False,
) -> Run:
    """Read trace files into a :class:`Run`.

    With no ``db`` the files are read straight into the run's frame and nothing
    is stored. With ``db`` they are ingested into that store first and the run
    is read back from it, together with anything the run already held there.

    A bad file does not stop the others: it is logged as a warning and listed
    in ``Run.errors``. Only when no file could be read at all is the first
    error raised, since there is then nothing to return.

    Args:
        paths: Trace files, or folders to search for them.
        db: A store to keep the spans in: a SQLite path, a URL or a Store.
        run: The run's label (default ``"default"``).
        skip_invalid: Skip bad records instead of rejecting their file.
        raise_on_error: Raise the first bad file's error straight away.

    Raises:
        ConfigError: ``run`` is an empty string.
        InputError: every file failed, or one did and ``raise_on_error`` is set.
        StoreError: the store cannot be opened or read.
    """
    label = DEFAULT_RUN if run is None else run
    if not label:
        raise ConfigError("the run label must not be empty")
    if db is None:
        spans, results = read_files(
            paths, skip_invalid=skip_invalid, raise_on_error=raise_on_error
        )
        _raise_if_nothing_read(results)
        sources = tuple(result.path for result in results if result.ok)
        return Run(label, spans, sources, tuple(results))

    store = open_store(db)
    try:
        report = ingest(
            paths,
            db=store,
            run=label,
            skip_invalid=skip_invalid,
            raise_on_error=raise_on_error,
        )
        _raise_if_nothing_read(report.files)
        stored = _read_run(store, label)
    finally:
        if store is not db:
            store.close()
    stored.results = tuple(report.files)
    return stored


def open_run(db: DbArg, label: str = DEFAULT_RUN) -> Run:
    """The run named ``label`` from a store, read back as a :class:`Run`.

    Raises:
        StoreError: the store cannot be opened or holds no such run.
    """
    store = open_store(db)
    try:
        return _read_run(store, label)
    finally:
        if store is not db:
            store.close()


def _read_run(store: Store, label: str) -> Run:
    spans = store.read_spans(label)
    sources = tuple(dict.fromkeys(source.path for source in store.sources(label)))
    return Run(label, spans, sources)


def _raise_if_nothing_read(results: list[FileResult]) -> None:
    failed = [result for result in results if not result.ok]
    if failed and len(failed) == len(results):
        raise _error_of(failed[0])
    if failed:
        first = failed[0]
        logger.warning(
            "%d of %d files could not be read and were left out (see Run.errors); "
            "the first: %s: %s",
            len(failed),
            len(results),
            first.path,
            first.message,
        )


def _error_of(result: FileResult) -> PerfkitError:
    if result.error_code == "store_error":
        return StoreError(result.message or "the store refused the file")
    return InputError(
        result.path,
        result.message or "unreadable",
        position=result.position,
        code=result.error_code or "invalid",
        retryable=result.retryable,
    )
