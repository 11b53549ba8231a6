"""perfkit: find why a web backend is slow from its traces, and prove the fix."""

from perfkit._version import __version__
from perfkit.errors import (
    AppDatabaseError,
    ConfigError,
    FormatNotRecognised,
    InputError,
    PerfkitError,
    StoreError,
)

__all__ = [
    "AppDatabaseError",
    "ConfigError",
    "FormatNotRecognised",
    "InputError",
    "PerfkitError",
    "StoreError",
    "__version__",
]
