"""How numbers read in reports."""

from __future__ import annotations

import pytest

from perfkit.reports import _format as fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "–"),
        (0.0, "0.00 ms"),
        (3.14159, "3.14 ms"),
        (35.24, "35.2 ms"),
        (412.3, "412 ms"),
        (1510.0, "1.51 s"),
        (12_345.0, "12.35 s"),
    ],
)
def test_ms(value: float | None, expected: str) -> None:
    assert fmt.ms(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(500.0, "500 ms"), (88_000.0, "88.0 s"), (168_600.0, "2.8 min"), (9e6, "2.5 h")],
)
def test_total_time(value: float, expected: str) -> None:
    assert fmt.total_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "–"), (0.0, "0.0%"), (0.0004, "<0.1%"), (0.0233, "2.3%"), (1.0, "100.0%")],
)
def test_percent(value: float | None, expected: str) -> None:
    assert fmt.percent(value) == expected


def test_interval_shares_its_unit() -> None:
    assert fmt.p95_interval(388.0, 440.9) == "388–441 ms"
    assert fmt.p95_interval(900.0, 1200.0) == "900 ms–1.20 s"
    assert fmt.p95_interval(8842.9, None) == "≥ 8.84 s"
    assert fmt.p95_interval(None, 3.0) == "≤ 3.00 ms"
    assert fmt.p95_interval(None, None) == "–"


def test_counted() -> None:
    assert fmt.counted(1, "endpoint") == "1 endpoint"
    assert fmt.counted(48_213, "span") == "48,213 spans"
