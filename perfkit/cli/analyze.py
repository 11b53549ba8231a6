"""``perfkit analyze``: find the slowest endpoints of a run and what slows them."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource
from rich.markup import escape

from perfkit.cli._common import (
    console,
    err_console,
    handle_errors,
    json_logs,
    store_options,
)
from perfkit.errors import InputError, StoreError
from perfkit.ingest.schema import KIND_SERVER
from perfkit.reports import (
    RENDERERS,
    TextRenderer,
    check_targets,
    mask_urls_in,
    renderer_for,
    report_targets,
    write_report,
)

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis
    from perfkit.run import Run

logger = logging.getLogger(__name__)

#: Exit code when the inputs hold no request to analyse.
EXIT_NO_DATA = 3


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@store_options
@click.option(
    "--app-db",
    metavar="URL",
    default=None,
    help="The application's database (SQLite path or SQLAlchemy URL), to EXPLAIN "
    "slow statements and confirm missing indexes.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="How many endpoints to rank (default: 'top' in the config file, else 5).",
)
@click.option(
    "--format",
    "report_format",
    type=click.Choice(list(RENDERERS)),
    default=None,
    help="Report format (default: from the --output file's extension, else text).",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE|DIR/",
    default=None,
    help="Write the report to FILE; a directory (or a path ending in /) gets "
    "report.html and report.md. The summary still goes to the terminal.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Thresholds file (default: perfkit.toml, or [tool.perfkit] in "
    "pyproject.toml, found from the working directory up).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Skip bad records in trace files instead of rejecting the file.",
)
@click.pass_context
def analyze(
    ctx: click.Context,
    paths: tuple[str, ...],
    db_url: str,
    run_label: str | None,
    app_db: str | None,
    top: int | None,
    report_format: str | None,
    output: str | None,
    config_file: Path | None,
    skip_invalid: bool,
) -> None:
    """Rank the slowest endpoints of a run and name the cause of each.

    PATH is a trace file or a folder of them, read straight into memory; with
    --db they are stored there first, as the run --run, and the stored run is
    analysed. A PATH that is neither file nor folder names a run already in
    the store (--db, default perfkit.db).

    A summary of the top endpoints and the findings goes to the terminal;
    --output writes the full report, with evidence and fixes:

        perfkit analyze sample_traces/before --output reports/

    Exits with 0 when the analysis ran, whatever it found; 2 on bad input; 3
    when the traces hold no incoming requests (SERVER spans) to analyse.
    """
    from perfkit.analysis import analyze as analyze_run
    from perfkit.config import load_config

    db_given = ctx.get_parameter_source("db_url") is not ParameterSource.DEFAULT
    with handle_errors():
        # Check the format and output before the slow part, not after it.
        targets = report_targets(output, report_format) if output else []
        given = [path for path in paths if Path(path).is_file()]
        check_targets(targets, given)
        app_db_url = _app_db_url(app_db)
        config = load_config(config_file)
        if top is not None:
            config = dataclasses.replace(config, top=top)
        run = _open_run(paths, db_url if db_given else None, run_label, skip_invalid)
        # A folder's files are known once read.
        check_targets(targets, run.sources)
        _require_requests(run, paths)
        result = analyze_run(
            run.spans,
            config,
            app_db=app_db_url,
            label=run.label,
            inputs=run.sources,
        )
        written = write_report(result, output, format=report_format) if output else []

    _print_results(result, report_format, output)
    # With JSON logs, the library's own log line names each report written.
    for path in [] if json_logs() else written:
        err_console.print(f"[dim]report written to[/] {escape(str(path))}")


def _open_run(
    paths: Sequence[str], db: str | None, label: str | None, skip_invalid: bool
) -> Run:
    """Load the trace files named, or the stored run a single PATH names."""
    from perfkit.api import load

    missing = [path for path in paths if not Path(path).exists()]
    if not missing:
        if db is not None:
            return load(paths, db=db, run=label, skip_invalid=skip_invalid)
        return load(paths, run=label or _label_for(paths), skip_invalid=skip_invalid)
    if len(paths) > 1:
        raise InputError(missing[0], "no such file or folder")
    return _stored_run(paths[0], db or "perfkit.db")


def _stored_run(label: str, db: str) -> Run:
    from perfkit.api import open_run

    if "://" not in db and not Path(db).exists():
        raise InputError(
            label,
            f"no such file or folder, and no span store {db} to find a run of "
            "that name in; give trace files, or --db with the store",
        )
    try:
        return open_run(db, label)
    except StoreError as error:
        raise InputError(label, f"no such file or folder, and {error}") from error


def _label_for(paths: Sequence[str]) -> str:
    """A run label for traces read from files: a single folder's name."""
    if len(paths) != 1:
        return "default"
    name = Path(paths[0]).resolve().name
    return name.split(".", 1)[0] or "default"


def _app_db_url(app_db: str | None) -> str | None:
    """``--app-db`` as a URL, checked before any trace is read."""
    if app_db is None:
        return None
    from perfkit.analysis.explain import as_url

    return as_url(app_db)


def _require_requests(run: Run, paths: Sequence[str]) -> None:
    """Exit with EXIT_NO_DATA when the run holds no SERVER span."""
    spans = run.spans
    if len(spans) and bool((spans["kind"] == KIND_SERVER).any()):
        return
    where = ", ".join(paths)
    if len(spans) == 0:
        problem = f"no spans in {where}"
    else:
        problem = (
            f"{len(spans):,} spans in {where}, but none is a SERVER span "
            "(an incoming request)"
        )
    message = (
        f"{problem}, so there is no endpoint to analyse. Give traces recorded by "
        "the web service itself, with its framework's OpenTelemetry "
        "instrumentation on."
    )
    _diagnose(logging.ERROR, "[bold red]perfkit: no data:[/]", message)
    sys.exit(EXIT_NO_DATA)


def _print_results(
    result: Analysis, report_format: str | None, output: str | None
) -> None:
    """The summary on stdout, or the report itself when it goes to stdout."""
    to_stdout = output is None and report_format not in (None, "text")
    if to_stdout and report_format is not None:
        console.out(renderer_for(report_format).render(result), end="")
    else:
        console.print(TextRenderer(show_warnings=False).renderable(result))
    for warning in result.warnings:
        _diagnose(logging.WARNING, "[yellow]warning:[/]", mask_urls_in(warning))
    if output is None and not to_stdout and result.findings:
        _diagnose(
            logging.INFO,
            "[dim]hint:[/]",
            "evidence and fixes for each finding are in the full report: add "
            "--output reports/ for HTML and Markdown.",
        )


def _diagnose(level: int, prefix: str, message: str) -> None:
    """A diagnostic on stderr: console text, or a log line with JSON logs."""
    if json_logs():
        logger.log(level, "%s", message)
    else:
        err_console.print(f"{prefix} {escape(message)}", soft_wrap=True)
