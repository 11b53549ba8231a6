"""What EXPLAIN found, as plain data: the plan, its full scans, an index to add."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FullScan:
    """A table the plan reads in full although the statement filters it.

    Attributes:
        table: The real table name (aliases resolved).
        filter_columns: The columns the statement filters or joins this table
            on, equality columns first (see :func:`perfkit.analysis.sqlinfo.
            filter_columns`); for SQLite's automatic indexes, the columns of
            the index SQLite built.
    """

    table: str
    filter_columns: list[str]


@dataclass(frozen=True)
class IndexProposal:
    """An index that would let the plan avoid a full scan, ready to apply.

    Attributes:
        table: The table to index.
        columns: Index columns in order: equality columns, then one range column.
        name: ``ix_<table>_<columns>``, the SQLAlchemy/Alembic naming
            convention, shortened with a hash beyond 63 characters.
        create_sql: ``CREATE INDEX ix_... ON table (columns);``.
        drop_sql: The statement that removes it again.
        migration_text: A complete Alembic migration file creating the index in
            ``upgrade()`` and dropping it in ``downgrade()``.
        migration_filename: A file name for it, ``<revision>_add_<name>.py``.
        advice: One or two sentences for a person applying it (on
            PostgreSQL, why the migration builds the index ``CONCURRENTLY``).
    """

    table: str
    columns: list[str]
    name: str
    create_sql: str
    drop_sql: str
    migration_text: str
    migration_filename: str
    advice: str = ""


@dataclass(frozen=True)
class PlanReport:
    """The application database's own plan for one statement.

    Attributes:
        dialect: ``"sqlite"``, ``"postgresql"``, ``"mysql"`` or ``"mariadb"``.
        plan_lines: The plan as readable lines, one per plan node or row.
        full_scans: Tables read in full although the statement filters or
            joins them on columns no existing index leads with, in plan
            order. A scan the planner chose over an index it has (a small
            table, a filter matching most rows) is not listed; the plan lines
            still show it.
        uses_index: Whether any table is read through an index the database
            already has (SQLite's automatic indexes do not count).
        cost: The planner's total cost estimate (PostgreSQL, MySQL 8), else
            ``None``.
        cost_with_index: PostgreSQL with hypopg only: the total cost with the
            proposed index in place, hypothetically; else ``None``.
        index_proposal: The index to add for the largest full scan whose
            columns no existing index leads with; ``None`` when there is none.
    """

    dialect: str
    plan_lines: list[str]
    full_scans: list[FullScan]
    uses_index: bool
    cost: float | None
    cost_with_index: float | None
    index_proposal: IndexProposal | None


@dataclass(frozen=True)
class TableAccess:
    """How the plan reads one table (what each dialect module reports)."""

    table: str
    full_scan: bool
    #: The planner's weight for this access (PostgreSQL node cost, MySQL
    #: rows), used to pick the scan most worth an index; ``None`` if unknown.
    weight: float | None = None
    #: Columns of an index SQLite builds for this query alone.
    automatic_index: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RawPlan:
    """One dialect's EXPLAIN output, before perfkit's judgement."""

    lines: list[str]
    accesses: list[TableAccess]
    uses_index: bool
    cost: float | None
