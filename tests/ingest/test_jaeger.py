"""The Jaeger JSON reader, on hand-written fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.errors import FormatNotRecognised, InputError

from .helpers import FIXTURES, by_span_id, read_rows

TRACE = "00000000000000003c3a8f4c7d4d2a1b"


def test_64_bit_ids_are_padded_and_tags_become_fields() -> None:
    spans = by_span_id(read_rows(FIXTURES / "jaeger_quirks.json")[0])
    assert set(spans) == {"00000000000000a1", "00000000000000b2", "00000000000000c3"}
    assert {span["trace_id"] for span in spans.values()} == {TRACE}

    publish = spans["00000000000000a1"]
    assert publish["parent_span_id"] is None
    assert (publish["start_ns"], publish["end_ns"]) == (
        1_700_000_006_000_000_000,
        1_700_000_006_001_500_000,
    )
    # span.kind and error=true are fields, not attributes.
    assert (publish["kind"], publish["status_code"], publish["status_message"]) == (
        4,
        2,
        None,
    )
    assert publish["attributes"] == {"big": 9_007_199_254_740_993, "ratio": 0.25}
    assert publish["events"] == [
        {
            "name": "",
            "time_ns": 1_700_000_006_000_500_000,
            "attributes": {"message": "queued"},
        }
    ]
    assert publish["service_name"] == "producer-svc"
    assert publish["resource_attributes"] == {
        "service.name": "producer-svc",
        "hostname": "box-1",
        "client-uuid": "x",
    }


def test_follows_from_is_the_parent_without_child_of() -> None:
    consume = by_span_id(read_rows(FIXTURES / "jaeger_quirks.json")[0])[
        "00000000000000b2"
    ]
    assert consume["parent_span_id"] == "00000000000000a1"
    assert consume["links"] == []
    assert consume["kind"] == 5
    assert consume["service_name"] == "consumer-svc"
    assert consume["start_ns"] == consume["end_ns"] == 1_700_000_006_002_000_000


def test_deprecated_parent_span_id_and_null_tags() -> None:
    legacy = by_span_id(read_rows(FIXTURES / "jaeger_quirks.json")[0])[
        "00000000000000c3"
    ]
    assert legacy["parent_span_id"] == "00000000000000a1"
    assert (legacy["kind"], legacy["status_code"]) == (0, 0)
    assert legacy["attributes"] == {}
    assert legacy["end_ns"] - legacy["start_ns"] == 10_000


def test_child_of_wins_and_other_references_become_links() -> None:
    render = by_span_id(read_rows(FIXTURES / "jaeger_shop.json")[0])["00f067aa0ba902b7"]
    assert render["parent_span_id"] == "eee19b7ec3c1b174"
    assert render["links"] == [
        {
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "span_id": "53995c3f42cd8ad8",
            "attributes": {},
        }
    ]


def test_anonymizer_span_list_with_inline_process() -> None:
    (span,) = by_span_id(read_rows(FIXTURES / "jaeger_span_array.json")[0]).values()
    assert span["trace_id"] == "00000000000000002be38093ead7a083"
    assert span["span_id"] == "7bd66f09ba90ea3d"
    assert span["service_name"] == "inline-process"
    assert span["kind"] == 3


def test_api_error_response_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "error.json"
    path.write_text(
        '{"data": null, "total": 0, "limit": 0, "offset": 0,'
        ' "errors": [{"code": 404, "msg": "trace not found"}]}'
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "not_traces"
    assert "trace not found" in caught.value.message


def test_a_span_without_start_time_is_bad(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '[{"traceID": "2be38093ead7a083", "spanID": "7bd66f09ba90ea3d",'
        ' "duration": "invalid"}]'
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert (caught.value.code, caught.value.position) == ("missing_times", "spans[0]")


def test_times_beyond_int64_are_bad(tmp_path: Path) -> None:
    path = tmp_path / "far.json"
    path.write_text(
        '[{"traceID": "2be38093ead7a083", "spanID": "7bd66f09ba90ea3d",'
        ' "startTime": 9223372036854775, "duration": 1000}]'
    )
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert caught.value.code == "bad_time"


@pytest.mark.parametrize("bad", [None, {"traceID": "5b8efff798038103d269b633813fc60c"}])
def test_one_bad_trace_is_reported_where_it_is_not_the_file_unrecognised(
    tmp_path: Path, bad: object
) -> None:
    doc = json.loads((FIXTURES / "jaeger_shop.json").read_text())
    n_spans = sum(len(trace["spans"]) for trace in doc["data"])
    doc["data"].append(bad)
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(doc))
    where = f"data[{len(doc['data']) - 1}]"

    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert not isinstance(caught.value, FormatNotRecognised)
    assert (caught.value.code, caught.value.position) == ("bad_structure", where)

    rows, ctx = read_rows(path, skip_invalid=True)
    assert len(rows) == n_spans
    assert ctx.skipped == {"bad_structure": 1}


def test_one_bad_span_in_a_span_list_is_reported_where_it_is(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "jaeger_shop.json").read_text())
    spans = doc["data"][0]["spans"]
    path = tmp_path / "spans.json"
    path.write_text(json.dumps([*spans, {"traceID": spans[0]["traceID"]}]))

    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert (caught.value.code, caught.value.position) == (
        "missing_ids",
        f"spans[{len(spans)}]",
    )
