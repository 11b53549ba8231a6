"""The shared mysql_url fixture gives a scratch database that works."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.mark.mysql
def test_mysql_url_is_a_scratch_database(mysql_url: sa.URL) -> None:
    engine = sa.create_engine(mysql_url)
    with engine.connect() as connection:
        name = connection.exec_driver_sql("SELECT DATABASE()").scalar_one()
    engine.dispose()

    assert name == mysql_url.database
    assert str(name).startswith("perfkit_test_")
