"""Missing indexes: statements that filter on columns no index serves.

Candidates are SELECT statements that are slow on an endpoint (p95 at least
``slow_query_p95_ms``) or frequent and not cheap (at least
``index_min_calls`` executions with a mean of ``index_min_mean_ms``).

With the application's database (``--app-db``) each candidate is EXPLAINed
there: a plan reading a filtered table in full proves the missing index
(confidence high), and a plan that already uses an index clears it. The
index, its CREATE INDEX statement and its migration come from the plan.

Without a database, the statement and the timings are all there is. A
candidate is kept when it compares a column with a value (``=``, ``IN``,
``<``, ``BETWEEN``...; sqlinfo reads them) and that column is not ``id``,
which is nearly always the primary key. Join columns alone are not enough:
without the schema, which side of a join needs the index is unknown. Such a
finding has low confidence and says so.

Saving per execution: from the plan's costs when the database can cost the
index hypothetically, else the execution's time above ``assumed_indexed_ms``
(what an index lookup is assumed to take).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfkit.analysis import sqlinfo
from perfkit.analysis.detectors._base import Context, ms, records
from perfkit.analysis.detectors._migration import index_suggestion
from perfkit.analysis.model import Confidence, Finding, Suggestion
from perfkit.errors import AppDatabaseError

if TYPE_CHECKING:
    from perfkit.analysis.explain import PlanReport

logger = logging.getLogger(__name__)

KIND = "missing_index"

#: Columns assumed to be primary keys, so indexed, without a schema.
_PRIMARY_KEY_NAMES = frozenset({"id", "pk", "rowid", "oid"})


@dataclass(frozen=True)
class Diagnosis:
    """Why a statement needs an index, and which one."""

    table: str
    columns: list[str]
    confidence: Confidence
    suggestion: Suggestion
    #: Share of each execution's time the index saves; None when unknown.
    saving_share: float | None = None
    plan: list[str] = field(default_factory=list)


def detect(context: Context, found: Sequence[Finding]) -> list[Finding]:
    """Find statements whose filter columns lack an index."""
    stats = context.statement_stats
    groups = stats.groups
    if groups.empty:
        return []
    operation = context.statements["operation"].reindex(groups["fingerprint"])
    endpoints = groups["endpoint"]
    slow = groups["p95_ms"] >= context.setting_per_row(endpoints, "slow_query_p95_ms")
    frequent = (
        groups["calls"] >= context.setting_per_row(endpoints, "index_min_calls")
    ) & (groups["mean_ms"] >= context.setting_per_row(endpoints, "index_min_mean_ms"))
    candidate = (operation.to_numpy() == "SELECT") & (slow | frequent).to_numpy()

    diagnoses = {
        fp: _diagnose(context, fp)
        for fp in groups.loc[candidate, "fingerprint"].unique()
    }
    assumed = context.setting_per_row(stats.calls["endpoint"], "assumed_indexed_ms")
    duration = stats.calls["duration_ms"].to_numpy(dtype=np.float64)
    above = stats.per_group(np.maximum(duration - assumed, 0.0))
    findings = []
    for i, row in enumerate(records(groups)):
        diagnosis = diagnoses.get(row["fingerprint"]) if candidate[i] else None
        if diagnosis is None:
            continue
        share = diagnosis.saving_share
        saved = row["total_ms"] * share if share is not None else above[i]
        findings.append(
            _finding(context, row, diagnosis, saved / row["requests_affected"])
        )
    return findings


def _diagnose(context: Context, fingerprint: str) -> Diagnosis | None:
    statement = context.statements.loc[fingerprint]
    example = str(statement["example"])
    dialect: str | None = (
        None if pd.isna(statement["dialect"]) else str(statement["dialect"])
    )
    if context.app_db:
        report = _explain(context, context.app_db, example)
        if report is not None:
            return _from_plan(report, dialect)
    return _inferred(example, dialect)


def _explain(context: Context, app_db: str, statement: str) -> PlanReport | None:
    """The database's plan, or None (with a warning) when there is none."""
    # Imported here: only --app-db needs the database drivers.
    from perfkit.analysis.explain import explain_statement

    try:
        report = explain_statement(
            app_db, statement, timeout_ms=context.config.explain_timeout_ms
        )
    except AppDatabaseError as error:
        message = f"EXPLAIN failed, so index advice is inferred without plans: {error}"
    else:
        if report is not None:
            return report
        message = (
            "the application database could not plan some statements (see the "
            "log); their index advice is inferred without a plan"
        )
    if message not in context.warnings:
        context.warnings.append(message)
        logger.warning("%s", message)
    return None


def _from_plan(report: PlanReport, dialect: str | None) -> Diagnosis | None:
    if not report.full_scans:
        return None
    scan = report.full_scans[0]
    proposal = report.index_proposal
    table = proposal.table if proposal else scan.table
    columns = list(proposal.columns if proposal else scan.filter_columns)
    reason = (
        f"the {report.dialect} plan reads {table} in full although the statement "
        f"filters it on {', '.join(columns)}"
    )
    if proposal:
        suggestion = Suggestion(
            summary=f"Add an index on {table} ({', '.join(columns)})",
            detail=f"{reason}. {proposal.advice}".strip(),
            code=proposal.create_sql,
            files={proposal.migration_filename: proposal.migration_text},
        )
    else:
        suggestion = index_suggestion(table, columns, dialect=dialect, reason=reason)
    share = None
    if report.cost and report.cost_with_index is not None:
        share = float(np.clip(1 - report.cost_with_index / report.cost, 0.0, 1.0))
    return Diagnosis(table, columns, "high", suggestion, share, list(report.plan_lines))


def _inferred(statement: str, dialect: str | None) -> Diagnosis | None:
    try:
        predicates = sqlinfo.predicate_columns(statement, dialect)
    except ValueError:  # a dialect sqlinfo does not know
        predicates = sqlinfo.predicate_columns(statement, None)
    columns: dict[str, list[str]] = {}
    for p in predicates:
        if p.source == "filter" and p.column.lower() not in _PRIMARY_KEY_NAMES:
            columns.setdefault(p.table, [])
            if p.column not in columns[p.table]:
                columns[p.table].append(p.column)
    if not columns:
        return None
    table, cols = next(iter(columns.items()))
    reason = (
        f"the statement filters {table} on {', '.join(cols)} and is slow or run "
        "often; without the database (--app-db) perfkit cannot see its indexes, "
        "so check the plan before adding this one"
    )
    suggestion = index_suggestion(table, cols, dialect=dialect, reason=reason)
    return Diagnosis(table, cols, "low", suggestion)


def _finding(
    context: Context, row: dict[str, Any], diagnosis: Diagnosis, saved: float
) -> Finding:
    statement = context.statements.loc[row["fingerprint"]]
    columns = ", ".join(diagnosis.columns)
    evidence = {
        "statement": statement["normalised"],
        "fingerprint": row["fingerprint"],
        "table": diagnosis.table,
        "columns": diagnosis.columns,
        "calls": int(row["calls"]),
        "count_per_request": round(row["calls"] / row["requests_affected"], 2),
        "total_ms": round(row["total_ms"] / row["requests_affected"], 3),
        "p95_ms": round(row["p95_ms"], 3),
        "mean_ms": round(row["mean_ms"], 3),
        "example_trace_id": context.trace_id(row["example"]),
        "plan": diagnosis.plan,
        "source": "query plan" if diagnosis.plan else "statement and timings",
    }
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        f"{diagnosis.table}({columns})",
        title=(
            f"Missing index on {diagnosis.table} ({columns}): "
            f"p95 {ms(row['p95_ms'])} over {int(row['calls'])} calls"
        ),
        evidence=evidence,
        suggestion=diagnosis.suggestion,
        saved_ms_per_request=saved,
        requests_affected=int(row["requests_affected"]),
        confidence=diagnosis.confidence,
    )
