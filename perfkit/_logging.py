"""Logging set-up for the command line: plain or JSON lines, with a run id.

The library only ever calls ``logging.getLogger(__name__)``; this module is
used by the CLI (and by anyone who wants the same format) to decide where and
how records are written.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Literal

import orjson

LogFormat = Literal["text", "json"]


def new_run_id() -> str:
    """A short random id tying together every log line of one invocation."""
    return uuid.uuid4().hex[:12]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp, level, logger, message and run id."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": self.run_id,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(
    *, verbosity: int = 0, log_format: LogFormat = "text", run_id: str | None = None
) -> str:
    """Send perfkit's log records to stderr; return the run id in use.

    ``verbosity`` 0 shows warnings, 1 info, 2 and more debug.
    """
    run_id = run_id or new_run_id()
    level = (
        logging.WARNING
        if verbosity <= 0
        else logging.INFO
        if verbosity == 1
        else logging.DEBUG
    )
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(run_id))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("perfkit")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    return run_id
