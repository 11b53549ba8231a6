"""Missing indexes: statements that filter on columns no index serves.

Candidates are SELECT statements that are slow on an endpoint (p95 at least
``slow_query_p95_ms``) or frequent and not cheap (at least
``index_min_calls`` executions with a mean of ``index_min_mean_ms``).

With the application's database (``--app-db``) each candidate is EXPLAINed
there, its values replaced by placeholders first: a plan reading a filtered
table in full proves the missing index (confidence high), and a plan that
already uses an index clears it. The index, its CREATE INDEX statement and its
migration come from the plan.

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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfkit.analysis import sqlinfo
from perfkit.analysis.detectors._base import Context, ms, records
from perfkit.analysis.detectors._migration import index_suggestion
from perfkit.analysis.fingerprint import MAX_PARSED_CHARS, NON_SQL, scan_sql
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
    dialect = context.statements["dialect"].reindex(groups["fingerprint"])
    candidate = (
        (operation.to_numpy() == "SELECT")
        & (dialect != NON_SQL).fillna(True).to_numpy(dtype=bool)
        & (slow | frequent).to_numpy()
    )

    diagnoses = {
        fp: _diagnose(context, fp)
        for fp in groups.loc[candidate, "fingerprint"].unique()
    }
    assumed = context.setting_per_row(stats.calls["endpoint"], "assumed_indexed_ms")
    duration = stats.calls["duration_ms"].to_numpy(dtype=np.float64)
    above = stats.per_group(np.maximum(duration - assumed, 0.0))
    # Statements on one endpoint that want the same index make one finding:
    # one index serves them all, and a finding id names the index.
    merged: dict[tuple[str, str, str, tuple[str, ...]], list[_Candidate]] = {}
    for i, row in enumerate(records(groups)):
        diagnosis = diagnoses.get(row["fingerprint"]) if candidate[i] else None
        if diagnosis is None:
            continue
        share = diagnosis.saving_share
        saved = row["total_ms"] * share if share is not None else above[i]
        key = (
            row["service"],
            row["endpoint"],
            diagnosis.table,
            tuple(diagnosis.columns),
        )
        merged.setdefault(key, []).append(_Candidate(i, row, diagnosis, saved))
    return [_finding(context, parts) for parts in merged.values()]


@dataclass(frozen=True)
class _Candidate:
    """One statement's case for an index: its group, diagnosis and saving."""

    group: int
    row: dict[str, Any]
    diagnosis: Diagnosis
    saved_ms_total: float


_CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}


def _diagnose(context: Context, fingerprint: str) -> Diagnosis | None:
    statement = context.statements.loc[fingerprint]
    example = str(statement["example"])
    if len(example) > MAX_PARSED_CHARS:
        return None  # parsing it would take seconds, and it is no simple lookup
    dialect: str | None = (
        None if pd.isna(statement["dialect"]) else str(statement["dialect"])
    )
    if context.app_db:
        # The trace's values never reach the database: placeholders stand in
        # for them, and EXPLAIN refills those with neutral values. So neither
        # the plan nor an error message can print a customer's email back.
        planned = scan_sql(example, dialect).key
        report = _explain(context, context.app_db, planned)
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
            "the application database could not plan some statements (perfkit "
            "-v analyze ... says why); their index advice is inferred without a "
            "plan"
        )
    if message not in context.warnings:
        # A warning of the analysis: the CLI prints those, so no log line too.
        context.warnings.append(message)
        logger.info("%s", message)
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
    plan = redact_plan(report.plan_lines)
    return Diagnosis(table, columns, "high", suggestion, share, plan)


#: A quoted string in a plan line, and a number in a condition.
_PLAN_STRING = re.compile(r"'(?:[^']|'')*'")
_PLAN_NUMBER = re.compile(r"(?<![\w.$])-?\d+(?:\.\d+)?(?![\w.])")
_PLAN_CONDITION = re.compile(r"\b(?:Filter|Cond):")


def redact_plan(lines: Sequence[str]) -> list[str]:
    """Plan lines with the statement's values replaced by ``?``.

    PostgreSQL prints the statement's values back (``Filter: (email =
    ''::text)``); the statement EXPLAINed carries neutral values only, and
    these go too, whatever reaches the plan. Strings go everywhere; numbers
    only in conditions, where the costs and row estimates of the plan are
    not.
    """
    redacted = []
    for line in lines:
        line = _PLAN_STRING.sub("?", line)
        condition = _PLAN_CONDITION.search(line)
        if condition:
            head, rest = line[: condition.end()], line[condition.end() :]
            line = head + _PLAN_NUMBER.sub("?", rest)
        redacted.append(line)
    return redacted


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


def _finding(context: Context, parts: list[_Candidate]) -> Finding:
    # The statement shown is the best proved, then the one that gains most.
    parts = sorted(
        parts,
        key=lambda c: (
            _CONFIDENCE_ORDER[c.diagnosis.confidence],
            -c.saved_ms_total,
        ),
    )
    main = parts[0]
    row, diagnosis = main.row, main.diagnosis
    stats = context.statement_stats
    in_groups = stats.calls["code"].isin([c.group for c in parts]).to_numpy()
    requests = max(pd.unique(stats.calls["request"].to_numpy()[in_groups]).size, 1)
    calls = sum(int(c.row["calls"]) for c in parts)
    total_ms = sum(float(c.row["total_ms"]) for c in parts)
    saved = sum(c.saved_ms_total for c in parts)
    statement = context.statements.loc[row["fingerprint"]]
    columns = ", ".join(diagnosis.columns)
    evidence = {
        "statement": statement["normalised"],
        "fingerprint": row["fingerprint"],
        "table": diagnosis.table,
        "columns": diagnosis.columns,
        "calls": calls,
        "count_per_request": round(calls / requests, 2),
        "total_ms": round(total_ms / requests, 3),
        "p95_ms": round(row["p95_ms"], 3),
        "mean_ms": round(row["mean_ms"], 3),
        "example_trace_id": context.trace_id(row["example"]),
        "plan": diagnosis.plan,
        "source": "query plan" if diagnosis.plan else "statement and timings",
    }
    if len(parts) > 1:
        evidence["fingerprints"] = [c.row["fingerprint"] for c in parts]
        evidence["other_statements"] = [
            context.statements.loc[c.row["fingerprint"]]["normalised"]
            for c in parts[1:]
        ]
    more = f" ({len(parts)} statements)" if len(parts) > 1 else ""
    return context.finding(
        KIND,
        row["service"],
        row["endpoint"],
        f"{diagnosis.table}({columns})",
        title=(
            f"Missing index on {diagnosis.table} ({columns}): "
            f"p95 {ms(row['p95_ms'])} over {calls} calls{more}"
        ),
        evidence=evidence,
        suggestion=diagnosis.suggestion,
        saved_ms_per_request=saved / requests,
        requests_affected=requests,
        confidence=diagnosis.confidence,
    )
