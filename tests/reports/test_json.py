"""The JSON report: the versioned document and its golden file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import orjson
from builders import Golden

from perfkit import __version__
from perfkit.analysis.model import (
    ENDPOINT_COLUMNS,
    EVIDENCE_KEYS,
    SCHEMA_VERSION,
    Analysis,
)
from perfkit.reports import JsonRenderer

REQUIRED = {
    "schema_version": str,
    "perfkit_version": str,
    "created_at": str,
    "run": str,
    "inputs": list,
    "spans": int,
    "endpoints": list,
    "top_endpoints": list,
    "findings": list,
    "warnings": list,
}
FINDING_FIELDS = {
    "id": str,
    "kind": str,
    "service": str,
    "endpoint": str,
    "severity": str,
    "title": str,
    "evidence": dict,
    "suggestion": dict,
    "saved_ms_per_request": float,
    "saved_ms_total": float,
    "requests_affected": int,
    "confidence": str,
}


def render(analysis: Analysis) -> dict[str, object]:
    document: dict[str, object] = orjson.loads(JsonRenderer().render(analysis))
    return document


def test_matches_golden_file(shop: Analysis, golden: Golden) -> None:
    golden("report.json", JsonRenderer().render(shop))


def test_has_every_required_field_with_its_type(shop: Analysis) -> None:
    document = render(shop)

    for name, kind in REQUIRED.items():
        assert isinstance(document[name], kind), name
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["spans"] == 48_213
    assert document["top_endpoints"] == [
        "GET /orders/{order_id}",
        "GET /products/search",
        "POST /checkout",
        "GET /users/{user_id}/recommendations",
        "GET /products/{product_id}",
    ]


def test_fills_in_version_and_creation_time_when_the_analysis_has_none(
    shop: Analysis,
) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    document = render(shop)

    assert document["perfkit_version"] == __version__
    created = dt.datetime.fromisoformat(str(document["created_at"]))
    assert before <= created <= dt.datetime.now(dt.UTC)


def test_keeps_the_version_and_time_the_analysis_has(hostile: Analysis) -> None:
    document = render(hostile)

    assert document["perfkit_version"] == "9.9.9"
    assert document["created_at"] == "2024-05-01T12:00:00+00:00"


def test_endpoints_have_exactly_the_documented_columns(shop: Analysis) -> None:
    endpoints = render(shop)["endpoints"]

    assert isinstance(endpoints, list)
    assert len(endpoints) == 7
    assert all(list(row) == list(ENDPOINT_COLUMNS) for row in endpoints)


def test_counts_are_ints_and_missing_values_null(shop: Analysis) -> None:
    endpoints = render(shop)["endpoints"]
    assert isinstance(endpoints, list)
    first, reindex = endpoints[0], endpoints[-1]

    assert first["requests"] == 1200
    assert isinstance(first["requests"], int)
    assert first["rank"] == 1
    assert isinstance(first["rank"], int)
    assert first["enough_data"] is True
    assert reindex["endpoint"] == "POST /admin/reindex"
    assert reindex["p95_ms"] is None
    assert reindex["p95_ci_low_ms"] is None
    assert reindex["rank"] is None
    assert reindex["enough_data"] is False


def test_findings_carry_evidence_and_suggestion(shop: Analysis) -> None:
    findings = render(shop)["findings"]
    assert isinstance(findings, list)
    index = findings[0]

    for name, kind in FINDING_FIELDS.items():
        assert isinstance(index[name], kind), name
    assert index["kind"] == "missing_index"
    assert index["evidence"]["columns"] == ["category_id"]
    assert index["evidence"]["plan"] == [
        "SCAN products",
        "USE TEMP B-TREE FOR ORDER BY",
    ]
    assert index["suggestion"]["code"] == (
        "CREATE INDEX ix_products_category_id ON products (category_id);"
    )
    assert list(index["suggestion"]["files"]) == [
        "migrations/versions/0002_ix_products_category_id.py"
    ]
    assert index["saved_ms_total"] == 88_000.0


def test_masks_the_password_of_an_input_url(hostile: Analysis) -> None:
    document = render(hostile)

    assert document["inputs"] == [
        "postgresql://app:***@db.internal/shop",
        "traces/a|b.json",
    ]
    assert "s3cret" not in JsonRenderer().render(hostile)


SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "json-schema.md"


def _documented_fields(section: str) -> list[str]:
    """The field names in the first table under a heading of docs/json-schema.md."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    body = text[text.index(f"\n{section}\n") :]
    names: list[str] = []
    for line in body.splitlines()[2:]:
        if names and not line.startswith("|"):
            break
        if line.startswith("| `"):
            cell = line.split("|")[1]
            names += re.findall(r"`(\w+)`", cell)
    return names


def test_schema_doc_documents_every_field(shop: Analysis) -> None:
    document = render(shop)
    findings = document["findings"]
    assert isinstance(findings, list)

    assert _documented_fields("## The document") == list(document)
    assert sorted(_documented_fields("### endpoint")) == sorted(ENDPOINT_COLUMNS)
    assert _documented_fields("### finding") == list(findings[0])
    assert _documented_fields("### evidence") == list(EVIDENCE_KEYS)
    assert _documented_fields("### suggestion") == list(findings[0]["suggestion"])
    assert f"schema version **{SCHEMA_VERSION}**" in SCHEMA_DOC.read_text()


def test_schema_doc_example_has_the_document_shape(shop: Analysis) -> None:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    example = orjson.loads(text[text.index("```json\n") + 8 : text.rindex("```")])
    document = render(shop)
    findings = document["findings"]
    assert isinstance(findings, list)

    assert list(example) == list(document)
    assert list(example["endpoints"][0]) == list(ENDPOINT_COLUMNS)
    assert list(example["findings"][0]) == list(findings[0])


def test_masks_secrets_in_every_url_of_the_findings(shop: Analysis) -> None:
    text = JsonRenderer().render(shop)

    assert "k3y" not in text
    assert "https://payments.example.test/v1/charges?api_key=***" in text
