"""Fixtures shared by every test package.

Database servers
    ``postgres_url`` and ``mysql_url`` yield an :class:`sqlalchemy.URL` to a
    scratch database created for the test session on the server at 127.0.0.1
    and dropped at its end. ``postgres_schema_url`` gives one test a fresh
    schema of its own inside that database. Where no server answers, the test
    is skipped with the reason; with ``PERFKIT_REQUIRE_DB=1`` in the
    environment (``.ci/run`` sets it) it fails instead. The ports can be moved
    with ``PERFKIT_TEST_PG_PORT`` and ``PERFKIT_TEST_MYSQL_PORT``.

Trace data
    ``span_row`` builds one normalised span row tuple; ``write_otlp`` writes
    spans as an OTLP/JSON lines file, the format the OpenTelemetry file
    exporter writes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from perfkit.ingest.schema import COLUMN_NAMES, SpanRow
from tests.require_db import unavailable

# Generation speed depends on how busy the machine is, not on perfkit: a
# loaded CI machine must not fail a property test for being slow.
settings.register_profile(
    "perfkit", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
settings.load_profile("perfkit")

POSTGRES_ADMIN = sa.URL.create(
    "postgresql+psycopg",
    username=os.environ.get("PERFKIT_TEST_PG_USER", "postgres"),
    host="127.0.0.1",
    port=int(os.environ.get("PERFKIT_TEST_PG_PORT", "5432")),
    database="test",
)
MYSQL_ADMIN = sa.URL.create(
    "mysql+pymysql",
    username="root",
    host="127.0.0.1",
    port=int(os.environ.get("PERFKIT_TEST_MYSQL_PORT", "3306")),
    database="test",
)


def _admin_engine(url: sa.URL, server: str) -> sa.Engine:
    try:
        engine = sa.create_engine(
            url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except ModuleNotFoundError as error:
        unavailable(f"the {server} driver {error.name} is not installed")
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        unavailable(f"{server} at {url.host}:{url.port} is not reachable: {reason}")
    return engine


def _scratch_name() -> str:
    return f"perfkit_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[sa.URL]:
    """A scratch PostgreSQL database for the session, dropped afterwards."""
    engine = _admin_engine(POSTGRES_ADMIN, "PostgreSQL")
    name = _scratch_name()
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN.set(database=name)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture
def postgres_schema_url(postgres_url: sa.URL) -> Iterator[sa.URL]:
    """A fresh schema in the scratch PostgreSQL database, for one test.

    The URL sets the connection's search path, so unqualified tables (and
    Alembic's version table) land in that schema.
    """
    schema = _scratch_name()
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield postgres_url.update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[sa.URL]:
    """A scratch MariaDB/MySQL database for the session, dropped afterwards."""
    engine = _admin_engine(MYSQL_ADMIN, "MariaDB/MySQL")
    name = _scratch_name()
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE `{name}`")
    try:
        yield MYSQL_ADMIN.set(database=name)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        engine.dispose()


# Trace data ------------------------------------------------------------------

SpanRowFactory = Callable[..., SpanRow]
OtlpWriter = Callable[..., Path]


def _span_row(
    trace_id: str,
    span_id: str,
    parent_span_id: str | None = None,
    **fields: Any,
) -> SpanRow:
    """One span row; unnamed fields get plain defaults (a 1 ms INTERNAL span)."""
    values: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    values.update(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name="work",
        kind=1,
        start_ns=1_700_000_000_000_000_000,
        end_ns=1_700_000_000_001_000_000,
        status_code=0,
        service_name="shop",
        composite_count=1,
        attributes="{}",
        resource_attributes="{}",
        events="[]",
        links="[]",
    )
    unknown = set(fields) - set(COLUMN_NAMES)
    assert not unknown, f"not span columns: {unknown}"
    values.update(fields)
    return tuple(values[name] for name in COLUMN_NAMES)


@pytest.fixture
def span_row() -> SpanRowFactory:
    """``span_row(trace_id, span_id, parent_span_id=None, **columns)``."""
    return _span_row


def _otlp_span(span: dict[str, Any]) -> dict[str, Any]:
    start = span.get("start_ns", 1_700_000_000_000_000_000)
    encoded: dict[str, Any] = {
        "traceId": span["trace_id"],
        "spanId": span["span_id"],
        "name": span.get("name", "work"),
        "kind": span.get("kind", 1),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(span.get("end_ns", start + 1_000_000)),
        "attributes": [
            {"key": key, "value": _any_value(value)}
            for key, value in span.get("attributes", {}).items()
        ],
        "status": {"code": span.get("status_code", 0)},
    }
    if span.get("parent_span_id"):
        encoded["parentSpanId"] = span["parent_span_id"]
    return encoded


def _any_value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": str(value)}


def _write_otlp(
    path: Path,
    spans: Sequence[dict[str, Any]],
    *,
    service: str = "shop",
    per_line: int = 100,
) -> Path:
    """Write spans as OTLP/JSON lines, ``per_line`` spans to each line.

    A span is a dict with ``trace_id``, ``span_id`` and optionally
    ``parent_span_id``, ``name``, ``kind``, ``start_ns``, ``end_ns``,
    ``status_code`` and ``attributes`` (a plain dict).
    """
    lines = []
    for first in range(0, len(spans), per_line):
        chunk = spans[first : first + per_line]
        request = {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [
                            {"key": "service.name", "value": {"stringValue": service}}
                        ]
                    },
                    "scopeSpans": [
                        {
                            "scope": {"name": "perfkit.tests", "version": "1"},
                            "spans": [_otlp_span(span) for span in chunk],
                        }
                    ],
                }
            ]
        }
        lines.append(orjson.dumps(request))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture
def write_otlp() -> OtlpWriter:
    """``write_otlp(path, spans, *, service="shop", per_line=100) -> path``."""
    return _write_otlp
