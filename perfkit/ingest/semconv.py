"""Semantic-convention normalisation: old and new attribute names, one set of columns.

Instrumentations emit the old names by default, the new ones when opted in,
and both with ``/dup``; a single span can mix them (SQLAlchemy follows the
``http`` opt-in for host and port but ``database`` for ``db.*``). Every reader
passes a span's attributes through :func:`normalise`, which returns the
normalised columns of :data:`~perfkit.ingest.schema.SPAN_COLUMNS` from
``http_method`` to ``endpoint``. Where a span carries both names, the new one
wins; the raw attributes are stored unchanged beside them.

The rules are in :mod:`perfkit.ingest._semconv_rules`. Spans from one
instrumentation carry the same attribute names span after span, so the rules
are resolved once per *shape* (which known names are present, and whether
the span is a SERVER span) into a plan of which attribute fills which column;
a span then costs one lookup per column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

from perfkit.ingest._semconv_rules import (
    CLIENT_ADDRESS_KEYS,
    CLIENT_URL_KEYS,
    DB_SYSTEM_RENAMES,
    INT32_MAX,
    METHOD_KEYS,
    NAMESPACE_KEYS,
    OPERATION_KEYS,
    PEER_KEYS,
    ROUTE_KEYS,
    SERVER_ADDRESS_KEYS,
    SERVER_URL_KEYS,
    STATEMENT_KEYS,
    STATUS_KEYS,
    SYSTEM_KEYS,
    TABLE_KEYS,
    Normalised,
    normalise_reference,
    status_code,
    strip_port,
    text,
    url_host,
)
from perfkit.ingest.schema import COLUMN_INDEX, COLUMN_NAMES, KIND_SERVER

__all__ = [
    "NORMALISED_COLUMNS",
    "NORMALISE_KEYS",
    "Normalised",
    "normalise",
    "strip_port",
]

#: The normalised columns, in row order, that :func:`normalise` returns: the
#: run of span columns from ``http_method`` to ``endpoint``.
NORMALISED_COLUMNS: Final = COLUMN_NAMES[
    COLUMN_INDEX["http_method"] : COLUMN_INDEX["endpoint"] + 1
]

_KNOWN_KEYS: Final = frozenset(
    (
        *METHOD_KEYS,
        *ROUTE_KEYS,
        *STATUS_KEYS,
        *SERVER_URL_KEYS,
        *CLIENT_URL_KEYS,
        "url.query",
        *SERVER_ADDRESS_KEYS,
        *CLIENT_ADDRESS_KEYS,
        *PEER_KEYS,
        *SYSTEM_KEYS,
        *STATEMENT_KEYS,
        *OPERATION_KEYS,
        *TABLE_KEYS,
        *NAMESPACE_KEYS,
    )
)
#: Every attribute key :func:`normalise` reads: its result depends on these
#: keys' values, the span kind being SERVER or not, and a SERVER span's name,
#: and on nothing else. Readers that normalise each distinct combination once
#: rely on it.
NORMALISE_KEYS: Final = _KNOWN_KEYS | {"http.request.method_original"}
_ONLY_TEXT: Final = frozenset({str})
_PLAN_LIMIT: Final = 10_000
_NONE_INDEX: Final = -2  # in the fetched values, followed by None...
_HINT_INDEX: Final = -1  # ...and the peer-service hint


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which attribute fills which column, for one shape of span.

    ``fetch`` takes the winning attributes' values in one call; ``arrange``
    puts them, None and the peer-service hint, into the twelve columns, with
    None for the status code and the endpoint, which need more work.
    """

    fetch: Callable[[Mapping[str, object]], tuple[object, ...]]
    arrange: Callable[[tuple[object, ...]], Normalised]
    status_key: str | None
    simple: bool  # a lookup is all: no status, method, endpoint, URL work
    url_query: bool  # the URL is url.path, joined with url.query
    strip_host: bool  # the address is http.host, which may carry a port
    host_from_url: bool  # no address attribute: take the URL's host
    rename_system: bool  # db.system, some of whose old values were renamed


_PLANS: dict[tuple[tuple[str, ...], bool], _Plan | None] = {}


def normalise(
    attributes: Mapping[str, object],
    kind: int,
    name: str,
    *,
    peer_service: str | None = None,
) -> Normalised:
    """The normalised columns of one span.

    Args:
        attributes: the span's attributes as plain Python values.
        kind: the OTLP SpanKind number.
        name: the span name, the endpoint of a SERVER span without a route.
        peer_service: a remote service name known from outside the attributes
            (Zipkin's ``remoteEndpoint.serviceName``), used when neither
            ``service.peer.name`` nor ``peer.service`` is set.

    Returns:
        A tuple in the order of :data:`NORMALISED_COLUMNS`.
    """
    server = kind == KIND_SERVER
    shape = (tuple(attributes), server)
    plan = _PLANS.get(shape, _NO_PLAN) if attributes else None
    if plan is _NO_PLAN:
        plan = _plan(shape)
    if plan is None:
        endpoint = name if server else None
        return (None, None, None, None, None, peer_service, *(None,) * 5, endpoint)

    values = plan.fetch(attributes)
    try:
        # The cheapest proof that every value is a string.
        "".join(values)  # type: ignore[arg-type]
    except TypeError:
        if None in values:
            # A present attribute holds null: let the rules skip it.
            return normalise_reference(
                attributes, kind, name, peer_service=peer_service
            )
        values = tuple(map(text, values))
    row = plan.arrange((*values, None, peer_service))
    if plan.simple and row[_SYSTEM] not in DB_SYSTEM_RENAMES:
        return row
    return _finish(row, plan, attributes, name if server else None)


def _finish(
    row: tuple[Any, ...],
    plan: _Plan,
    attributes: Mapping[str, object],
    server_name: str | None,
) -> Normalised:
    # The columns that need more than a lookup, for the plans that have them.
    method, route, _, url, address, peer, system, *database, _ = row
    if plan.rename_system:
        system = DB_SYSTEM_RENAMES.get(system, system)
    if method is not None:
        if method == "_OTHER":
            method = text(attributes.get("http.request.method_original")) or method
        method = method.upper() or None
    if plan.url_query:
        query = text(attributes.get("url.query"))
        url = f"{url}?{query}" if query else url
    if plan.strip_host:
        address = strip_port(address)
    elif plan.host_from_url and url and "://" in url:
        address = url_host(url)
    status = None
    if plan.status_key is not None:
        status = attributes[plan.status_key]
        if type(status) is not int or not 0 <= status <= INT32_MAX:
            status = status_code(status)
    endpoint = None
    if server_name is not None:
        endpoint = f"{method} {route}" if method and route else server_name
    return (method, route, status, url, address, peer, system, *database, endpoint)


_NO_PLAN: Final = _Plan(
    fetch=tuple,
    arrange=tuple,  # type: ignore[arg-type]
    status_key=None,
    simple=False,
    url_query=False,
    strip_host=False,
    host_from_url=False,
    rename_system=False,
)


def _plan(shape: tuple[tuple[str, ...], bool]) -> _Plan | None:
    names, server = shape
    present = _KNOWN_KEYS.intersection(names)
    plan = _make_plan(present, server) if present else None
    if len(_PLANS) >= _PLAN_LIMIT:
        _PLANS.clear()
    _PLANS[shape] = plan
    return plan


def _make_plan(present: frozenset[str], server: bool) -> _Plan:
    def pick(keys: tuple[str, ...]) -> str | None:
        return next((key for key in keys if key in present), None)

    method_key = pick(METHOD_KEYS)
    url_key = pick(SERVER_URL_KEYS if server else CLIENT_URL_KEYS)
    address_key = pick(SERVER_ADDRESS_KEYS if server else CLIENT_ADDRESS_KEYS)
    system_key = pick(SYSTEM_KEYS)
    columns = (
        method_key,
        pick(ROUTE_KEYS),
        None,  # the status code, worked out by _finish
        url_key,
        address_key,
        pick(PEER_KEYS),
        system_key,
        pick(STATEMENT_KEYS),
        pick(OPERATION_KEYS),
        pick(TABLE_KEYS),
        pick(NAMESPACE_KEYS),
        None,  # the endpoint, likewise
    )
    keys = [key for key in columns if key is not None]
    positions = []
    for column, key in enumerate(columns):
        if key is not None:
            positions.append(keys.index(key))
        elif column == _PEER:
            positions.append(len(keys) + 2 + _HINT_INDEX)
        else:
            positions.append(len(keys) + 2 + _NONE_INDEX)
    status_key = pick(STATUS_KEYS)
    url_query = url_key == "url.path" and "url.query" in present
    strip_host = address_key == "http.host"
    host_from_url = address_key is None and url_key is not None
    fix = method_key is not None or url_query or strip_host or host_from_url
    return _Plan(
        fetch=_getter(keys),
        arrange=itemgetter(*positions),
        status_key=status_key,
        simple=not (server or fix or status_key),
        url_query=url_query,
        strip_host=strip_host,
        host_from_url=host_from_url,
        rename_system=system_key == "db.system",
    )


_PEER: Final = 5
_SYSTEM: Final = 6


def _getter(keys: list[str]) -> Callable[[Mapping[str, object]], tuple[object, ...]]:
    # itemgetter returns a bare value for one key, and takes no fewer.
    if not keys:
        return lambda attributes: ()
    if len(keys) == 1:
        (key,) = keys
        return lambda attributes: (attributes[key],)
    return itemgetter(*keys)
