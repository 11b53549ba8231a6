"""Prove a missing index with the application database's own query plan.

:func:`explain_statement` connects to the database given with ``--app-db``
(SQLite, PostgreSQL, MySQL or MariaDB), plans one statement from a trace with
plain ``EXPLAIN`` and reports the tables it reads in full, whether it uses an
index, and the index that would help, as SQL and as an Alembic migration.

The statement is untrusted, so the database is never changed:

- only a single plain ``SELECT`` is planned (:func:`perfkit.analysis.sqlinfo.
  is_select`), checked again after its placeholders are refilled;
- the query is planned, never executed (no ``ANALYZE``);
- in a read-only transaction (a read-only file for SQLite) with a timeout,
  rolled back afterwards;
- by drivers that send one statement only.

Each dialect's detection rule is in its module's docstring:
:mod:`~perfkit.analysis.explain.sqlite`, :mod:`~perfkit.analysis.explain.
postgres`, :mod:`~perfkit.analysis.explain.mysql`.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from perfkit.analysis.explain import mysql, postgres, sqlite
from perfkit.analysis.explain._proposal import already_indexed, build, index_columns
from perfkit.analysis.explain._report import (
    FullScan,
    IndexProposal,
    PlanReport,
    RawPlan,
)
from perfkit.analysis.explain._session import (
    TableInfo,
    as_url,
    connect,
    driver_message,
    mask_url,
    open_engine,
    parse_url,
    read_tables,
)
from perfkit.analysis.sqlinfo import (
    ColumnPredicate,
    group_columns,
    predicate_columns,
    refill_placeholders,
    rejection_reason,
    table_aliases,
)

__all__ = [
    "FullScan",
    "IndexProposal",
    "PlanReport",
    "as_url",
    "explain_statement",
    "mask_url",
]

logger = logging.getLogger(__name__)


def explain_statement(
    app_db_url: str, statement: str, *, timeout_ms: int = 2000
) -> PlanReport | None:
    """Plan one statement on the application database and judge the plan.

    Args:
        app_db_url: SQLAlchemy URL of the application's database, e.g.
            ``sqlite:///app.db`` or ``postgresql://user:pw@host/db``. The
            driver part is ignored: perfkit uses psycopg, PyMySQL or sqlite3.
        statement: A statement from a trace, with placeholders or literals.
        timeout_ms: Longest time the database may spend on it, lock waits
            included.

    Returns:
        The report, or ``None`` (with the reason logged) when the statement
        is not a safe SELECT or the database could not plan it: a missing
        table, a literal the column type refuses, the timeout. A caller
        falls back to inferring from the statement alone.

    Raises:
        AppDatabaseError: The URL is not usable or the database cannot be
            reached; the message shows the URL with its password masked.
    """
    url, backend = parse_url(app_db_url)
    reason = rejection_reason(statement, backend)
    if reason:
        logger.info("not running EXPLAIN on a statement: %s", reason)
        return None
    engine = open_engine(url, backend, timeout_ms)
    try:
        with connect(engine, app_db_url) as connection:
            return _explain(connection, backend, statement, timeout_ms, app_db_url)
    finally:
        engine.dispose()


def _explain(
    connection: sa.Connection,
    backend: str,
    statement: str,
    timeout_ms: int,
    app_db_url: str,
) -> PlanReport | None:
    dbapi: Any = connection.connection.dbapi_connection
    errors = (sa.exc.DBAPIError, connection.dialect.loaded_dbapi.Error)
    is_mariadb = bool(getattr(connection.dialect, "is_mariadb", False))
    dialect = "mariadb" if is_mariadb else connection.dialect.name
    try:
        if backend == "sqlite":
            sqlite.begin_read_only(dbapi, timeout_ms)
        elif backend == "postgresql":
            postgres.begin_read_only(dbapi, timeout_ms)
        else:
            mysql.begin_read_only(dbapi, timeout_ms, mariadb=is_mariadb)
        return _plan_and_judge(connection, dbapi, backend, dialect, statement)
    except errors as error:
        logger.warning(
            "EXPLAIN failed on %s (%s, timeout %d ms): %s",
            mask_url(app_db_url),
            dialect,
            timeout_ms,
            driver_message(error, connection.engine.url),
        )
        return None
    finally:
        _roll_back(dbapi, errors)


def _roll_back(dbapi: Any, errors: tuple[type[BaseException], ...]) -> None:
    """End the transaction; a connection already lost has nothing to end."""
    try:
        dbapi.rollback()
    except errors as error:
        logger.debug("rollback after EXPLAIN failed: %s", driver_message(error))


def _plan_and_judge(
    connection: sa.Connection, dbapi: Any, backend: str, dialect: str, statement: str
) -> PlanReport | None:
    aliases = table_aliases(statement, backend)
    predicates = predicate_columns(statement, backend)
    tables = read_tables(connection, set(aliases.values()))
    literals = {name: info.literals for name, info in tables.items()}
    refilled = refill_placeholders(statement, backend, column_literals=literals)

    # What is sent is checked again, not just what came in.
    reason = rejection_reason(refilled, backend)
    if reason:
        logger.info("not running EXPLAIN on a refilled statement: %s", reason)
        return None

    raw: RawPlan
    if backend == "sqlite":
        raw = sqlite.explain(dbapi, refilled, aliases)
    elif backend == "postgresql":
        raw = postgres.explain(dbapi, refilled)
    else:
        raw = mysql.explain(dbapi, refilled, aliases)
    full_scans, proposal = _judge(raw, predicates, tables, connection.dialect)

    cost_with_index = None
    if proposal is not None and backend == "postgresql":
        cost_with_index = _hypothetical_cost(dbapi, refilled, proposal)
    return PlanReport(
        dialect=dialect,
        plan_lines=raw.lines,
        full_scans=full_scans,
        uses_index=raw.uses_index,
        cost=raw.cost,
        cost_with_index=cost_with_index,
        index_proposal=proposal,
    )


def _judge(
    raw: RawPlan,
    predicates: list[ColumnPredicate],
    tables: dict[str, TableInfo],
    dialect: sa.Dialect,
) -> tuple[list[FullScan], IndexProposal | None]:
    """Full scans for want of an index, and the index for the heaviest one."""
    by_name = {name.lower(): info for name, info in tables.items()}
    full_scans: list[FullScan] = []
    candidates: list[tuple[float, FullScan, TableInfo, list[str]]] = []
    for access in raw.accesses:
        table = by_name.get(access.table.lower())
        if not access.full_scan or table is None:
            continue
        mine = [
            ColumnPredicate(table.name, p.column, p.kind, p.source)
            for p in predicates
            if p.table.lower() == table.name.lower()
        ]
        columns = group_columns(mine).get(table.name) or access.automatic_index
        if not columns or any(s.table == table.name for s in full_scans):
            continue
        index = index_columns(table, mine, access.automatic_index)
        equal = {p.column.lower() for p in mine if p.kind == "equality"}
        unordered = all(c.lower() in equal for c in index)
        if index and already_indexed(table, index, unordered=unordered):
            continue  # the planner preferred a scan to an index it has
        scan = FullScan(table.name, columns)
        full_scans.append(scan)
        candidates.append((access.weight or 0.0, scan, table, index))

    # The heaviest scan first: its index saves the most.
    candidates.sort(key=lambda c: -c[0])
    proposal = next(
        (build(table, index, dialect) for _, _, table, index in candidates if index),
        None,
    )
    return full_scans, proposal


def _hypothetical_cost(
    dbapi: Any, statement: str, proposal: IndexProposal
) -> float | None:
    schema = postgres.hypopg_schema(dbapi)
    if schema is None:
        logger.debug("hypopg is not installed; no cost with the proposed index")
        return None
    return postgres.cost_with_index(
        dbapi, statement, schema, proposal.table, proposal.columns
    )
