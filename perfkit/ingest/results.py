"""Per-file outcomes of reading and ingesting, and the context readers report to.

A reader never decides alone what a bad record means: it calls
:meth:`ReadContext.bad`, which raises :class:`~perfkit.errors.InputError` in the
strict mode and counts the record by reason under ``--skip-invalid``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from perfkit.errors import InputError


@dataclass
class ReadContext:
    """What one reader call knows about the file it reads."""

    path: str
    skip_invalid: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    #: Valid records that are not spans (OTLP metrics or logs lines in a
    #: Collector file), by kind. Never an error, and not counted as skipped.
    ignored: Counter[str] = field(default_factory=Counter)

    def bad(
        self,
        reason: str,
        message: str,
        *,
        position: str | None = None,
        retryable: bool = False,
    ) -> None:
        """Report a bad record: raise, or count it when skipping is allowed.

        ``reason`` is a short stable key (``"bad_json"``, ``"missing_ids"``,
        ``"end_before_start"``...) used to count skipped records; ``retryable``
        marks a record that may read whole later (a truncated last line).
        """
        if not self.skip_invalid:
            raise InputError(
                self.path, message, position=position, code=reason, retryable=retryable
            )
        self.skipped[reason] += 1


@dataclass
class FileResult:
    """The outcome of ingesting one file: ok with its counts, or an error.

    ``retryable`` tells whether trying again could help: a truncated last line
    in a file that is still being written may read whole later, while a file
    that is not traces at all never will.
    """

    path: str
    status: Literal["ok", "error"]
    format: str | None = None
    spans: int = 0
    traces: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    error_code: str | None = None
    message: str | None = None
    position: str | None = None
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @classmethod
    def from_error(cls, error: InputError, *, size: int = 0) -> FileResult:
        return cls(
            path=error.path,
            status="error",
            bytes=size,
            error_code=error.code,
            message=error.message,
            position=error.position,
            retryable=error.retryable,
        )
