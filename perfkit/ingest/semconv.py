"""Semantic-convention normalisation: old and new attribute names, one set of columns.

Instrumentations emit the old names by default, the new ones when opted in,
and both with ``/dup``; a single span can mix them (SQLAlchemy follows the
``http`` opt-in for host and port but ``database`` for ``db.*``). Every reader
passes a span's attributes through :func:`normalise`, which returns the
normalised columns of :data:`~perfkit.ingest.schema.SPAN_COLUMNS` from
``http_method`` to ``endpoint``. Where a span carries both names, the new one
wins; the raw attributes are stored unchanged beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import urlsplit

from perfkit.ingest.schema import KIND_SERVER

#: The normalised columns, in row order, that :func:`normalise` returns.
NORMALISED_COLUMNS: Final = (
    "http_method",
    "http_route",
    "http_status_code",
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

Normalised = tuple[
    str | None,  # http_method
    str | None,  # http_route
    int | None,  # http_status_code
    str | None,  # url
    str | None,  # server_address
    str | None,  # peer_service
    str | None,  # db_system
    str | None,  # db_statement
    str | None,  # db_operation
    str | None,  # db_table
    str | None,  # db_namespace
    str | None,  # endpoint
]

# Values of db.system renamed in db.system.name; the others are unchanged.
_DB_SYSTEM_RENAMES: Final = {
    "mssql": "microsoft.sql_server",
    "oracle": "oracle.db",
    "db2": "ibm.db2",
    "cosmosdb": "azure.cosmosdb",
}
# Where the collection (table) name lives, newest first.
_TABLE_KEYS: Final = (
    "db.collection.name",
    "db.sql.table",
    "db.cassandra.table",
    "db.mongodb.collection",
    "db.cosmosdb.container",
)
_INT32_MAX: Final = 2**31 - 1
_NO_DB: Final = (None, None, None, None, None)

# Every attribute normalise() reads, by group.
_HTTP_KEYS: Final = frozenset(
    {
        "http.request.method",
        "http.method",
        "http.route",
        "http.response.status_code",
        "http.status_code",
        "url.full",
        "http.url",
        "url.path",
        "http.target",
        "http.path",
    }
)
_ADDRESS_KEYS: Final = frozenset(
    {
        "server.address",
        "net.peer.name",
        "http.host",
        "net.host.name",
        "http.server_name",
    }
)
_PEER_KEYS: Final = frozenset({"service.peer.name", "peer.service"})
_DB_KEYS: Final = frozenset(
    {
        "db.system.name",
        "db.system",
        "db.query.text",
        "db.statement",
        "sql.query",
        "db.operation.name",
        "db.operation",
        "db.namespace",
        "db.name",
        "db.redis.database_index",
        "db.mssql.instance_name",
        *_TABLE_KEYS,
    }
)
_KNOWN_KEYS: Final = _HTTP_KEYS | _ADDRESS_KEYS | _PEER_KEYS | _DB_KEYS

Getter = Callable[[str], object]


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
    # Most spans carry one group of conventions or none: look only at those.
    present = _KNOWN_KEYS.intersection(attributes) if attributes else None
    if not present:
        endpoint = name if kind == KIND_SERVER else None
        return (None, None, None, None, None, peer_service, *_NO_DB, endpoint)
    get = attributes.get

    method = route = status = url = None
    if not present.isdisjoint(_HTTP_KEYS):
        method = http_method(get)
        route = _text(get("http.route"))
        status = _status(get("http.response.status_code"), get("http.status_code"))
        url = _url(get, kind)
    address = None
    if not present.isdisjoint(_ADDRESS_KEYS) or (url and "://" in url):
        address = _server_address(get, kind, url)
    if not present.isdisjoint(_PEER_KEYS):
        peer_service = _text(_first(get("service.peer.name"), get("peer.service")))
    database = _NO_DB if present.isdisjoint(_DB_KEYS) else _database(get)

    endpoint = None
    if kind == KIND_SERVER:
        endpoint = f"{method} {route}" if method and route else name
    return (method, route, status, url, address, peer_service, *database, endpoint)


def _database(get: Getter) -> tuple[str | None, ...]:
    return (
        _db_system(get),
        _text(_first(get("db.query.text"), get("db.statement"), get("sql.query"))),
        _text(_first(get("db.operation.name"), get("db.operation"))),
        _text(_first(*[get(key) for key in _TABLE_KEYS])),
        _namespace(get),
    )


def http_method(get: Getter) -> str | None:
    """The HTTP request method, upper case; ``_OTHER`` gives way to the original."""
    method = get("http.request.method")
    if method == "_OTHER":
        method = get("http.request.method_original") or method
    if method is None:
        method = get("http.method")
    text = _text(method)
    return text.upper() if text else None


def _url(get: Getter, kind: int) -> str | None:
    # Servers are known by path and query, clients by the full URL.
    full = _first(get("url.full"), get("http.url"))
    if kind != KIND_SERVER and full is not None:
        return _text(full)
    path = get("url.path")
    if path is not None:
        query = get("url.query")
        return f"{path}?{query}" if query else _text(path)
    # http.path is what Brave (Zipkin) instrumentation records.
    return _text(_first(get("http.target"), full, get("http.path")))


def _server_address(get: Getter, kind: int, url: str | None) -> str | None:
    address = get("server.address")
    if address is None and kind != KIND_SERVER:
        address = get("net.peer.name")
    if address is None:
        host = get("http.host")
        address = strip_port(host) if isinstance(host, str) else host
    if address is None and kind == KIND_SERVER:
        address = _first(get("net.host.name"), get("http.server_name"))
    if address is None and url and "://" in url:
        address = _url_host(url)
    return _text(address)


def _db_system(get: Getter) -> str | None:
    system = get("db.system.name")
    if system is None:
        system = get("db.system")
        if isinstance(system, str):
            system = _DB_SYSTEM_RENAMES.get(system, system)
    return _text(system)


def _namespace(get: Getter) -> str | None:
    return _text(
        _first(
            get("db.namespace"),
            get("db.name"),
            get("db.redis.database_index"),
            get("db.mssql.instance_name"),
        )
    )


def _status(new: object, old: object) -> int | None:
    value = old if new is None else new
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= _INT32_MAX:
        return value
    return None


def strip_port(host: str) -> str:
    """``example.com:8080`` -> ``example.com``; IPv6 ``[::1]:80`` -> ``::1``."""
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _first(*values: object) -> object:
    for value in values:
        if value is not None:
            return value
    return None


def _text(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
