"""The three tables analysis works on: requests, database calls, HTTP calls.

Each is cut from the span frame once, with every column the statistics and
the detectors need already attached (the request a call belongs to, its
fingerprint, its URL template), so no detector goes back to the raw spans.

* A *request* is a SERVER span. Its endpoint is the span's ``endpoint``
  column (``"GET /books/{id}"``), or its name when that is missing.
* A *database call* is a CLIENT span with ``db.system`` or a statement. Calls
  without a statement (SQLAlchemy's ``connect``) count as database time but
  not as queries. When two instrumentations record the same query (SQLAlchemy
  and the driver), the inner span is dropped: a span lying within the span
  before it, with the same fingerprint but another instrumentation scope.
* An *HTTP call* is any other CLIENT span with a URL, method, server address
  or peer service, except one directly under another CLIENT span (the
  transport layer under an HTTP library's span).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfkit.analysis.fingerprint import (
    fingerprint_statements,
    sqlglot_dialect,
    template_urls,
)
from perfkit.analysis.tree import SpanTree
from perfkit.ingest.schema import KIND_CLIENT, KIND_SERVER, STATUS_ERROR

_NS_PER_MS = 1e6

# Recorded parameter values: dbapi's capture_parameters and the semantic
# conventions' db.query.parameter.<key>.
_PARAMETERS = (
    r'"(?:db\.statement\.parameters|db\.query\.parameter\.[^"]+)"\s*:\s*'
    r'("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,}]+)'
)


_REQUEST_COLUMNS = (
    "trace_id",
    "service_name",
    "endpoint",
    "name",
    "start_ns",
    "end_ns",
    "status_code",
    "http_status_code",
)
_CALL_COLUMNS = (
    "trace_id",
    "name",
    "start_ns",
    "end_ns",
    "composite_count",
    "scope_name",
    "status_code",
)
_HTTP_COLUMNS = ("url", "server_address", "peer_service", "http_method", "http_status_code")


def _cut(spans: pd.DataFrame, rows: np.ndarray, columns: tuple[str, ...]) -> pd.DataFrame:
    """Some columns of some rows: copying only these keeps it cheap."""
    return spans[list(columns)].iloc[rows]


@dataclass(frozen=True)
class Frames:
    """Requests, database calls and HTTP calls of one run."""

    requests: pd.DataFrame
    db: pd.DataFrame
    http: pd.DataFrame


def build_frames(spans: pd.DataFrame, tree: SpanTree) -> Frames:
    """Cut the request and call tables out of a span frame."""
    requests = _requests(spans)
    return Frames(
        requests=requests,
        db=_db_calls(spans, tree, requests),
        http=_http_calls(spans, tree, requests),
    )


def _requests(spans: pd.DataFrame) -> pd.DataFrame:
    rows = np.flatnonzero(spans["kind"].to_numpy() == KIND_SERVER)
    cut = _cut(spans, rows, _REQUEST_COLUMNS)
    status = cut["http_status_code"].astype("Float64").fillna(0).to_numpy(float)
    client_error = (status >= 400) & (status < 500)
    error = (status >= 500) | (
        (cut["status_code"].to_numpy() == STATUS_ERROR) & ~client_error
    )
    return pd.DataFrame(
        {
            "trace_id": cut["trace_id"].to_numpy(),
            "service": cut["service_name"].fillna("").to_numpy(),
            "endpoint": cut["endpoint"].fillna(cut["name"]).fillna("").to_numpy(),
            "start_ns": cut["start_ns"].to_numpy(),
            "end_ns": cut["end_ns"].to_numpy(),
            "duration_ms": (cut["end_ns"] - cut["start_ns"]).to_numpy() / _NS_PER_MS,
            "error": error,
            "client_error": client_error,
        },
        index=pd.Index(rows, name="pos"),
    )


def _calls(
    spans: pd.DataFrame, rows: np.ndarray, tree: SpanTree, requests: pd.DataFrame
) -> pd.DataFrame:
    """Columns every call carries: where it sits, when, and for whom."""
    cut = _cut(spans, rows, _CALL_COLUMNS)
    request = tree.request[rows]
    owner = requests.reindex(request)
    weight = cut["composite_count"].to_numpy()
    return pd.DataFrame(
        {
            "request": request,
            "parent": tree.parent[rows],
            "trace_id": cut["trace_id"].to_numpy(),
            "service": owner["service"].to_numpy(),
            "endpoint": owner["endpoint"].to_numpy(),
            "name": cut["name"].to_numpy(),
            "start_ns": cut["start_ns"].to_numpy(),
            "end_ns": cut["end_ns"].to_numpy(),
            "duration_ms": (cut["end_ns"] - cut["start_ns"]).to_numpy() / _NS_PER_MS,
            "weight": np.maximum(weight, 1),
            "scope": cut["scope_name"].to_numpy(),
            "error": cut["status_code"].to_numpy() == STATUS_ERROR,
        },
        index=pd.Index(rows, name="pos"),
    )


def _db_calls(
    spans: pd.DataFrame, tree: SpanTree, requests: pd.DataFrame
) -> pd.DataFrame:
    is_db = spans["db_system"].notna() | spans["db_statement"].notna()
    rows = np.flatnonzero((spans["kind"].to_numpy() == KIND_CLIENT) & is_db.to_numpy())
    calls = _calls(spans, rows, tree, requests)
    cut = _cut(spans, rows, ("db_system", "db_statement", "attributes"))
    dialect = cut["db_system"].astype("object").map(sqlglot_dialect, na_action="ignore")
    calls["db_system"] = cut["db_system"].to_numpy()
    calls["dialect"] = dialect.to_numpy()
    calls["statement"] = cut["db_statement"].to_numpy()
    found = fingerprint_statements(cut["db_statement"], dialect)
    for column in found.columns:
        calls[column] = found[column].to_numpy()
    calls["recorded_params"] = _recorded_parameters(cut["attributes"]).to_numpy()
    return calls[~_duplicated(calls)]


def _recorded_parameters(attributes: pd.Series) -> pd.Series:
    """The recorded parameter values of each call as one string, or NA."""
    out = pd.Series(pd.NA, index=attributes.index, dtype="string")
    carrying = attributes.str.contains("parameter", regex=False).fillna(False)
    if not carrying.any():
        return out
    found = attributes[carrying].str.extractall(_PARAMETERS)[0]
    joined = found.groupby(level=0).agg("\x1f".join)
    out[joined.index] = joined.to_numpy()
    return out


def _duplicated(calls: pd.DataFrame) -> np.ndarray:
    """Calls lying within the previous call of the same request and statement
    but recorded by another instrumentation."""
    if calls.empty:
        return np.zeros(0, dtype=bool)
    ordered = calls.sort_values(
        ["request", "fingerprint", "start_ns", "end_ns"],
        ascending=[True, True, True, False],
    )
    same = (
        (ordered["request"] == ordered["request"].shift())
        & (ordered["fingerprint"] == ordered["fingerprint"].shift()).fillna(False)
        & (ordered["end_ns"] <= ordered["end_ns"].shift())
        & (ordered["scope"] != ordered["scope"].shift()).fillna(False)
    )
    return same.reindex(calls.index).to_numpy(dtype=bool)


def _http_calls(
    spans: pd.DataFrame, tree: SpanTree, requests: pd.DataFrame
) -> pd.DataFrame:
    kind = spans["kind"].to_numpy()
    is_db = (spans["db_system"].notna() | spans["db_statement"].notna()).to_numpy()
    addressed = (
        spans["url"].notna()
        | spans["http_method"].notna()
        | spans["server_address"].notna()
        | spans["peer_service"].notna()
    ).to_numpy()
    parent_kind = np.where(tree.parent >= 0, kind[np.maximum(tree.parent, 0)], -1)
    rows = np.flatnonzero(
        (kind == KIND_CLIENT) & ~is_db & addressed & (parent_kind != KIND_CLIENT)
    )
    calls = _calls(spans, rows, tree, requests)
    cut = _cut(spans, rows, _HTTP_COLUMNS)

    url = cut["url"]
    template = template_urls(url)
    url_host = template.str.extract(r"^[a-z][a-z0-9+.-]*://([^/]+)", expand=False)
    host = cut["server_address"].fillna(url_host).fillna(cut["peer_service"])
    # A relative URL gets the host in front, so the template names the target.
    relative = template.str.startswith("/").fillna(False) & host.notna()
    template = template.where(~relative, host + template).fillna(host)
    method = cut["http_method"].fillna("")
    calls["method"] = method.to_numpy()
    calls["host"] = host.fillna("").to_numpy()
    calls["template"] = (method + " " + template.fillna("")).str.strip().to_numpy()
    calls["status"] = cut["http_status_code"].to_numpy()
    return calls
