"""The span store's tables, as SQLAlchemy Core.

Four tables: ``runs`` names a set of spans (``baseline``, ``candidate``, a git
sha), ``files`` records each input file a run was built from, ``spans`` holds
one row per span with the columns of :data:`~perfkit.ingest.schema.SPAN_COLUMNS`,
and ``span_batches`` holds the same spans as compressed Arrow record batches,
which is what reading a run back uses (see :mod:`perfkit.store.columnar`).

A span is unique per (run, trace id, span id, kind): Zipkin's shared spans reuse
one span id for the client and the server side, so the id alone is not enough.
That unique index also serves parent look-ups, which go by run, trace and span.

These definitions describe the schema at the newest migration; the migrations
in ``perfkit/store/migrations/versions`` are what actually create it, and a test
checks that the two agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from perfkit.ingest.schema import SPAN_COLUMNS

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: A 64-bit integer key that is SQLite's rowid alias there (fast appends).
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQL_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "str": sa.Text(),
    "int8": sa.SmallInteger(),
    "int32": sa.Integer(),
    "Int32": sa.Integer(),
    "int64": sa.BigInteger(),
}

#: Span columns that are never NULL (their frame dtypes have no missing value).
_REQUIRED = frozenset(
    {
        "trace_id",
        "span_id",
        "name",
        "kind",
        "start_ns",
        "end_ns",
        "status_code",
        "composite_count",
    }
)


def _span_column(name: str, dtype: str) -> sa.Column[Any]:
    return sa.Column(name, _SQL_TYPES[dtype], nullable=name not in _REQUIRED)


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("format", sa.Text, nullable=True),
    sa.Column("spans", sa.BigInteger, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "run_id"),
)

spans = sa.Table(
    "spans",
    metadata,
    sa.Column("id", RowId, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False),
    *(_span_column(name, dtype) for name, dtype in SPAN_COLUMNS.items()),
    sa.UniqueConstraint("run_id", "trace_id", "span_id", "kind"),
    # Reading a run back goes by run_id; SQLite keeps rowid order in this index.
    sa.Index(None, "run_id"),
)

span_batches = sa.Table(
    "span_batches",
    metadata,
    sa.Column("id", RowId, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False),
    # Spans in the batch, duplicates of earlier spans of the run included.
    sa.Column("rows", sa.Integer, nullable=False),
    # A zstd-compressed Arrow IPC stream.
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index(None, "run_id"),
)
