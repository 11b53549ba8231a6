"""What ``--db`` accepts: SQLite paths, SQLite and PostgreSQL URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from perfkit.errors import StoreError
from perfkit.store._engine import create_engine, display_url, resolve_url


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


def test_a_url_that_does_not_parse_is_reported_without_its_password() -> None:
    with pytest.raises(StoreError, match="cannot parse") as caught:
        resolve_url("postgresql://me:s3c@ret@db.internal:notaport/traces")
    assert "s3c" not in str(caught.value)
    assert "ret" not in str(caught.value).replace("traces", "")


def test_display_url_hides_a_password_given_in_the_query() -> None:
    url = resolve_url(
        "postgresql://me@db.internal/traces?password=s3cret&sslpassword=k3y"
    )

    shown = display_url(url)
    assert "s3cret" not in shown
    assert "k3y" not in shown
    assert "password=***" in shown


def test_a_libpq_connection_string_is_refused_not_taken_for_a_file() -> None:
    # It would otherwise become a SQLite file named after it, password and all.
    with pytest.raises(StoreError, match="postgresql://") as caught:
        resolve_url("host=127.0.0.1 user=me password=s3cret dbname=traces")
    assert "s3cret" not in str(caught.value)


def test_an_empty_store_is_refused_not_taken_for_one_in_memory() -> None:
    with pytest.raises(StoreError, match="must not be empty"):
        resolve_url("")


def test_a_sqlite_store_waits_for_another_writer_rather_than_fail(
    tmp_path: Path,
) -> None:
    # A second ingest into the same file waits for the first one's file to be
    # stored: the driver's default of 5 s is shorter than storing a big file.
    engine = create_engine(resolve_url(tmp_path / "perfkit.db"))
    with engine.connect() as connection:
        timeout_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    engine.dispose()
    assert timeout_ms >= 60_000


def test_a_timeout_in_the_sqlite_url_is_kept(tmp_path: Path) -> None:
    engine = create_engine(
        resolve_url(f"sqlite:///{tmp_path / 'perfkit.db'}?timeout=2")
    )
    with engine.connect() as connection:
        timeout_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    engine.dispose()
    assert timeout_ms == 2000
