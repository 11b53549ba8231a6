"""What every command shares: the consoles, the store options, error handling."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

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
        help="Span store: a SQLite file path or an SQLAlchemy URL "
        "(postgresql://...).",
    )(func)
    return func


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn a PerfkitError into a one-line message and its exit code."""
    try:
        yield
    except PerfkitError as error:
        err_console.print(f"[bold red]perfkit: error:[/] {escape(str(error))}", soft_wrap=True)
        sys.exit(error.exit_code)
