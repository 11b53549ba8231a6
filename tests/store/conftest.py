"""A store URL fixture that runs each store test on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | sa.URL:
    """A SQLite file path, or a fresh PostgreSQL schema's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "perfkit.db")
    url: sa.URL = request.getfixturevalue("postgres_schema_url")
    return url
