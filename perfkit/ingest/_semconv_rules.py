"""The rules of semantic-convention normalisation, written out plainly.

For each normalised column, the attributes that can fill it, the preferred
(new) name first; and :func:`normalise_reference`, which applies the rules one
lookup at a time. :func:`perfkit.ingest.semconv.normalise` compiles the same
rules into a plan per attribute shape and must agree with the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from perfkit.ingest.schema import KIND_SERVER

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

METHOD_KEYS: Final = ("http.request.method", "http.method")
ROUTE_KEYS: Final = ("http.route",)
STATUS_KEYS: Final = ("http.response.status_code", "http.status_code")
# Servers are known by path and query, clients by the full URL; http.path is
# what Brave (Zipkin) instrumentation records.
SERVER_URL_KEYS: Final = (
    "url.path",
    "http.target",
    "url.full",
    "http.url",
    "http.path",
)
CLIENT_URL_KEYS: Final = (
    "url.full",
    "http.url",
    "url.path",
    "http.target",
    "http.path",
)
# On a SERVER span net.peer.name is the client's address, not the server's.
SERVER_ADDRESS_KEYS: Final = (
    "server.address",
    "http.host",
    "net.host.name",
    "http.server_name",
)
CLIENT_ADDRESS_KEYS: Final = ("server.address", "net.peer.name", "http.host")
PEER_KEYS: Final = ("service.peer.name", "peer.service")
SYSTEM_KEYS: Final = ("db.system.name", "db.system")
STATEMENT_KEYS: Final = ("db.query.text", "db.statement", "sql.query")
OPERATION_KEYS: Final = ("db.operation.name", "db.operation")
TABLE_KEYS: Final = (
    "db.collection.name",
    "db.sql.table",
    "db.cassandra.table",
    "db.mongodb.collection",
    "db.cosmosdb.container",
)
NAMESPACE_KEYS: Final = (
    "db.namespace",
    "db.name",
    "db.redis.database_index",
    "db.mssql.instance_name",
)
#: Values of db.system renamed in db.system.name; the others are unchanged.
DB_SYSTEM_RENAMES: Final = {
    "mssql": "microsoft.sql_server",
    "oracle": "oracle.db",
    "db2": "ibm.db2",
    "cosmosdb": "azure.cosmosdb",
}
INT32_MAX: Final = 2**31 - 1


def normalise_reference(
    attributes: Mapping[str, object],
    kind: int,
    name: str,
    *,
    peer_service: str | None = None,
) -> Normalised:
    """The normalised columns of one span, rule by rule.

    :func:`perfkit.ingest.semconv.normalise` gives the same result faster;
    this is its reference, and its fallback for spans whose attributes hold
    nulls. Arguments and result are those of ``normalise``.
    """
    server = kind == KIND_SERVER

    def winner(keys: tuple[str, ...]) -> tuple[str | None, str | None]:
        # The first of ``keys`` that has a value, and that value as text.
        for key in keys:
            value = attributes.get(key)
            if value is not None:
                return key, text(value)
        return None, None

    method = winner(METHOD_KEYS)[1]
    if method == "_OTHER":
        method = text(attributes.get("http.request.method_original")) or method
    if method is not None:
        method = method.upper() or None
    route = winner(ROUTE_KEYS)[1]
    status_key = winner(STATUS_KEYS)[0]

    source = url_source(attributes, server)
    url = text(attributes[source.key]) if source.key is not None else None
    if source.with_query:
        query = text(attributes.get("url.query"))
        url = f"{url}?{query}" if query else url
    address_key, address = winner(
        SERVER_ADDRESS_KEYS if server else CLIENT_ADDRESS_KEYS
    )
    if address_key == "http.host" and address is not None:
        address = strip_port(address)
    elif source.host_from_url and url and "://" in url:
        address = url_host(url)

    system_key, system = winner(SYSTEM_KEYS)
    if system_key == "db.system" and system is not None:
        system = DB_SYSTEM_RENAMES.get(system, system)
    peer = winner(PEER_KEYS)[1]
    return (
        method,
        route,
        status_code(attributes[status_key]) if status_key else None,
        url,
        address,
        peer if peer is not None else peer_service,
        system,
        winner(STATEMENT_KEYS)[1],
        winner(OPERATION_KEYS)[1],
        winner(TABLE_KEYS)[1],
        winner(NAMESPACE_KEYS)[1],
        (f"{method} {route}" if method and route else name) if server else None,
    )


class UrlSource(NamedTuple):
    """Where a span's URL column comes from, and what is done with it."""

    #: The attribute the URL is taken from, or None.
    key: str | None
    #: The URL is ``url.path``, joined with ``url.query`` when that has a value.
    with_query: bool
    #: No address attribute has a value: the address is the URL's host.
    host_from_url: bool


def url_source(attributes: Mapping[str, object], server: bool) -> UrlSource:
    """Which attribute gives the URL, by the rules :func:`normalise_reference` uses.

    The first of the URL keys for the span's side that has a value (an
    attribute present with none, such as an empty AnyValue, is passed over).
    """

    def first(keys: tuple[str, ...]) -> str | None:
        return next((key for key in keys if attributes.get(key) is not None), None)

    key = first(SERVER_URL_KEYS if server else CLIENT_URL_KEYS)
    address = first(SERVER_ADDRESS_KEYS if server else CLIENT_ADDRESS_KEYS)
    return UrlSource(key, key == "url.path", key is not None and address is None)


def status_code(value: object) -> int | None:
    """An HTTP status code as an int, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= INT32_MAX:
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


def url_host(url: str) -> str | None:
    """The host name of a full URL, lowercase, or None.

    What ``urllib.parse.urlsplit(url).hostname`` gives, at a tenth of the cost:
    client spans without a host attribute need it one by one.
    """
    start = url.find("://")
    if start < 0:
        return None
    rest = url[start + 3 :]
    end = len(rest)
    for separator in "/?#":
        found = rest.find(separator, 0, end)
        if found >= 0:
            end = found
    host = rest[:end].rpartition("@")[2]
    if host.startswith("["):
        close = host.find("]")
        host = host[1:close] if close > 0 else ""
    else:
        host = host.partition(":")[0]
    return host.lower() or None


def text(value: object) -> str | None:
    """An attribute value as text: None stays None, booleans are lowercase."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
