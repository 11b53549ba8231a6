"""The errors perfkit raises.

Every error a user can cause derives from :class:`PerfkitError`; the CLI turns
each into a one-line message and exit code 2, never a traceback::

    PerfkitError
    ├── InputError            a file that is not usable trace data
    │   └── FormatNotRecognised   no reader recognises the content
    ├── StoreError            the span store cannot be opened or written
    ├── ConfigError           a bad option, threshold or config file
    └── AppDatabaseError      the application's database cannot be queried
"""

from __future__ import annotations


class PerfkitError(Exception):
    """Root of every error perfkit raises on purpose."""

    exit_code = 2


class InputError(PerfkitError):
    """A trace or profile file cannot be read as what it claims to be.

    Carries where the problem is (``path`` and a ``position`` such as
    ``"line 3"`` or ``"byte 120"``), a short machine-readable ``code`` and
    whether trying again later could help (a file still being written).
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        position: str | None = None,
        code: str = "invalid",
        retryable: bool = False,
    ) -> None:
        self.path = path
        self.position = position
        self.message = message
        self.code = code
        self.retryable = retryable
        where = f"{path}, {position}" if position else path
        super().__init__(f"{where}: {message}")


class FormatNotRecognised(InputError):
    """No reader recognises the file's content as trace data."""


class StoreError(PerfkitError):
    """The span store cannot be opened, migrated or written."""


class ConfigError(PerfkitError):
    """An option, threshold or config file has a value perfkit cannot use."""


class AppDatabaseError(PerfkitError):
    """The application's database given with ``--app-db`` cannot be queried."""
