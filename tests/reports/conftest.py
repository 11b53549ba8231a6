"""Fixtures for the report tests: hand-built analyses and golden files.

Golden files live in ``tests/reports/golden``. After a deliberate change to a
report, refresh them with one command and review the diff::

    PERFKIT_UPDATE_GOLDEN=1 pytest tests/reports
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import builders
import pytest
from builders import Golden

from perfkit import __version__
from perfkit.analysis.model import Analysis

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PERFKIT_UPDATE_GOLDEN") == "1"

_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"
)
_VERSION = re.compile(rf"(?<![\w.]){re.escape(__version__)}(?![\w.])")


def normalise(text: str) -> str:
    """Replace what changes from run to run: the version and the creation time."""
    text = _TIMESTAMP.sub("<created_at>", text)
    return _VERSION.sub("<version>", text)


@pytest.fixture
def golden() -> Golden:
    """``golden(name, text)``: compare normalised text with golden/<name>."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        actual = normalise(text)
        if UPDATE:
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; run PERFKIT_UPDATE_GOLDEN=1"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, (
            f"{name} differs from its golden file; if the change is intended, "
            "refresh with PERFKIT_UPDATE_GOLDEN=1 pytest tests/reports"
        )

    return check


@pytest.fixture
def shop() -> Analysis:
    """A realistic analysis of the demo shop, version and time left empty."""
    return builders.shop_analysis()


@pytest.fixture
def hostile() -> Analysis:
    """An analysis with markup, pipes and newlines in every span value."""
    return builders.hostile_analysis()
