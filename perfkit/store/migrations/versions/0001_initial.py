"""Create the runs, files, spans and span_batches tables.

Revision ID: 0001
Revises:
Create Date: 2026-08-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out in full rather than imported from perfkit.store.tables: a
# migration must keep creating the schema of its own revision.
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TEXT_COLUMNS = (
    "status_message",
    "service_name",
    "scope_name",
    "scope_version",
    "http_method",
    "http_route",
)
_MORE_TEXT_COLUMNS = (
    "url",
    "server_address",
    "peer_service",
    "db_system",
    "db_statement",
    "db_operation",
    "db_table",
    "db_namespace",
    "endpoint",
)
_RAW_COLUMNS = ("attributes", "resource_attributes", "events", "links")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("label", name="uq_runs_label"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.Text(), nullable=True),
        sa.Column("spans", sa.BigInteger(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_files_run_id_runs"),
    )
    op.create_index("ix_files_run_id", "files", ["run_id"])
    op.create_table(
        "spans",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.Text(), nullable=False),
        sa.Column("span_id", sa.Text(), nullable=False),
        sa.Column("parent_span_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_ns", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=True) for name in _TEXT_COLUMNS),
        sa.Column("http_status_code", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Text(), nullable=True) for name in _MORE_TEXT_COLUMNS),
        sa.Column("composite_count", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=True) for name in _RAW_COLUMNS),
        sa.PrimaryKeyConstraint("id", name="pk_spans"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_spans_run_id_runs"),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_spans_file_id_files"
        ),
        sa.UniqueConstraint(
            "run_id",
            "trace_id",
            "span_id",
            "kind",
            name="uq_spans_run_id_trace_id_span_id_kind",
        ),
    )
    op.create_index("ix_spans_run_id", "spans", ["run_id"])
    op.create_table(
        "span_batches",
        sa.Column("id", _ROW_ID, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_span_batches"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_span_batches_run_id_runs"
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_span_batches_file_id_files"
        ),
    )
    op.create_index("ix_span_batches_run_id", "span_batches", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_span_batches_run_id", table_name="span_batches")
    op.drop_table("span_batches")
    op.drop_index("ix_spans_run_id", table_name="spans")
    op.drop_table("spans")
    op.drop_index("ix_files_run_id", table_name="files")
    op.drop_table("files")
    op.drop_table("runs")
