"""What every command shares: the consoles, the store options, error handling."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from perfkit import _logging
from perfkit.errors import PerfkitError

F = TypeVar("F", bound=Callable[..., Any])

#: Results go to stdout, progress and diagnostics to stderr.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class CliState:
    """Per-invocation state handed to every command through click's context."""

    run_id: str


def store_options(func: F) -> F:
    """The ``--db`` and ``--run`` options shared by commands that use a store."""
    func = click.option(
        "--run",
        "run_label",
        default=None,
        metavar="LABEL",
        help="Name of the run the spans belong to (default: 'default').",
    )(func)
    func = click.option(
        "--db",
        "db_url",
        default="perfkit.db",
        show_default=True,
        metavar="URL",
        help="Span store: a SQLite file path or an SQLAlchemy URL (postgresql://...).",
    )(func)
    return func


def json_logs() -> bool:
    """Whether this invocation logs JSON lines (then stderr carries only JSON)."""
    handlers = logging.getLogger("perfkit").handlers
    return any(isinstance(h.formatter, _logging.JsonFormatter) for h in handlers)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn a PerfkitError into a one-line message and its exit code.

    With ``--log-format json`` the message is one more JSON log line instead of
    console text, so every line on stderr stays a JSON object.
    """
    try:
        yield
    except PerfkitError as error:
        if json_logs():
            logging.getLogger("perfkit.cli").error("%s", error)
        else:
            message = f"[bold red]perfkit: error:[/] {escape(str(error))}"
            err_console.print(message, soft_wrap=True)
        sys.exit(error.exit_code)
