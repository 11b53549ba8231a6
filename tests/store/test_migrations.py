"""The store's Alembic migrations, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from perfkit.errors import StoreError
from perfkit.store import Store, migrate
from perfkit.store.tables import metadata

TABLES = {"runs", "files", "spans", "span_batches"}


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_opening_a_store_migrates_it_to_head(store_url: str | sa.URL) -> None:
    with Store(store_url) as store:
        assert table_names(store.engine) == TABLES
        assert migrate.current_revision(store.engine) == migrate.head_revision()


def test_downgrade_to_base_then_upgrade_again(store_url: str | sa.URL) -> None:
    with Store(store_url) as store:
        migrate.downgrade(store.engine, "base")
        assert table_names(store.engine) == set()
        assert migrate.current_revision(store.engine) is None

        migrate.upgrade(store.engine)
        assert table_names(store.engine) == TABLES
        assert store.runs() == []


def test_migrations_build_the_schema_the_tables_module_describes(
    store_url: str | sa.URL,
) -> None:
    with Store(store_url) as store, store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_a_store_from_a_newer_perfkit_is_refused(store_url: str | sa.URL) -> None:
    with Store(store_url) as store, store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")

    with pytest.raises(StoreError, match="newer perfkit"):
        Store(store_url)


def test_opening_without_migrating_creates_nothing(store_url: str | sa.URL) -> None:
    with Store(store_url, migrate=False) as store:
        assert table_names(store.engine) == set()


@pytest.mark.slow
def test_processes_opening_a_new_store_at_once_all_succeed(
    store_url: str | sa.URL,
) -> None:
    # Each process finds the store empty and migrates it: without a lock
    # around the migration, all but one fail ("table ... already exists").
    path = (
        store_url
        if isinstance(store_url, str)
        else store_url.render_as_string(hide_password=False)
    )
    context = multiprocessing.get_context("spawn")
    n = 4
    barrier = context.Barrier(n)
    errors = context.Queue()
    processes = [
        context.Process(target=_open_store, args=(path, barrier, errors))
        for _ in range(n)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [errors.get(timeout=30) for _ in range(n)] == [None] * n


def _open_store(path: str, barrier: Any, errors: Any) -> None:
    # Every process has imported perfkit: open at once. Spawning four
    # interpreters on a loaded two-core machine can take a while.
    barrier.wait(timeout=120)
    try:
        Store(path).close()
    except StoreError as error:
        errors.put(str(error))
    else:
        errors.put(None)


def test_the_head_known_without_alembic_is_alembics_head() -> None:
    assert migrate.head_revision() == migrate.HEAD
