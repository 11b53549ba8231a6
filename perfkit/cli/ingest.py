"""``perfkit ingest``: read trace files into the span store as a named run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from perfkit.cli._common import (
    console,
    err_console,
    handle_errors,
    json_logs,
    store_options,
)
from perfkit.ingest.results import FileResult
from perfkit.ingest_pipeline import DEFAULT_RUN, IngestProgress, IngestReport
from perfkit.ingest_pipeline import ingest as ingest_files

logger = logging.getLogger(__name__)

#: Ignored files listed by name when there are at most this many.
_LIST_IGNORED = 10


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(), metavar="PATH...")
@store_options
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Skip bad records, counting them by reason, and store the rest of the "
    "file (default: a bad record rejects its whole file).",
)
def ingest(
    paths: tuple[str, ...], db_url: str, run_label: str | None, skip_invalid: bool
) -> None:
    """Read trace files into the span store as a named run.

    PATH is a trace file (OTLP JSON or protobuf, Jaeger or Zipkin JSON, maybe
    gzip- or zstd-compressed) or a folder to search for them. Each file is
    stored whole or not at all; storing a file again adds nothing and counts
    its spans as duplicates. Exits with 2 when any file could not be stored.
    """
    run = DEFAULT_RUN if run_label is None else run_label
    with handle_errors():
        if _show_progress():
            with _ProgressBar() as bar:
                report = ingest_files(
                    paths, db=db_url, run=run, skip_invalid=skip_invalid, progress=bar
                )
        else:
            report = ingest_files(paths, db=db_url, run=run, skip_invalid=skip_invalid)
    _print_report(report)
    raise SystemExit(0 if report.ok else 2)


def _show_progress() -> bool:
    # Per-file log lines already show progress at -v, and would break the bar;
    # JSON logs promise that every stderr line is a JSON object.
    verbose = logging.getLogger("perfkit").isEnabledFor(logging.INFO)
    return err_console.is_terminal and not verbose and not json_logs()


class _ProgressBar(IngestProgress):
    """A rich progress bar on stderr over the bytes and files to ingest."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            TextColumn("{task.fields[spans]:,} spans"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._spans = 0
        self._files = 0

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def start(self, files: Sequence[Path], total_bytes: int) -> None:
        self._task = self._progress.add_task(
            "ingesting", total=total_bytes, files=0, total_files=len(files), spans=0
        )

    def advance(self, path: Path, spans: int) -> None:
        self._spans += spans
        self._update(description=escape(path.name), spans=self._spans)

    def done(self, path: Path, result: FileResult) -> None:
        self._files += 1
        self._update(files=self._files, advance=result.bytes or _size(path))

    def _update(self, **fields: object) -> None:
        if self._task is not None:
            self._progress.update(self._task, **fields)  # type: ignore[arg-type]


def _print_report(report: IngestReport) -> None:
    console.print(
        f"run [bold]{escape(report.run)}[/] in {escape(report.store)}", soft_wrap=True
    )
    console.print(_summary_table(report))
    if report.skipped:
        console.print(_skipped_table(report))
    if report.ignored:
        _print_ignored(report.ignored)
    for result in report.errors:
        _print_error(result)


def _summary_table(report: IngestReport) -> Table:
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    files = f"{report.files_ok:,} stored"
    if report.files_failed:
        files += f", [red]{report.files_failed:,} failed[/]"
    if report.ignored:
        files += f", {len(report.ignored):,} ignored"
    rows = [
        ("files", files),
        ("spans", f"{report.spans:,} stored"),
        ("traces", f"{report.traces:,}"),
        ("services", f"{report.services:,}"),
        ("endpoints", f"{report.endpoints:,}"),
        ("skipped", f"{report.skipped.total():,}"),
        ("duplicates", f"{report.duplicates:,}"),
        ("orphans", f"{report.orphans:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _skipped_table(report: IngestReport) -> Table:
    table = Table(title="skipped records", title_justify="left")
    table.add_column("reason")
    table.add_column("records", justify="right")
    for reason, count in report.skipped.most_common():
        table.add_row(escape(reason), f"{count:,}")
    return table


def _print_ignored(ignored: list[str]) -> None:
    verbose = logging.getLogger("perfkit").isEnabledFor(logging.INFO)
    verb = "is" if len(ignored) == 1 else "are"
    message = f"ignored {_count(len(ignored), 'file')} that {verb} not traces"
    if len(ignored) <= _LIST_IGNORED or verbose:
        message += f": {', '.join(ignored)}"
    else:
        message += " (-v lists them)"
    if json_logs():
        logger.warning("%s", message)
    else:
        err_console.print(f"[dim]{escape(message)}[/]", soft_wrap=True)


def _print_error(result: FileResult) -> None:
    where = f"{result.path}, {result.position}" if result.position else result.path
    retry = "retrying may help" if result.retryable else "retrying will not help"
    if json_logs():
        logger.error("%s: %s (%s; %s)", where, result.message, result.error_code, retry)
        return
    err_console.print(
        f"[bold red]perfkit: error:[/] {escape(where)}: {escape(result.message or '')}"
        f" [dim]({result.error_code}; {retry})[/]",
        soft_wrap=True,
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
