"""The three tables analysis works on: requests, database calls, HTTP calls.

Each is cut from the span frame once, with every column the statistics and
the detectors need already attached (the request a call belongs to, its
fingerprint, its URL template), so no detector goes back to the raw spans
except to quote an example. The tables hold numbers and categoricals only;
texts (trace ids, raw statements) stay in the span frame and are looked up by
position for the few findings that quote them, which keeps a million spans
within memory.

* A *request* is a SERVER span. Its endpoint is the span's ``endpoint``
  column (``"GET /books/{id}"``), or its name when that is missing. Without
  an ``http.route`` the endpoint is the span's name, and a path in it is
  templated like an outgoing URL (``"GET /books/42?x=1"`` becomes
  ``"GET /books/{id}"``).
* A *database call* is a CLIENT span with ``db.system`` or a statement. Calls
  without a statement (SQLAlchemy's ``connect``) count as database time but
  not as queries. When two instrumentations record the same query (SQLAlchemy
  and the driver), the inner span is dropped: a span lying within the span
  before it, with the same fingerprint but another instrumentation scope.
* An *HTTP call* is any other CLIENT span with a URL, method, server address
  or peer service, except one directly under another CLIENT span (the
  transport layer under an HTTP library's span).

Every table is indexed by the span's position in the span frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfkit.analysis._arrow import rows_containing
from perfkit.analysis.fingerprint import (
    endpoint_template,
    fingerprint_statements,
    sqlglot_dialect,
    template_urls,
)
from perfkit.analysis.grouped import group_codes, sort_by_group
from perfkit.analysis.tree import SpanTree
from perfkit.ingest.schema import KIND_CLIENT, KIND_SERVER, STATUS_ERROR

_NS_PER_MS = 1e6

# Recorded parameter values: dbapi's capture_parameters and the semantic
# conventions' db.query.parameter.<key>.
_PARAMETERS = (
    r'"(?:db\.statement\.parameters|db\.query\.parameter\.[^"]+)"\s*:\s*'
    r'("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,}]+)'
)


@dataclass(frozen=True)
class Frames:
    """Requests, database calls and HTTP calls of one run.

    Attributes:
        requests: ``service`` and ``endpoint`` (categorical), ``start_ns``,
            ``end_ns``, ``duration_ms``, ``error``, ``client_error``.
        db: The columns of every call (see :func:`_calls`), plus
            ``fingerprint`` (categorical, NaN without a statement),
            ``params`` (hash of inline values, or NA), ``recorded_params``
            (hash of recorded values, or NA) and ``dialect``.
        http: The columns of every call, plus ``method``, ``host`` and
            ``template`` (``"GET http://host/stock/{id}"``).
        statements: One row per fingerprint: ``normalised``, ``operation``,
            ``tables``.
    """

    requests: pd.DataFrame
    db: pd.DataFrame
    http: pd.DataFrame
    statements: pd.DataFrame


def build_frames(spans: pd.DataFrame, tree: SpanTree) -> Frames:
    """Cut the request and call tables out of a span frame."""
    requests = _requests(spans)
    db, statements = _db_calls(spans, tree, requests)
    return Frames(
        requests=requests,
        db=db,
        http=_http_calls(spans, tree, requests),
        statements=statements,
    )


def _requests(spans: pd.DataFrame) -> pd.DataFrame:
    rows = np.flatnonzero(spans["kind"].to_numpy() == KIND_SERVER)
    start = spans["start_ns"].to_numpy()[rows]
    end = spans["end_ns"].to_numpy()[rows]
    http = spans["http_status_code"].array.take(rows)
    status = pd.array(http, dtype="Float64").fillna(0).to_numpy(dtype=float)
    client_error = (status >= 400) & (status < 500)
    span_error = spans["status_code"].to_numpy()[rows] == STATUS_ERROR
    # Without a route, the endpoint is the span's name, which may hold the
    # raw path: its ids are templated and its query string dropped, as for
    # outgoing URLs, so /users/1 and /users/2 are one endpoint. Worked out
    # once per distinct (endpoint, name, routed), then spread over the rows.
    given, name = spans["endpoint"].iloc[rows], spans["name"].iloc[rows]
    routed = spans["http_route"].iloc[rows].notna().to_numpy(dtype=bool)
    combination, first = group_codes(given, name, routed)
    endpoint = given.iloc[first].fillna(name.iloc[first]).fillna("")
    codes, names = pd.factorize(endpoint)
    templated = np.array([endpoint_template(str(n)) for n in names], dtype=object)
    named = np.where(routed[first], endpoint.to_numpy(dtype=object), templated[codes])
    return pd.DataFrame(
        {
            "service": pd.Categorical(spans["service_name"].iloc[rows].fillna("")),
            "endpoint": pd.Categorical(named).take(combination),
            "start_ns": start,
            "end_ns": end,
            "duration_ms": (end - start) / _NS_PER_MS,
            "error": (status >= 500) | (span_error & ~client_error),
            "client_error": client_error,
        },
        index=pd.Index(rows, name="pos"),
    )


def _calls(
    spans: pd.DataFrame, rows: np.ndarray, tree: SpanTree, requests: pd.DataFrame
) -> pd.DataFrame:
    """Columns every call carries: ``request`` and ``parent`` (positions, -1
    for none), ``service`` and ``endpoint`` of its request, ``start_ns``,
    ``end_ns``, ``duration_ms``, ``weight`` (spans it stands for), ``scope``
    (instrumentation, as a code) and ``error``."""
    request = tree.request[rows]
    owner = np.searchsorted(requests.index.to_numpy(), request)
    owner = np.where(request >= 0, owner, -1)
    start = spans["start_ns"].to_numpy()[rows]
    end = spans["end_ns"].to_numpy()[rows]
    scope = pd.factorize(spans["scope_name"])[0][rows]
    return pd.DataFrame(
        {
            "request": request,
            "parent": tree.parent[rows],
            "service": requests["service"].array.take(owner, allow_fill=True),
            "endpoint": requests["endpoint"].array.take(owner, allow_fill=True),
            "start_ns": start,
            "end_ns": end,
            "duration_ms": (end - start) / _NS_PER_MS,
            "weight": np.maximum(spans["composite_count"].to_numpy()[rows], 1),
            "scope": scope,
            "error": spans["status_code"].to_numpy()[rows] == STATUS_ERROR,
        },
        index=pd.Index(rows, name="pos"),
    )


def _db_calls(
    spans: pd.DataFrame, tree: SpanTree, requests: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    is_db = (spans["db_system"].notna() | spans["db_statement"].notna()).to_numpy()
    rows = np.flatnonzero((spans["kind"].to_numpy() == KIND_CLIENT) & is_db)
    calls = _calls(spans, rows, tree, requests)
    # Statements are fingerprinted over the whole column, so that their text
    # is never copied: only codes are taken for the calls' rows.
    system, systems = pd.factorize(spans["db_system"])
    names = [sqlglot_dialect(str(s)) for s in systems]
    dialects, dialect_codes = pd.factorize(pd.Series(names, dtype="object"))
    per_span = np.where(system >= 0, dialects[system] if len(names) else -1, -1)
    categories = pd.Index(dialect_codes, dtype="object")
    dialect = pd.Categorical.from_codes(per_span, categories=categories)
    found = fingerprint_statements(spans["db_statement"], pd.Series(dialect))
    calls["dialect"] = dialect.take(rows)
    calls["fingerprint"] = found.fingerprint.array.take(rows)
    calls["params"] = found.params.array.take(rows)
    calls["recorded_params"] = _recorded_parameters(spans, rows)
    return calls[~_duplicated(calls)], found.statements


def _recorded_parameters(
    spans: pd.DataFrame, rows: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """A hash of each call's recorded parameter values, or NA."""
    out = pd.array(np.zeros(len(rows), dtype=np.int64), dtype="Int64")
    out[:] = pd.NA
    # Test the whole column first (one search over its bytes), and copy only
    # the few hits.
    carrying = rows_containing(spans["attributes"], "parameter")
    if carrying is None:
        contains = spans["attributes"].str.contains("parameter", regex=False)
        carrying = contains.fillna(False).to_numpy(dtype=bool)
    hits = np.flatnonzero(carrying[rows])
    if hits.size == 0:
        return out
    attributes = spans["attributes"].iloc[rows[hits]].reset_index(drop=True)
    found = attributes.str.extractall(_PARAMETERS)[0]
    joined = found.groupby(level=0).agg("\x1f".join)
    hashed = pd.util.hash_array(joined.to_numpy(dtype=object)).astype(np.int64)
    out[hits[joined.index.to_numpy()]] = hashed
    return out


def _duplicated(calls: pd.DataFrame) -> np.ndarray:
    """Calls lying within the previous call of the same request and statement
    but recorded by another instrumentation."""
    if calls.empty:
        return np.zeros(0, dtype=bool)
    fingerprint = calls["fingerprint"].cat.codes.to_numpy().astype(np.int64)
    start = calls["start_ns"].to_numpy()
    # By request and fingerprint as one number, then start: one sort of int64
    # keys. Only where two calls of a group start together does the longer
    # first rule need the full lexsort.
    pair = (calls["request"].to_numpy() + 1) * (int(fingerprint.max()) + 2)
    pair += fingerprint + 1
    order = sort_by_group(pair, start)
    ordered_pair, ordered_start = pair[order], start[order]
    if np.any(
        (ordered_pair[1:] == ordered_pair[:-1])
        & (ordered_start[1:] == ordered_start[:-1])
    ):
        order = np.lexsort(
            (
                -calls["end_ns"].to_numpy(),
                start,
                fingerprint,
                calls["request"].to_numpy(),
            )
        )
    request = calls["request"].to_numpy()[order]
    fp = fingerprint[order]
    end = calls["end_ns"].to_numpy()[order]
    scope = calls["scope"].to_numpy()[order]
    inner = np.zeros(len(order), dtype=bool)
    inner[1:] = (
        (request[1:] == request[:-1])
        & (fp[1:] == fp[:-1])
        & (fp[1:] >= 0)
        & (end[1:] <= end[:-1])
        & (scope[1:] != scope[:-1])
    )
    duplicated = np.zeros(len(order), dtype=bool)
    duplicated[order] = inner
    return duplicated


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
    template = template_urls(spans["url"].iloc[rows])
    # Method, host and template follow from the URL template, server address,
    # peer service and method: worked out once per distinct combination.
    columns = ["server_address", "peer_service", "http_method"]
    combination, first = group_codes(template, *(spans[c].iloc[rows] for c in columns))
    cut = spans[columns].iloc[rows[first]]
    template = template.iloc[first]
    names = template.cat.categories
    code = template.cat.codes.to_numpy()
    per_template = names.str.extract(r"^[a-z][a-z0-9+.-]*://([^/]+)", expand=False)
    hosts = np.concatenate([per_template.to_numpy(dtype=object), [None]])
    url_host = pd.Series(hosts[code], index=cut.index, dtype="string")  # -1: None
    host = cut["server_address"].fillna(url_host).fillna(cut["peer_service"])
    text = template.astype("string")
    # A relative URL gets the host in front, so the template names the target.
    relative = np.asarray(names.str.startswith("/"), dtype=bool)
    relative = np.where(code >= 0, relative[code] if len(names) else False, False)
    text = text.where(~(relative & host.notna().to_numpy()), host + text).fillna(host)
    method = cut["http_method"].fillna("")
    calls["method"] = pd.Categorical(method).take(combination)
    calls["host"] = pd.Categorical(host.fillna("")).take(combination)
    template_text = (method + " " + text.fillna("")).str.strip()
    calls["template"] = pd.Categorical(template_text).take(combination)
    return calls
