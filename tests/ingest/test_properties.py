"""Property tests for the OTLP readers.

Random valid documents, written with every spelling the readers accept,
round-trip to the values they were made from; random corruptions of valid
files give a perfkit error (or read), never another exception.
"""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfkit.errors import PerfkitError
from perfkit.ingest import ReadContext, read_spans, rows_to_frame
from perfkit.ingest.schema import COLUMN_NAMES, KIND_NAMES, SpanRow

from .helpers import FIXTURES
from .shop_proto import shop_request

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
NONZERO_16 = st.binary(min_size=16, max_size=16).filter(any)
NONZERO_8 = st.binary(min_size=8, max_size=8).filter(any)

# Plain attribute values and how OTLP JSON spells them.
scalars = st.one_of(
    TEXT, INT64, st.booleans(), st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


def encode_value(draw: st.DrawFn, value: Any) -> dict[str, Any]:
    snake = draw(st.booleans())

    def key(camel: str) -> str:
        return camel.replace("Value", "_value") if snake else camel

    if isinstance(value, bool):
        return {key("boolValue"): value}
    if isinstance(value, int):
        return {key("intValue"): draw(st.sampled_from([value, str(value)]))}
    if isinstance(value, float):
        return {key("doubleValue"): value}
    if isinstance(value, str):
        return {key("stringValue"): value}
    if isinstance(value, list):
        items = [encode_value(draw, item) for item in value]
        return {key("arrayValue"): {"values": items}}
    pairs = [{"key": k, "value": encode_value(draw, v)} for k, v in value.items()]
    return {key("kvlistValue"): {"values": pairs}}


def encode_id(draw: st.DrawFn, raw: bytes) -> str:
    spelling = draw(st.sampled_from(["hex", "HEX", "base64", "base64url"]))
    if spelling == "hex":
        return raw.hex()
    if spelling == "HEX":
        return raw.hex().upper()
    if spelling == "base64":
        return base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@st.composite
def spans(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """An OTLP JSON span, and what its row must hold."""
    trace_id, span_id = draw(NONZERO_16), draw(NONZERO_8)
    parent = draw(st.none() | NONZERO_8)
    start = draw(st.integers(1, 2**63 - 2))
    end = draw(st.integers(start, 2**63 - 1))
    kind = draw(st.integers(0, 5))
    status = draw(st.integers(0, 2))
    attributes = draw(st.dictionaries(TEXT, values, max_size=4))
    name = draw(TEXT)
    number = st.sampled_from([str, int])
    span: dict[str, Any] = {
        "traceId": encode_id(draw, trace_id),
        "spanId": encode_id(draw, span_id),
        "name": name,
        "startTimeUnixNano": draw(number)(start),
        "endTimeUnixNano": draw(number)(end),
        "attributes": [
            {"key": k, "value": encode_value(draw, v)} for k, v in attributes.items()
        ],
        "status": {"code": draw(st.sampled_from([status, _status_name(status)]))},
    }
    if parent is not None:
        span["parentSpanId"] = encode_id(draw, parent)
    if kind or draw(st.booleans()):
        span["kind"] = draw(st.sampled_from([kind, f"SPAN_KIND_{KIND_NAMES[kind]}"]))
    if draw(st.booleans()):
        span = {_snake(key): value for key, value in span.items()}
    expected = {
        "trace_id": trace_id.hex(),
        "span_id": span_id.hex(),
        "parent_span_id": parent.hex() if parent else None,
        "name": name,
        "kind": kind,
        "start_ns": start,
        "end_ns": end,
        "status_code": status,
        "attributes": attributes,
    }
    return span, expected


def _status_name(code: int) -> str:
    return ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")[code]


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """A TracesData document, its service name and the expected rows."""
    drawn = draw(st.lists(spans(), min_size=1, max_size=5))
    service = draw(TEXT)
    resource = [{"key": "service.name", "value": {"stringValue": service}}]
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": resource},
                "scopeSpans": [
                    {"scope": {"name": "x"}, "spans": [s for s, _ in drawn]}
                ],
            }
        ]
    }
    return doc, service or "unknown_service", [e for _, e in drawn]


def read_bytes(data: bytes, *, skip_invalid: bool = False) -> list[SpanRow]:
    """Rows read from a file holding ``data``; they must make a DataFrame."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input"
        path.write_bytes(data)
        ctx = ReadContext(str(path), skip_invalid=skip_invalid)
        rows = [row for batch in read_spans(path, ctx) for row in batch]
    rows_to_frame(rows)
    return rows


@SETTINGS
@given(documents(), st.booleans())
def test_valid_documents_round_trip(
    drawn: tuple[dict[str, Any], str, list[dict[str, Any]]], as_lines: bool
) -> None:
    doc, service, expected = drawn
    data = orjson.dumps(doc)
    if as_lines:
        data = data + b"\n" + data + b"\n"
        expected = expected * 2
    rows = read_bytes(data)
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        got = dict(zip(COLUMN_NAMES, row, strict=True))
        assert got["service_name"] == service
        got["attributes"] = json.loads(str(got["attributes"]))
        assert {key: got[key] for key in want} == want


@st.composite
def corruptions(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short, with bytes changed, inserted or deleted."""
    action = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
    at = draw(st.integers(0, len(data)))
    if action == "cut":
        return data[:at]
    if action == "flip":
        index = min(at, len(data) - 1)
        return (
            data[:index]
            + bytes([data[index] ^ draw(st.integers(1, 255))])
            + data[index + 1 :]
        )
    if action == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data[:at] + data[at + draw(st.integers(1, 16)) :]


JSON_SAMPLE = (FIXTURES / "otlp_lenient.json").read_bytes()
LINES_SAMPLE = (FIXTURES / "otlp_lines.jsonl").read_bytes()
PROTO_SAMPLE = shop_request().SerializeToString()
PROTO_STREAM = b"".join(
    len(PROTO_SAMPLE).to_bytes(4, "big") + PROTO_SAMPLE for _ in range(2)
)


def only_perfkit_errors(data: bytes) -> None:
    for skip_invalid in (False, True):
        with contextlib.suppress(PerfkitError):
            read_bytes(data, skip_invalid=skip_invalid)


@SETTINGS
@given(st.data())
def test_corrupted_json_gives_perfkit_errors_only(data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from([JSON_SAMPLE, LINES_SAMPLE]))
    only_perfkit_errors(data.draw(corruptions(sample)))


@SETTINGS
@given(st.data())
def test_corrupted_protobuf_gives_perfkit_errors_only(data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from([PROTO_SAMPLE, PROTO_STREAM]))
    only_perfkit_errors(data.draw(corruptions(sample)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)


def _replace_at(tree: Any, path: list[int], value: Any) -> Any:
    # Replace the node reached by taking child path[0], path[1]... (modulo size).
    if not path or not isinstance(tree, dict | list) or not tree:
        return value
    if isinstance(tree, dict):
        key = list(tree)[path[0] % len(tree)]
        return {**tree, key: _replace_at(tree[key], path[1:], value)}
    index = path[0] % len(tree)
    return [
        *tree[:index],
        _replace_at(tree[index], path[1:], value),
        *tree[index + 1 :],
    ]


@SETTINGS
@given(
    st.lists(st.integers(0, 50), max_size=10),
    json_values,
    st.sampled_from(["otlp_lenient.json", "jaeger_shop.json", "zipkin_traces.json"]),
)
def test_wrong_types_anywhere_give_perfkit_errors_only(
    path: list[int], value: Any, name: str
) -> None:
    doc = orjson.loads((FIXTURES / name).read_bytes())
    broken = _replace_at(doc, path, value)
    try:
        data = orjson.dumps(broken)
    except orjson.JSONEncodeError:
        data = json.dumps(broken).encode()
    only_perfkit_errors(data)
