"""The ingest pipeline: trace files in, a named run in the span store out.

Each file is streamed from its reader into the store a batch at a time, inside
one transaction: a file is stored whole or not at all. A bad file does not stop
the others; its outcome is a :class:`~perfkit.ingest.results.FileResult` with
the error, and :class:`IngestReport` gathers every file's outcome and the
totals. Parent links are checked only after every file is in, so the order of
files and lines does not matter.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from perfkit.errors import ConfigError, InputError, PerfkitError, StoreError
from perfkit.ingest import (
    expand_paths,
    is_trace_file,
    read_span_batches,
    sniff_format,
)
from perfkit.ingest.results import FileResult, ReadContext
from perfkit.store import Store, is_retryable, open_store
from perfkit.store.columnar import SPAN_KEY, SpanFrameBuilder

logger = logging.getLogger(__name__)

#: What ``paths`` arguments accept: one path or several.
PathsArg = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
#: What ``db`` arguments accept: an open store, a SQLite path or a URL.
DbArg = Store | str | os.PathLike[str] | sa.URL

DEFAULT_RUN = "default"
BATCH_SIZE = 20_000
#: Bytes of OTLP JSON Lines read into columns at a time when storing: ingest
#: streams, so it keeps its chunks smaller, on one worker thread, than a read
#: into memory does (the inserts, not the reading, set its pace).
INGEST_CHUNK_BYTES = 1 << 20


class IngestProgress(Protocol):
    """What the pipeline tells a progress display; the CLI draws a bar from it."""

    def start(self, files: Sequence[Path], total_bytes: int) -> None:
        """Reading is about to begin on these files."""

    def advance(self, path: Path, spans: int) -> None:
        """A batch of ``spans`` spans of ``path`` has been read."""

    def done(self, path: Path, result: FileResult) -> None:
        """``path`` is finished, stored or failed."""


@dataclass
class Inputs:
    """The files to read, found from the paths a user gave."""

    files: list[Path] = field(default_factory=list)
    #: Files inside given folders that are not trace data (READMEs, profiles).
    ignored: list[Path] = field(default_factory=list)
    #: Given paths that do not exist, as error results.
    missing: list[FileResult] = field(default_factory=list)


@dataclass
class _Totals:
    traces: set[object] = field(default_factory=set)
    services: set[object] = field(default_factory=set)
    endpoints: set[tuple[object, object]] = field(default_factory=set)

    def count(self, batch: pa.RecordBatch) -> None:
        self.traces.update(_distinct(batch, "trace_id"))
        self.services.update(_distinct(batch, "service_name"))
        # An endpoint belongs to a service: the same route in two is two.
        pairs = (
            pa.Table.from_batches([batch.select(["service_name", "endpoint"])])
            .group_by(["service_name", "endpoint"])
            .aggregate([])
        )
        self.endpoints.update(
            zip(
                pairs.column("service_name").to_pylist(),
                pairs.column("endpoint").to_pylist(),
                strict=True,
            )
        )

    def merge(self, other: _Totals) -> None:
        self.traces |= other.traces
        self.services |= other.services
        self.endpoints |= other.endpoints


def _distinct(batch: pa.RecordBatch, column: str) -> list[object]:
    values: list[object] = pc.unique(batch.column(column)).to_pylist()
    return values


@dataclass
class IngestReport:
    """What one ingest did: every file's outcome and the totals.

    ``spans`` counts spans newly stored and ``duplicates`` spans the run already
    held; ``traces``, ``services`` and ``endpoints`` (per service) count the
    distinct values among all spans read. ``orphans`` counts spans of the whole
    run whose parent is not in the run, checked after every file was stored.
    """

    run: str
    store: str
    files: list[FileResult]
    ignored: list[str] = field(default_factory=list)
    traces: int = 0
    services: int = 0
    endpoints: int = 0
    orphans: int = 0

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.files_failed == 0

    @property
    def files_ok(self) -> int:
        """Files stored."""
        return sum(result.ok for result in self.files)

    @property
    def files_failed(self) -> int:
        """Files that could not be stored."""
        return len(self.files) - self.files_ok

    @property
    def errors(self) -> list[FileResult]:
        """The results of the files that failed."""
        return [result for result in self.files if not result.ok]

    @property
    def spans(self) -> int:
        """Spans newly stored."""
        return sum(result.spans for result in self.files)

    @property
    def duplicates(self) -> int:
        """Spans read that the run already held."""
        return sum(result.duplicates for result in self.files)

    @property
    def skipped(self) -> Counter[str]:
        """Bad records skipped under ``skip_invalid``, by reason."""
        total: Counter[str] = Counter()
        for result in self.files:
            total.update(result.skipped)
        return total


def find_inputs(paths: PathsArg) -> Inputs:
    """The files to read from files and folders given by a user.

    A folder is searched recursively, in path order; files in it that are not
    trace data are set aside as ignored. A file named explicitly is always read,
    so one that is not trace data becomes an error, not a silent skip. A file
    reached twice is read once.
    """
    inputs = Inputs()
    seen: dict[Path, Path] = {}  # resolved path -> the path as found
    for raw in _given(paths):
        if not os.fspath(raw):
            # Path("") is the current folder, which would be read whole.
            error = InputError("''", "the path is empty", code="not_found")
            inputs.missing.append(FileResult.from_error(error))
            continue
        given = Path(raw)
        if os.fspath(raw) == "-" and not given.exists():
            error = InputError(
                "-",
                "traces are not read from standard input; save them to a file "
                "and give its path",
                code="not_found",
            )
            inputs.missing.append(FileResult.from_error(error))
            continue
        try:
            found = expand_paths([given])
        except InputError as error:
            inputs.missing.append(FileResult.from_error(error))
            continue
        in_folder = given.is_dir()
        for path in found:
            key = path.resolve()
            if key in seen:
                if not in_folder and seen[key] in inputs.ignored:
                    # Set aside from a folder, but now named: read it.
                    inputs.ignored.remove(seen[key])
                    inputs.files.append(path)
                continue
            seen[key] = path
            if in_folder and not is_trace_file(path):
                inputs.ignored.append(path)
            else:
                inputs.files.append(path)
    return inputs


def _require_input(inputs: Inputs, paths: PathsArg) -> None:
    if inputs.files or inputs.missing:
        return
    given = ", ".join(str(path) for path in _as_paths(paths)) or "nothing"
    n_ignored = len(inputs.ignored)
    ignored = (
        f" ({n_ignored} other file{'s' * (n_ignored != 1)} ignored)"
        if n_ignored
        else ""
    )
    raise InputError(
        given,
        f"no trace files found{ignored}; give trace files or folders",
        code="no_input",
    )


def ingest(
    paths: PathsArg,
    *,
    db: DbArg = "perfkit.db",
    run: str = DEFAULT_RUN,
    skip_invalid: bool = False,
    raise_on_error: bool = False,
    progress: IngestProgress | None = None,
    batch_size: int = BATCH_SIZE,
) -> IngestReport:
    """Read trace files into the span store as the run named ``run``.

    Args:
        paths: Trace files, or folders to search for them.
        db: The store: a :class:`~perfkit.store.Store`, a SQLite file path or
            an SQLAlchemy URL.
        run: The run's label; spans join the run if it exists already.
        skip_invalid: Skip bad records, counting them by reason, instead of
            rejecting the file they are in.
        raise_on_error: Raise the first file's error instead of recording it
            and going on with the next file.
        progress: Told of each file and batch, for a progress display.
        batch_size: Spans per batch read and inserted.

    Returns:
        Every file's outcome and the totals.

    Raises:
        StoreError: the store cannot be opened.
        InputError: a file is bad and ``raise_on_error`` is set.
    """
    if not run:
        raise ConfigError("the run label must not be empty; give --run LABEL")
    inputs = find_inputs(paths)
    _require_input(inputs, paths)
    if raise_on_error and inputs.missing:
        raise _missing(inputs.missing[0])
    store = open_store(db)
    try:
        report = _ingest_inputs(
            store, inputs, run, skip_invalid, raise_on_error, progress, batch_size
        )
    finally:
        if store is not db:
            store.close()
    return report


def read_files(
    paths: PathsArg,
    *,
    skip_invalid: bool = False,
    raise_on_error: bool = False,
    progress: IngestProgress | None = None,
    batch_size: int = BATCH_SIZE,
) -> tuple[pd.DataFrame, list[FileResult]]:
    """Read trace files straight into one span frame, with no store.

    Files are handled as :func:`ingest` handles them: a bad file contributes
    nothing and is reported in its result, and a span seen again (same trace,
    span id and kind) is kept once and counted as a duplicate.
    """
    inputs = find_inputs(paths)
    _require_input(inputs, paths)
    if raise_on_error and inputs.missing:
        raise _missing(inputs.missing[0])
    results = list(inputs.missing)
    builders: list[SpanFrameBuilder] = []
    if progress is not None:
        progress.start(inputs.files, _total_bytes(inputs.files))
    for path in inputs.files:
        builder = SpanFrameBuilder()
        result, error = _read_one(path, builder, skip_invalid, progress, batch_size)
        results.append(result)
        _finish_file(path, result, progress)
        if raise_on_error and error is not None:
            raise error
        if result.ok:
            builders.append(builder)
    return _merge_files(builders, [r for r in results if r.ok]), results


def _ingest_inputs(
    store: Store,
    inputs: Inputs,
    run: str,
    skip_invalid: bool,
    raise_on_error: bool,
    progress: IngestProgress | None,
    batch_size: int,
) -> IngestReport:
    report = IngestReport(
        run=run,
        store=store.location,
        files=list(inputs.missing),
        ignored=[str(path) for path in inputs.ignored],
    )
    totals = _Totals()
    if progress is not None:
        progress.start(inputs.files, _total_bytes(inputs.files))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as hasher:
        for path in inputs.files:
            result, error = _store_one(
                store, run, path, hasher, skip_invalid, totals, progress, batch_size
            )
            report.files.append(result)
            _finish_file(path, result, progress, run)
            if raise_on_error and error is not None:
                raise error

    report.traces = len(totals.traces)
    report.services = len(totals.services - {None})
    report.endpoints = sum(endpoint is not None for _, endpoint in totals.endpoints)
    # Parents are resolved over the whole run, once every file is in.
    if report.files_ok and store.has_run(run):
        report.orphans = store.count_orphans(run)
    return report


def _store_one(
    store: Store,
    run: str,
    path: Path,
    hasher: ThreadPoolExecutor,
    skip_invalid: bool,
    totals: _Totals,
    progress: IngestProgress | None,
    batch_size: int,
) -> tuple[FileResult, PerfkitError | None]:
    size = _size(path)
    ctx = ReadContext(str(path), skip_invalid=skip_invalid)
    file_totals = _Totals()
    # The hash is computed on another core while this one parses.
    digest: Future[str] = hasher.submit(_sha256, path)
    try:
        fmt = sniff_format(path)
        with (
            _gc_paused(),
            store.writer(run, path=str(path), size=size, format=fmt) as writer,
        ):
            for batch in read_span_batches(
                path,
                ctx,
                batch_size=batch_size,
                format=fmt,
                chunk_bytes=INGEST_CHUNK_BYTES,
                workers=1,
            ):
                writer.add(batch)
                file_totals.count(batch)
                if progress is not None:
                    progress.advance(path, batch.num_rows)
            writer.sha256 = digest.result()
    except InputError as error:
        return FileResult.from_error(error, size=size), error
    except StoreError as error:
        failed = FileResult(
            path=str(path),
            status="error",
            bytes=size,
            error_code="store_error",
            message=str(error),
            retryable=is_retryable(error),
        )
        return failed, error
    finally:
        digest.cancel()

    totals.merge(file_totals)
    stored = FileResult(
        path=str(path),
        status="ok",
        format=fmt,
        spans=writer.inserted,
        traces=len(file_totals.traces),
        duplicates=writer.duplicates,
        skipped=dict(ctx.skipped),
        bytes=size,
    )
    return stored, None


def _read_one(
    path: Path,
    builder: SpanFrameBuilder,
    skip_invalid: bool,
    progress: IngestProgress | None,
    batch_size: int,
) -> tuple[FileResult, InputError | None]:
    size = _size(path)
    ctx = ReadContext(str(path), skip_invalid=skip_invalid)
    traces: set[object] = set()
    try:
        fmt = sniff_format(path)
        with _gc_paused():
            for batch in read_span_batches(
                path, ctx, batch_size=batch_size, format=fmt
            ):
                builder.add_batch(batch)
                traces.update(_distinct(batch, "trace_id"))
                if progress is not None:
                    progress.advance(path, batch.num_rows)
    except InputError as error:
        return FileResult.from_error(error, size=size), error
    read = FileResult(
        path=str(path),
        status="ok",
        format=fmt,
        spans=builder.rows,
        traces=len(traces),
        skipped=dict(ctx.skipped),
        bytes=size,
    )
    return read, None


def _merge_files(
    builders: list[SpanFrameBuilder], results: list[FileResult]
) -> pd.DataFrame:
    merged = SpanFrameBuilder()
    for builder in builders:
        merged.extend(builder)
    frame = merged.frame()

    # Keep the first of each (trace, span, kind), as the store does, and
    # charge each later copy to the file it came from.
    repeated = frame.duplicated(subset=SPAN_KEY, keep="first").to_numpy()
    if not repeated.any():
        return frame
    start = 0
    for builder, result in zip(builders, results, strict=True):
        result.duplicates = int(repeated[start : start + builder.rows].sum())
        result.spans -= result.duplicates
        start += builder.rows
    return frame.loc[~repeated].reset_index(drop=True)


def _finish_file(
    path: Path,
    result: FileResult,
    progress: IngestProgress | None,
    run: str | None = None,
) -> None:
    if result.ok and run is not None:
        logger.info(
            "ingested %s into run %r: %d spans stored, %d duplicates, %d skipped",
            path,
            run,
            result.spans,
            result.duplicates,
            result.skipped_total,
        )
    elif not result.ok:
        # INFO, not WARNING: the failure is in the result handed back, and the
        # caller decides how loud to be about it.
        logger.info(
            "could not read %s%s: %s",
            path,
            f", {result.position}" if result.position else "",
            result.message,
        )
    if progress is not None:
        progress.done(path, result)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Reading makes millions of tuples and no reference cycles; the cyclic
    # collector would otherwise rescan them over and over (about a quarter of
    # the time of a large read).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _missing(result: FileResult) -> InputError:
    return InputError(
        result.path, result.message or "no such file or folder", code="not_found"
    )


def _as_paths(paths: PathsArg) -> list[Path]:
    return [Path(path) for path in _given(paths)]


def _given(paths: PathsArg) -> list[str | os.PathLike[str]]:
    if isinstance(paths, str | os.PathLike):
        return [paths]
    return list(paths)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _total_bytes(paths: Sequence[Path]) -> int:
    return sum(_size(path) for path in paths)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise InputError(
            str(path), f"cannot read the file: {error.strerror}", code="unreadable"
        ) from None
    return digest.hexdigest()
