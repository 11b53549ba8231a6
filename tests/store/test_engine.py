"""What ``--db`` accepts: SQLite paths, SQLite and PostgreSQL URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from perfkit.errors import StoreError
from perfkit.store._engine import display_url, resolve_url


@pytest.mark.parametrize(
    ("given", "driver", "database"),
    [
        ("perfkit.db", "sqlite", "perfkit.db"),
        ("runs/nightly.sqlite", "sqlite", "runs/nightly.sqlite"),
        (Path("/tmp/x.db"), "sqlite", "/tmp/x.db"),
        ("sqlite:///other.db", "sqlite", "other.db"),
        ("sqlite://", "sqlite", None),
        ("postgresql://me@db.internal/traces", "postgresql+psycopg", "traces"),
        ("postgres://me@db.internal/traces", "postgresql+psycopg", "traces"),
        ("postgresql+psycopg://me@db.internal/traces", "postgresql+psycopg", "traces"),
    ],
)
def test_resolve_url(given: str | Path, driver: str, database: str | None) -> None:
    url = resolve_url(given)

    assert (url.drivername, url.database) == (driver, database)


def test_other_databases_are_refused_with_what_works() -> None:
    with pytest.raises(StoreError, match=r"cannot use 'mysql'.*postgresql://"):
        resolve_url("mysql://root@127.0.0.1/test")


def test_a_url_that_does_not_parse_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot parse"):
        resolve_url("postgresql://me@host:notaport/db")


def test_display_url_hides_the_password() -> None:
    url = resolve_url("postgresql://me:s3cret@db.internal/traces")

    assert "s3cret" not in display_url(url)
    assert display_url(url).startswith("postgresql+psycopg://me:***@db.internal")
    assert display_url(sa.make_url("sqlite://")) == ":memory:"
