from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from perfkit.analysis.grouped import (
    group_codes,
    group_cummax,
    percentile_ci,
    percentiles,
    sort_by_group,
    union_ns,
)


def test_union_counts_overlap_once_and_keeps_groups_apart() -> None:
    # Group 0: [0,10) and [5,15) overlap -> 15; [20,25) adds 5 -> 20.
    # Group 1: [0,100) contains [10,20) -> 100. Group 2 has nothing.
    groups = [0, 1, 0, 0, 1]
    start = [5, 0, 0, 20, 10]
    end = [15, 100, 10, 25, 20]
    assert union_ns(groups, start, end, 3).tolist() == [20.0, 100.0, 0.0]


def test_union_of_touching_intervals_and_an_inverted_one() -> None:
    # [0,10) then [10,20): 20. An end before its start counts as empty.
    assert union_ns([0, 0, 0], [0, 10, 50], [10, 20, 40], 1).tolist() == [20.0]


def test_union_with_no_intervals() -> None:
    assert union_ns([], [], [], 2).tolist() == [0.0, 0.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 1000), st.integers(0, 200)),
        max_size=40,
    )
)
def test_union_matches_a_brute_force_count(items: list[tuple[int, int, int]]) -> None:
    groups = [g for g, _, _ in items]
    start = [s for _, s, _ in items]
    end = [s + d for _, s, d in items]
    covered = [set() for _ in range(4)]
    for g, s, e in zip(groups, start, end, strict=True):
        covered[g].update(range(s, e))
    expected = [float(len(c)) for c in covered]
    assert union_ns(groups, start, end, 4).tolist() == expected


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 60),
        elements=st.floats(0, 1e4, allow_nan=False, allow_infinity=False),
    ),
    st.integers(1, 4),
    st.randoms(use_true_random=False),
)
def test_percentiles_match_numpy(values: np.ndarray, k: int, rng: object) -> None:
    groups = np.array([rng.randrange(k) for _ in values])  # type: ignore[attr-defined]
    got = percentiles(groups, values, [50, 95, 99], k)
    for g in range(k):
        mine = values[groups == g]
        if mine.size == 0:
            assert np.isnan(got[g]).all()
        else:
            np.testing.assert_allclose(
                got[g], np.percentile(mine, [50, 95, 99]), rtol=1e-12, atol=1e-9
            )


def test_percentile_by_hand() -> None:
    # 1..10: h = 9 * 0.95 = 8.55, so 9 + 0.55 * (10 - 9) = 9.55.
    got = percentiles(np.zeros(10, dtype=int), np.arange(10, 0, -1), [95], 1)
    assert got[0, 0] == pytest.approx(9.55)


def _binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_p95_interval_is_the_binomial_order_statistics() -> None:
    n = 200
    values = np.arange(1, n + 1, dtype=float)  # the value of rank r is r
    low, high = percentile_ci(np.zeros(n, dtype=int), values, 95, 1)

    # Worked independently: l is the smallest k with CDF(k) >= 2.5%, u - 1 the
    # smallest with CDF(u - 1) >= 97.5%.
    lower_rank = next(k for k in range(n + 1) if _binom_cdf(k, n, 0.95) >= 0.025)
    upper_rank = next(k for k in range(n + 1) if _binom_cdf(k, n, 0.95) >= 0.975) + 1
    assert (low[0], high[0]) == (lower_rank, upper_rank)
    coverage = _binom_cdf(upper_rank - 1, n, 0.95) - _binom_cdf(lower_rank - 1, n, 0.95)
    assert coverage >= 0.95


def test_p95_upper_bound_needs_72_values() -> None:
    # 0.95 ** 71 > 0.025 >= 0.95 ** 72: below 72 values the largest cannot bound
    # p95 from above with 95% confidence.
    for n, bounded in ((71, False), (72, True)):
        _, high = percentile_ci(np.zeros(n, dtype=int), np.arange(n), 95, 1)
        assert np.isnan(high[0]) != bounded


def test_p95_interval_covers_the_true_p95_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    trials, n = 2000, 150
    values = rng.exponential(1.0, size=trials * n)
    groups = np.repeat(np.arange(trials), n)
    low, high = percentile_ci(groups, values, 95, trials)
    true_p95 = -math.log(0.05)
    covered = np.mean((low <= true_p95) & (true_p95 <= high))
    assert 0.94 <= covered <= 0.99


def test_empty_groups_get_nan_intervals() -> None:
    low, high = percentile_ci(np.array([1] * 100), np.arange(100.0), 95, 2)
    assert np.isnan(low[0])
    assert np.isnan(high[0])
    assert not np.isnan(low[1])


def test_group_codes_number_combinations_in_order_of_appearance() -> None:
    names = pd.Series(["a", "a", "b", "a", None, "b"], dtype="string")
    numbers = np.array([1, 2, 1, 1, 1, 1])
    codes, first = group_codes(names, numbers)
    # (a,1) (a,2) (b,1) (a,1) (NA,1) (b,1)
    assert codes.tolist() == [0, 1, 2, 0, 3, 2]
    assert first.tolist() == [0, 1, 2, 4]


def test_group_codes_with_categoricals_and_wide_integers() -> None:
    category = pd.Series(pd.Categorical(["x", "y", "x", None]))
    wide = np.array([0, 2**45, 0, 2**45])  # too wide to offset: factorised
    codes, first = group_codes(category, wide, np.array([7, 7, 7, 7]))
    assert codes.tolist() == [0, 1, 0, 2]
    assert first.tolist() == [0, 1, 3]
    assert group_codes(np.array([], dtype=np.int64))[0].size == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.sampled_from("pqr")), max_size=30))
def test_group_codes_agree_with_tuples(rows: list[tuple[int, str]]) -> None:
    codes, first = group_codes(
        np.array([r[0] for r in rows], dtype=np.int64),
        pd.Series([r[1] for r in rows], dtype="object"),
    )
    seen: dict[tuple[int, str], int] = {}
    expected = [seen.setdefault(r, len(seen)) for r in rows]
    assert codes.tolist() == expected
    assert first.tolist() == [rows.index(r) for r in seen]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(-50, 50)), max_size=40),
    st.booleans(),
)
def test_sort_by_group_is_lexsort(rows: list[tuple[int, int]], wide: bool) -> None:
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    # Wide values do not fit one key with the codes: the lexsort is used.
    values = np.array([r[1] * (2**56 if wide else 1) for r in rows], dtype=np.int64)
    assert sort_by_group(codes, values).tolist() == np.lexsort((values, codes)).tolist()


def test_sort_by_group_by_hand() -> None:
    # (1,5) (0,9) (1,2) (0,9): group 0 first, ties in input order.
    order = sort_by_group(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 9]))
    assert order.tolist() == [1, 3, 2, 0]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(-(2**40), 2**40)), max_size=40),
    st.booleans(),
)
def test_group_cummax_matches_a_loop(rows: list[tuple[int, int]], wide: bool) -> None:
    rows = sorted(rows, key=lambda r: r[0])  # grouped, codes ascending
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    values = np.array([r[1] * (2**22 if wide else 1) for r in rows], dtype=np.int64)
    expected: list[int] = []
    for i, (code, value) in enumerate(zip(codes, values, strict=True)):
        same = i > 0 and codes[i - 1] == code
        expected.append(max(expected[-1], int(value)) if same else int(value))
    assert group_cummax(codes, values).tolist() == expected


def test_group_codes_of_arrow_text_and_nullable_integers() -> None:
    text = pd.Series(["b", None, "a", "b", None], dtype="string")
    numbers = pd.Series([1, 1, pd.NA, 1, 1], dtype="Int64")
    codes, first = group_codes(text, numbers)
    # (b,1) (NA,1) (a,NA) (b,1) (NA,1)
    assert codes.tolist() == [0, 1, 2, 0, 1]
    assert first.tolist() == [0, 1, 2]
