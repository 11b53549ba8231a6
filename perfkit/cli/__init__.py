"""The ``perfkit`` command: thin wrappers that call the library and print.

Each command is one library call with the same name. Results go to stdout
through one rich console, progress and diagnostics to stderr; a
:class:`~perfkit.errors.PerfkitError` becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import sys

import click

from perfkit import _logging
from perfkit._version import __version__
from perfkit.cli._common import CliState, handle_errors
from perfkit.cli.analyze import analyze
from perfkit.cli.ingest import ingest


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfkit")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as JSON objects carrying a run id.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_format: str) -> None:
    """Find why a web backend is slow from its traces, and prove the fix."""
    run_id = _logging.configure(verbosity=verbose, log_format=log_format)  # type: ignore[arg-type]
    ctx.obj = CliState(run_id=run_id)


cli.add_command(ingest)
cli.add_command(analyze)

def main() -> None:
    """Console-script entry point."""
    with handle_errors():
        cli.main(prog_name="perfkit", standalone_mode=True)
    sys.exit(0)
