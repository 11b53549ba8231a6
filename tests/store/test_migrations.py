"""The store's Alembic migrations, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

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
