"""perfkit: find why a web backend is slow from its traces, and prove the fix."""

from perfkit._version import __version__
from perfkit.api import load, open_run
from perfkit.errors import (
    AppDatabaseError,
    ConfigError,
    FormatNotRecognised,
    InputError,
    PerfkitError,
    StoreError,
)
from perfkit.ingest_pipeline import IngestReport, ingest
from perfkit.run import Run

__all__ = [
    "AppDatabaseError",
    "ConfigError",
    "FormatNotRecognised",
    "IngestReport",
    "InputError",
    "PerfkitError",
    "Run",
    "StoreError",
    "__version__",
    "ingest",
    "load",
    "open_run",
]
