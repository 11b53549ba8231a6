"""Old and new semantic-convention names map to one set of columns."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfkit.ingest import _semconv_rules as semconv_rules
from perfkit.ingest.schema import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER
from perfkit.ingest.semconv import NORMALISED_COLUMNS, normalise, strip_port


def columns(
    attributes: dict[str, Any], kind: int = KIND_CLIENT, name: str = "span", **kw: Any
) -> dict[str, Any]:
    values = normalise(attributes, kind, name, **kw)
    return dict(zip(NORMALISED_COLUMNS, values, strict=True))


def test_old_http_server_span_from_django() -> None:
    got = columns(
        {
            "http.method": "get",
            "http.route": "users/<int:pk>/",
            "http.status_code": "404",
            "http.target": "/users/7?x=1",
            "http.host": "api.local:8000",
        },
        KIND_SERVER,
        "GET users/<int:pk>/",
    )
    assert got["http_method"] == "GET"
    # Django's route has no leading slash and is kept as written.
    assert got["http_route"] == "users/<int:pk>/"
    assert got["http_status_code"] == 404
    assert got["url"] == "/users/7?x=1"
    assert got["server_address"] == "api.local"
    assert got["endpoint"] == "GET users/<int:pk>/"


def test_new_names_win_when_a_span_carries_both() -> None:
    got = columns(
        {
            "http.method": "GET",
            "http.request.method": "POST",
            "http.status_code": 200,
            "http.response.status_code": 201,
            "http.url": "http://old.example/a",
            "url.full": "http://new.example/b",
            "net.peer.name": "old.example",
            "server.address": "new.example",
            "peer.service": "old-svc",
            "service.peer.name": "new-svc",
        }
    )
    assert got["http_method"] == "POST"
    assert got["http_status_code"] == 201
    assert got["url"] == "http://new.example/b"
    assert got["server_address"] == "new.example"
    assert got["peer_service"] == "new-svc"


def test_other_method_gives_way_to_the_original() -> None:
    got = columns(
        {"http.request.method": "_OTHER", "http.request.method_original": "PURGE"}
    )
    assert got["http_method"] == "PURGE"


def test_flask_route_is_kept_as_the_framework_wrote_it() -> None:
    got = columns(
        {"http.request.method": "GET", "http.route": "/users/<int:id>"},
        KIND_SERVER,
        "GET /users/<int:id>",
    )
    assert got["endpoint"] == "GET /users/<int:id>"


def test_server_span_without_route_falls_back_to_its_name() -> None:
    # Flask sets no http.route on a 404.
    got = columns(
        {"http.method": "GET", "http.target": "/nope"}, KIND_SERVER, "HTTP GET"
    )
    assert got["http_route"] is None
    assert got["endpoint"] == "HTTP GET"
    assert got["url"] == "/nope"


def test_server_endpoint_comes_from_attributes_not_a_lowercased_name() -> None:
    got = columns(
        {"http.method": "GET", "http.route": "/books/{book_id}"},
        KIND_SERVER,
        "get /books/{book_id}",
    )
    assert got["endpoint"] == "GET /books/{book_id}"


def test_only_server_spans_have_an_endpoint() -> None:
    attributes = {"http.request.method": "GET", "http.route": "/a"}
    assert columns(attributes, KIND_CLIENT)["endpoint"] is None
    assert columns(attributes, KIND_INTERNAL)["endpoint"] is None
    assert columns({}, KIND_SERVER, "job")["endpoint"] == "job"
    assert columns({}, KIND_CLIENT, "job")["endpoint"] is None


def test_requests_client_span_without_host_takes_it_from_the_url() -> None:
    got = columns(
        {
            "http.method": "GET",
            "http.url": "https://api.example.com:8443/v1/items?id=3",
            "http.status_code": 200,
        }
    )
    assert got["url"] == "https://api.example.com:8443/v1/items?id=3"
    assert got["server_address"] == "api.example.com"


def test_server_spans_prefer_path_and_query_over_the_full_url() -> None:
    got = columns(
        {"url.full": "http://h/a/b?q=1", "url.path": "/a/b", "url.query": "q=1"},
        KIND_SERVER,
    )
    assert got["url"] == "/a/b?q=1"
    client = columns({"url.full": "http://h/a/b?q=1", "url.path": "/a/b"})
    assert client["url"] == "http://h/a/b?q=1"


def test_server_address_on_server_spans_ignores_the_client_peer() -> None:
    # On a SERVER span net.peer.name is the client's address, not the server's.
    got = columns({"net.peer.name": "client-box"}, KIND_SERVER)
    assert got["server_address"] is None
    got = columns({"net.host.name": "h1", "http.server_name": "h2"}, KIND_SERVER)
    assert got["server_address"] == "h1"
    assert columns({"http.host": "[::1]:8000"}, KIND_SERVER)["server_address"] == "::1"


def test_new_database_names() -> None:
    got = columns(
        {
            "db.system.name": "postgresql",
            "db.query.text": "SELECT 1",
            "db.operation.name": "SELECT",
            "db.collection.name": "books",
            "db.namespace": "shop",
        }
    )
    assert (
        got["db_system"],
        got["db_statement"],
        got["db_operation"],
        got["db_table"],
        got["db_namespace"],
    ) == ("postgresql", "SELECT 1", "SELECT", "books", "shop")


def test_mixed_database_names_prefer_the_new_and_rename_old_systems() -> None:
    got = columns(
        {
            "db.system": "mssql",
            "db.statement": "old text",
            "db.query.text": "new text",
            "db.name": "olddb",
            "db.namespace": "newdb",
            "db.mongodb.collection": "things",
            "db.operation": "find",
        }
    )
    assert got["db_system"] == "microsoft.sql_server"
    assert got["db_statement"] == "new text"
    assert got["db_namespace"] == "newdb"
    assert got["db_table"] == "things"
    assert got["db_operation"] == "find"


@pytest.mark.parametrize(
    ("attributes", "table"),
    [
        ({"db.sql.table": "t1"}, "t1"),
        ({"db.cassandra.table": "t2"}, "t2"),
        ({"db.cosmosdb.container": "t3"}, "t3"),
        ({"db.collection.name": "new", "db.sql.table": "old"}, "new"),
    ],
)
def test_table_names(attributes: dict[str, Any], table: str) -> None:
    assert columns(attributes)["db_table"] == table


def test_redis_index_is_the_namespace() -> None:
    got = columns({"db.system": "redis", "db.redis.database_index": 2})
    assert got["db_namespace"] == "2"


def test_peer_service_hint_is_used_only_without_attributes() -> None:
    assert columns({}, peer_service="payments")["peer_service"] == "payments"
    assert columns({"a": 1}, peer_service="payments")["peer_service"] == "payments"
    got = columns({"peer.service": "tagged"}, peer_service="endpoint")
    assert got["peer_service"] == "tagged"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("200", 200), (503, 503), (404.0, 404), ("abc", None), (True, None), (-1, None)],
)
def test_status_code_is_an_int_or_nothing(value: object, expected: int | None) -> None:
    assert columns({"http.status_code": value})["http_status_code"] == expected


def test_non_string_values_become_text() -> None:
    got = columns({"http.route": 5, "db.statement": True})
    assert got["http_route"] == "5"
    assert got["db_statement"] == "true"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com:8080", "example.com"),
        ("example.com", "example.com"),
        ("[::1]:80", "::1"),
        ("::1", "::1"),
    ],
)
def test_strip_port(host: str, expected: str) -> None:
    assert strip_port(host) == expected


# The per-shape plan must agree with the plain rules on any attributes.
_KEYS = sorted(
    {
        *semconv_rules.METHOD_KEYS,
        *semconv_rules.STATUS_KEYS,
        *semconv_rules.SERVER_URL_KEYS,
        *semconv_rules.CLIENT_ADDRESS_KEYS,
        *semconv_rules.SERVER_ADDRESS_KEYS,
        *semconv_rules.PEER_KEYS,
        *semconv_rules.SYSTEM_KEYS,
        *semconv_rules.STATEMENT_KEYS,
        *semconv_rules.OPERATION_KEYS,
        *semconv_rules.TABLE_KEYS,
        *semconv_rules.NAMESPACE_KEYS,
        "http.route",
        "url.query",
        "http.request.method_original",
        "unrelated",
    }
)
_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["GET", "_OTHER", "", "mssql", "db:5432", "[::1]:80", "http://H.example:8/p?q"]
    ),
    st.text(max_size=8),
    st.integers(-5, 700),
    st.booleans(),
    st.floats(allow_nan=False),
)


@given(
    st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=8),
    st.integers(0, 5),
    st.none() | st.just("hint"),
)
def test_fast_normalise_agrees_with_the_rules(
    attributes: dict[str, Any], kind: int, hint: str | None
) -> None:
    expected = semconv_rules.normalise_reference(
        attributes, kind, "name", peer_service=hint
    )
    assert normalise(attributes, kind, "name", peer_service=hint) == expected
    # Twice: the second call uses the cached plan.
    assert normalise(attributes, kind, "name", peer_service=hint) == expected


@given(
    st.sampled_from(["http", "https", "ftp"]),
    st.sampled_from(["", "user@", "u:p@"]),
    st.sampled_from(["Example.COM", "10.0.0.1", "[::1]", "[fe80::2]", "a-b.c"]),
    st.sampled_from(["", ":80", ":8443"]),
    st.sampled_from(["", "/", "/a/b", "?x=1", "#frag", "/p?q=a@b:c"]),
)
def test_url_host_matches_urllib(
    scheme: str, user: str, host: str, port: str, rest: str
) -> None:
    url = f"{scheme}://{user}{host}{port}{rest}"
    assert semconv_rules.url_host(url) == urlsplit(url).hostname
