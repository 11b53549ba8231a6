"""The ``perfkit`` command: thin wrappers that call the library and print.

Each command is one library call with the same name. Results go to stdout
through one rich console, progress and diagnostics to stderr; a
:class:`~perfkit.errors.PerfkitError` becomes a one-line message and exit code 2.

Commands are imported only when invoked, so ``perfkit ingest`` never pays for
the analysis and plotting libraries that ``perfkit analyze`` needs.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click
import pyarrow as pa

from perfkit import _logging
from perfkit._version import __version__
from perfkit.cli._common import CliState, err_console, handle_errors, json_logs
from perfkit.ingest.schema import MEMORY_POOL

#: Command name -> "module:attribute" of its click command.
COMMANDS = {
    "analyze": "perfkit.cli.analyze:analyze",
    "ingest": "perfkit.cli.ingest:ingest",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfkit")
@click.option(
    "-v", "--verbose", count=True, help="More log output (-v info, -vv debug)."
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as JSON objects carrying a run id.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_format: _logging.LogFormat) -> None:
    """Find why a web backend is slow from its traces, and prove the fix."""
    run_id = _logging.configure(verbosity=verbose, log_format=log_format)
    ctx.obj = CliState(run_id=run_id)


def main() -> None:
    """Console-script entry point.

    click's own messages (usage errors, an interrupt) go through the same path
    as perfkit's errors, so ``--log-format json`` keeps stderr JSON-only.
    """
    # The command owns its process, so every Arrow allocation in it, pandas'
    # included, can come from the pool perfkit's columns use (see there why).
    pa.set_memory_pool(MEMORY_POOL)
    with handle_errors():
        try:
            status = cli.main(prog_name="perfkit", standalone_mode=False)
        except click.ClickException as error:
            if json_logs():
                logging.getLogger("perfkit.cli").error("%s", error.format_message())
            else:
                error.show()
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            err_console.print("interrupted")
            sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
