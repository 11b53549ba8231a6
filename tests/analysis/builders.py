"""Small span frames written by hand, so expected values can be worked out.

Times are given in milliseconds from the start of the run; ids are made up
from counters. Every helper returns the new span's id so children can point
at it.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pandas as pd

from perfkit.ingest.schema import (
    COLUMN_NAMES,
    KIND_CLIENT,
    KIND_INTERNAL,
    KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    rows_to_frame,
)

BASE_NS = 1_700_000_000_000_000_000
SQLITE_SELECT_BOOKS = (
    "SELECT books.id AS books_id, books.title AS books_title, "
    "books.author_id AS books_author_id \nFROM books \nWHERE books.author_id = ?"
)


def ms(value: float) -> int:
    """Milliseconds from the run's start as epoch nanoseconds."""
    return BASE_NS + round(value * 1_000_000)


class Spans:
    """Collects span rows; :meth:`frame` turns them into a span DataFrame."""

    def __init__(self, service: str = "shop") -> None:
        self.service = service
        self.rows: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._traces = itertools.count(1)
        self.trace_id = ""

    def _span(self, **fields: Any) -> str:
        span_id = f"{next(self._ids):016x}"
        row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
        row.update(
            trace_id=self.trace_id,
            span_id=span_id,
            kind=KIND_INTERNAL,
            status_code=STATUS_UNSET,
            service_name=self.service,
            scope_name="test",
            composite_count=1,
            attributes="{}",
        )
        start, duration = fields.pop("start"), fields.pop("duration")
        attributes = fields.pop("attributes", None)
        row.update(fields, start_ns=ms(start), end_ns=ms(start + duration))
        if attributes is not None:
            row["attributes"] = orjson.dumps(attributes).decode()
        self.rows.append(row)
        return span_id

    def request(
        self,
        endpoint: str = "GET /books",
        *,
        start: float = 0.0,
        duration: float = 100.0,
        status: int | None = 200,
        error: bool = False,
        parent: str | None = None,
        new_trace: bool = True,
        service: str | None = None,
    ) -> str:
        """A SERVER span, by default the root of a new trace."""
        if new_trace:
            self.trace_id = f"{next(self._traces):032x}"
        method, _, route = endpoint.partition(" ")
        return self._span(
            name=endpoint,
            kind=KIND_SERVER,
            start=start,
            duration=duration,
            parent_span_id=parent,
            status_code=STATUS_ERROR if error else STATUS_UNSET,
            http_method=method,
            http_route=route,
            http_status_code=status,
            endpoint=endpoint,
            service_name=service or self.service,
        )

    def internal(
        self,
        parent: str | None,
        name: str,
        *,
        start: float,
        duration: float,
        **extra: Any,
    ) -> str:
        """An INTERNAL span (an ORM loop body, FastAPI's ``http send``)."""
        return self._span(
            name=name, parent_span_id=parent, start=start, duration=duration, **extra
        )

    def query(
        self,
        parent: str,
        statement: str = SQLITE_SELECT_BOOKS,
        *,
        start: float,
        duration: float,
        system: str = "sqlite",
        attributes: dict[str, Any] | None = None,
        scope: str = "opentelemetry.instrumentation.sqlalchemy",
        service: str | None = None,
        composite_count: int = 1,
    ) -> str:
        """A database CLIENT span as SQLAlchemy's instrumentation makes it."""
        return self._span(
            name=f"{statement.split(None, 1)[0]} app.db",
            kind=KIND_CLIENT,
            parent_span_id=parent,
            start=start,
            duration=duration,
            db_system=system,
            db_statement=statement,
            db_namespace="app.db",
            scope_name=scope,
            attributes=attributes,
            service_name=service or self.service,
            composite_count=composite_count,
        )

    def connect(self, parent: str, *, start: float, duration: float = 0.1) -> str:
        """SQLAlchemy's ``connect`` span: database time, but not a query."""
        return self._span(
            name="connect",
            kind=KIND_CLIENT,
            parent_span_id=parent,
            start=start,
            duration=duration,
            db_system="sqlite",
        )

    def call(
        self,
        parent: str,
        url: str,
        *,
        start: float,
        duration: float,
        method: str = "GET",
        status: int = 200,
        address: str | None = None,
        peer: str | None = None,
    ) -> str:
        """An outgoing HTTP CLIENT span."""
        return self._span(
            name=method,
            kind=KIND_CLIENT,
            peer_service=peer,
            parent_span_id=parent,
            start=start,
            duration=duration,
            http_method=method,
            http_status_code=status,
            url=url,
            server_address=address,
        )

    def frame(self) -> pd.DataFrame:
        """The span DataFrame, with the dtypes every reader produces."""
        return rows_to_frame([tuple(r[c] for c in COLUMN_NAMES) for r in self.rows])
