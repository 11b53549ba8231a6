"""The committed recordings in sample_traces/ agree with their answer key.

Counts on both sides come from different places: the key's ``runs`` holds what
the load driver sent and saw, the traces hold what the shop's instrumentation
exported. Per-request query and call counts are checked against the static
part of the key, which is the code's own (:mod:`examples.shop.answer_key`).
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

import orjson
import pytest

from examples.shop import answer_key
from examples.shop.driver import HOT_PRODUCTS
from examples.shop.traces import Request, Span, group_requests, read_spans

SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
VARIANTS = ("before", "after")
VERSIONS = {"before": "1.0.0", "after": "1.1.0"}
PROFILE_NAME = re.compile(r"([0-9a-f]{32})-([0-9a-f]{16})\.pyisession\.gz")


@pytest.fixture(scope="module")
def key() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((SAMPLES / "answer_key.json").read_bytes())
    return loaded


@pytest.fixture(scope="module")
def spans() -> dict[str, list[Span]]:
    return {v: list(read_spans(SAMPLES / v / "traces.jsonl.gz")) for v in VARIANTS}


@pytest.fixture(scope="module")
def requests(spans: dict[str, list[Span]]) -> dict[str, list[Request]]:
    return {variant: group_requests(spans[variant]) for variant in VARIANTS}


def _by_endpoint(requests: list[Request], endpoint: str) -> list[Request]:
    chosen = [request for request in requests if request.endpoint == endpoint]
    assert chosen, f"no {endpoint} request in the recording"
    return chosen


def _profile_time(profile: dict[str, Any], needle: str) -> float:
    """Seconds of ``profile`` whose stack has a frame containing ``needle``."""
    return sum(
        seconds
        for stack, seconds in profile["frame_records"]
        if any(needle in frame for frame in stack)
    )


def test_static_key_matches_the_code(key: dict[str, Any]) -> None:
    # A change to the key in code without a new recording fails here.
    committed = {name: value for name, value in key.items() if name != "runs"}
    expected = orjson.loads(orjson.dumps(answer_key.build()))
    expected.pop("runs")
    assert committed == expected
    assert set(key["runs"]) == set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_recording_is_compressed_and_a_few_mb(
    variant: str, key: dict[str, Any]
) -> None:
    directory = SAMPLES / variant
    files = [path for path in directory.rglob("*") if path.is_file()]
    for path in files:
        assert path.read_bytes()[:2] == b"\x1f\x8b", f"{path} is not gzip"
    size = sum(path.stat().st_size for path in files)
    assert size == key["runs"][variant]["bytes"]
    assert size < 8_000_000


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_request_sent_is_one_trace(
    variant: str, key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    load = key["runs"][variant]["load"]
    assert load["requests"] >= 5_000
    assert not load["stopped_early"]
    sent = {name: entry["requests"] for name, entry in load["by_endpoint"].items()}
    seen = Counter(request.endpoint for request in requests[variant])
    assert seen == sent
    assert set(seen) == set(key["endpoints"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_status_codes_match_what_the_driver_saw(
    variant: str, key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    driver = Counter(
        {
            (name, status): n
            for name, entry in key["runs"][variant]["load"]["by_endpoint"].items()
            for status, n in entry["status"].items()
        }
    )
    traces = Counter((r.endpoint, str(r.http_status)) for r in requests[variant])
    assert traces == driver


@pytest.mark.parametrize("variant", VARIANTS)
def test_span_counts_ids_and_resource(
    variant: str, key: dict[str, Any], spans: dict[str, list[Span]]
) -> None:
    run = key["runs"][variant]
    kinds = Counter(span.kind for span in spans[variant])
    names = ("unspecified", "internal", "server", "client", "producer", "consumer")
    assert {names[kind]: n for kind, n in kinds.items()} == run["spans_by_kind"]
    assert len(spans[variant]) == run["spans"]
    assert kinds[2] == run["load"]["requests"]

    hex_id = re.compile(r"[0-9a-f]{32}")
    for span in spans[variant]:
        assert hex_id.fullmatch(span.trace_id)
        assert hex_id.fullmatch(span.span_id * 2)
        assert span.parent_span_id == "" or hex_id.fullmatch(span.parent_span_id * 2)
        assert span.resource["service.name"] == "shop"
        assert span.resource["service.version"] == VERSIONS[variant]


@pytest.mark.parametrize("variant", VARIANTS)
def test_per_request_counts_match_the_key(
    variant: str, key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    for endpoint, entry in key["endpoints"].items():
        queries = Counter(
            len(r.statements) for r in _by_endpoint(requests[variant], endpoint)
        )
        calls = Counter(
            len(r.supplier_urls) for r in _by_endpoint(requests[variant], endpoint)
        )
        low, high = entry["queries_per_request"][variant]
        assert low <= min(queries), (endpoint, queries)
        assert max(queries) <= high, (endpoint, queries)
        low, high = entry["supplier_calls_per_request"][variant]
        assert low <= min(calls), (endpoint, calls)
        assert max(calls) <= high, (endpoint, calls)


def test_n_plus_one_query_repeats_one_statement(
    requests: dict[str, list[Request]],
) -> None:
    for request in _by_endpoint(requests["before"], "GET /orders/recent"):
        assert len(request.statements) == answer_key.RECENT_ORDERS + 1
        ((statement, repeats),) = Counter(request.statements[1:]).most_common(1)
        assert repeats == answer_key.RECENT_ORDERS
        assert "FROM order_items" in statement
        assert "= order_items.order_id" in statement
    for request in _by_endpoint(requests["after"], "GET /orders/recent"):
        assert len(request.statements) == 2
        assert "order_items.order_id IN (" in request.statements[1]


def test_missing_index_query_is_the_same_in_both_runs(
    requests: dict[str, list[Request]],
) -> None:
    endpoint = "GET /products/{product_id}/sales"
    texts = {
        variant: {r.statements[0] for r in _by_endpoint(requests[variant], endpoint)}
        for variant in VARIANTS
    }
    assert texts["before"] == texts["after"]
    (statement,) = texts["before"]
    assert "FROM order_items" in statement
    assert "WHERE order_items.product_id = ?" in statement


def test_slow_external_call_then_cached(
    key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    endpoint = "GET /products/{product_id}/price"
    supplier = key["runs"]["before"]["supplier"]
    before = _by_endpoint(requests["before"], endpoint)
    assert all(len(r.supplier_urls) == 1 for r in before)
    assert all(f"//{supplier}/prices/SKU-" in r.supplier_urls[0] for r in before)
    calls = [ms for r in before for ms in r.supplier_ms]
    assert 100 <= median(calls) <= 1_000
    assert median(r.server.duration_ms for r in before) >= 100

    after = _by_endpoint(requests["after"], endpoint)
    asked = [url for r in after for url in r.supplier_urls]
    assert 1 <= len(asked) <= len(after) // 4
    assert len({url.rsplit("/", 1)[1] for url in asked}) <= HOT_PRODUCTS
    assert median(r.server.duration_ms for r in after) < 50


def test_n_plus_one_http_becomes_one_batch(requests: dict[str, list[Request]]) -> None:
    endpoint = "GET /orders/{order_id}/availability"
    for request in _by_endpoint(requests["before"], endpoint):
        assert len(request.supplier_urls) >= 5
        assert all("/stock/SKU-" in url for url in request.supplier_urls)
    for request in _by_endpoint(requests["after"], endpoint):
        (url,) = request.supplier_urls
        assert "/stock?sku=SKU-" in url


def test_regression_is_an_error_rate_on_post_orders(
    key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    endpoint = key["regression"]["endpoint"]
    before = _by_endpoint(requests["before"], endpoint)
    after = _by_endpoint(requests["after"], endpoint)
    assert {r.http_status for r in before} == {201}
    assert all(len(r.statements) == 3 for r in before)

    failed = [r for r in after if r.http_status == 500]
    assert 0.01 <= len(failed) / len(after) <= 0.08
    for request in failed:
        assert request.server.status_code == 2
        assert "exception" in request.server.events
        assert len(request.statements) == 2
    ok = [r for r in after if r.http_status == 201]
    assert all(len(r.statements) == 4 for r in ok)
    assert all("FROM customers" in r.statements[1] for r in ok)

    others = [r for r in requests["after"] if r.endpoint != endpoint]
    assert all(r.http_status < 500 for r in others)


@pytest.mark.parametrize("variant", VARIANTS)
def test_profiles_join_their_requests(
    variant: str, key: dict[str, Any], requests: dict[str, list[Request]]
) -> None:
    servers = {(r.server.trace_id, r.server.span_id): r for r in requests[variant]}
    paths = sorted((SAMPLES / variant / "profiles").iterdir())
    assert len(paths) == key["runs"][variant]["profiles"] >= 100
    assert 0.06 <= len(paths) / len(servers) <= 0.14

    for path in paths:
        match = PROFILE_NAME.fullmatch(path.name)
        assert match, path.name
        trace_id, span_id = match.groups()
        request = servers[(trace_id, span_id)]
        profile = orjson.loads(gzip.decompress(path.read_bytes()))
        assert profile["target_description"] == (
            f"{request.endpoint} trace_id={trace_id} span_id={span_id}"
        )
        started_ns = profile["start_time"] * 1e9
        assert request.server.start_ns - 1e8 <= started_ns <= request.server.end_ns
        assert profile["duration"] * 1e3 <= request.server.duration_ms + 100


def test_export_time_goes_into_serialisation(
    requests: dict[str, list[Request]],
) -> None:
    endpoint = "GET /catalog/export"
    shares = {}
    for variant in VARIANTS:
        exported = {
            r.server.trace_id for r in _by_endpoint(requests[variant], endpoint)
        }
        profiles = [
            orjson.loads(gzip.decompress(path.read_bytes()))
            for path in (SAMPLES / variant / "profiles").iterdir()
            if path.name[:32] in exported
        ]
        assert len(profiles) >= 5
        total = sum(p["duration"] for p in profiles)
        shares[variant] = (
            sum(_profile_time(p, "jsonable_encoder") for p in profiles) / total
        )
    assert shares["before"] > 0.5
    assert shares["after"] == 0

    durations = {
        variant: median(
            r.server.duration_ms for r in _by_endpoint(requests[variant], endpoint)
        )
        for variant in VARIANTS
    }
    assert durations["after"] < durations["before"] / 2
