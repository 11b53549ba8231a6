"""The one rule for tests that need a database server.

Where the server or a feature of it is missing, such a test is skipped with
the reason; with ``PERFKIT_REQUIRE_DB=1`` in the environment (``.ci/run`` sets
it) the skip becomes a failure, so CI cannot pass without the servers.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_DB = os.environ.get("PERFKIT_REQUIRE_DB") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip for a missing server or feature; fail under PERFKIT_REQUIRE_DB=1."""
    if REQUIRE_DB:
        pytest.fail(f"{reason}; PERFKIT_REQUIRE_DB=1 forbids skipping", pytrace=False)
    pytest.skip(reason)
