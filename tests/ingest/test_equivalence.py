"""The same spans in all four formats load to identical normalised DataFrames.

The fixtures hold one FastAPI request to a book shop (a SERVER span, an HTTP
CLIENT call that fails, a database query, an INTERNAL span with a link) as
OTLP JSON, OTLP protobuf (built in ``shop_proto``), Jaeger JSON and Zipkin JSON,
each written the way OpenTelemetry's exporters for that format write it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from perfkit.ingest import rows_to_frame

from .helpers import FIXTURES, read_rows
from .shop_proto import shop_request

# Zipkin has no links and only string tags; those columns differ by design.
ZIPKIN_DIFFERS = ["attributes", "links"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    proto = tmp_path_factory.mktemp("proto") / "shop.bin"
    proto.write_bytes(shop_request().SerializeToString())
    sources = {
        "otlp_json": FIXTURES / "otlp_shop.json",
        "otlp_proto": proto,
        "jaeger": FIXTURES / "jaeger_shop.json",
        "zipkin": FIXTURES / "zipkin_shop.json",
    }
    return {name: _frame(path) for name, path in sources.items()}


def _frame(path: Path) -> pd.DataFrame:
    rows, ctx = read_rows(path)
    assert not ctx.skipped
    frame = rows_to_frame(rows)
    return frame.sort_values("span_id").reset_index(drop=True)


@pytest.mark.parametrize("other", ["otlp_proto", "jaeger"])
def test_identical_to_otlp_json(frames: dict[str, pd.DataFrame], other: str) -> None:
    pd.testing.assert_frame_equal(frames[other], frames["otlp_json"])


def test_zipkin_identical_but_for_typed_attributes_and_links(
    frames: dict[str, pd.DataFrame],
) -> None:
    zipkin, otlp = frames["zipkin"], frames["otlp_json"]
    pd.testing.assert_frame_equal(
        zipkin.drop(columns=ZIPKIN_DIFFERS), otlp.drop(columns=ZIPKIN_DIFFERS)
    )
    for tags, attributes in zip(zipkin["attributes"], otlp["attributes"], strict=True):
        expected = {key: str(value) for key, value in json.loads(attributes).items()}
        assert json.loads(tags) == expected


def test_the_frames_hold_the_hand_worked_values(
    frames: dict[str, pd.DataFrame],
) -> None:
    frame = frames["otlp_json"]
    assert list(frame["span_id"]) == [
        "00f067aa0ba902b7",
        "b7ad6b7169203331",
        "c8f7a2b4d1e09f63",
        "eee19b7ec3c1b174",
    ]
    assert list(frame["duration_ns"]) == [
        40_000_000,
        20_000_000,
        100_000_000,
        250_000_000,
    ]
    assert list(frame["kind"]) == [1, 3, 3, 2]
    assert list(frame["status_code"]) == [1, 0, 2, 0]
    assert frame["endpoint"].tolist() == [pd.NA, pd.NA, pd.NA, "GET /books/{book_id}"]
    assert frame["http_status_code"].tolist() == [pd.NA, pd.NA, 502, 200]
    assert frame["db_table"].tolist() == [pd.NA, "books", pd.NA, pd.NA]
    assert frame["start_ns"].dtype == "int64"
