"""Vectorised per-group arithmetic: interval unions, percentiles, their intervals.

Every function takes integer group codes (0..n_groups-1, one per element) and
works on whole arrays at once: one sort, then numpy indexing. Nothing here
loops in Python over elements or groups.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

try:
    # The ufunc scipy.stats.binom.ppf applies to arguments like ours. Importing
    # scipy.stats costs most of a second on every command; scipy.special a
    # seventh of that.
    from scipy.special._ufuncs import _binom_ppf
except ImportError:  # pragma: no cover - another scipy layout
    from scipy import stats

    _binom_ppf = stats.binom.ppf

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def union_ns(
    groups: npt.ArrayLike, start: npt.ArrayLike, end: npt.ArrayLike, n_groups: int
) -> FloatArray:
    """Length of the union of each group's intervals, in the input unit.

    Overlapping intervals count once, so ten calls run in parallel for 5 ms
    each give 5, and the same calls one after another give 50.

    Args:
        groups: Group code of each interval.
        start: Interval starts (int64 nanoseconds).
        end: Interval ends; an end before its start counts as empty.
        n_groups: Number of groups; groups without intervals get 0.
    """
    codes = np.asarray(groups, dtype=np.int64)
    begin = np.asarray(start, dtype=np.int64)
    finish = np.maximum(np.asarray(end, dtype=np.int64), begin)
    if codes.size == 0:
        return np.zeros(n_groups)
    order = sort_by_group(codes, begin)
    return union_sorted(codes[order], begin[order], finish[order], n_groups)


def union_sorted(
    groups: IntArray, start: IntArray, end: IntArray, n_groups: int
) -> FloatArray:
    """:func:`union_ns` of intervals already sorted by group, then start,
    whose ends are at least their starts (int64 arrays)."""
    g, s, e = groups, start, end
    if g.size == 0:
        return np.zeros(n_groups)

    # Each interval adds only the part past the furthest end seen so far in
    # its group: this is the sweep of a sorted interval union, vectorised.
    reach = group_cummax(g, e)
    before = np.empty_like(reach)
    before[0] = np.iinfo(np.int64).min
    before[1:] = reach[:-1]
    first = np.ones(g.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    before[first] = np.iinfo(np.int64).min
    added = e - np.maximum(s, before)
    added = np.where(added > 0, added, 0)
    total = np.bincount(g, weights=added.astype(np.float64), minlength=n_groups)
    return total.astype(np.float64)


def _sorted_groups(
    groups: npt.ArrayLike, values: npt.ArrayLike, n_groups: int
) -> tuple[FloatArray, IntArray, IntArray]:
    codes = np.asarray(groups, dtype=np.int64)
    numbers = np.asarray(values, dtype=np.float64)
    # Sorted by value, then stably by group: the values of each group in
    # order, as one lexsort gives them, in half its time.
    by_value = np.argsort(numbers)
    order = by_value[np.argsort(_narrow(codes[by_value], n_groups), kind="stable")]
    counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
    offsets = np.cumsum(counts) - counts
    return numbers[order], counts, offsets


def _narrow(codes: IntArray, n_groups: int) -> npt.NDArray[np.signedinteger]:
    """Codes in the smallest integer type that holds them: numpy sorts 16-bit
    integers by radix, in linear time."""
    for kind in (np.int16, np.int32):
        if n_groups <= np.iinfo(kind).max:
            return codes.astype(kind)
    return codes


def _offset_key(codes: IntArray, values: IntArray) -> tuple[IntArray, int, int] | None:
    """One int64 per element ordering by (code, value): the code in the high
    bits, the value's offset from the smallest in the low ones. None when the
    two do not fit 63 bits together (or a code is negative).

    Returns:
        The keys, the shift of the codes and the smallest value.
    """
    if codes.size == 0 or int(codes.min()) < 0:
        return None
    low, high = int(values.min()), int(values.max())
    shift = (high - low).bit_length()
    if int(codes.max()).bit_length() + shift > 62:
        return None
    return (codes << np.int64(shift)) | (values - np.int64(low)), shift, low


def sort_by_group(codes: IntArray, values: IntArray) -> IntArray:
    """The order sorting elements by group code, then by value (integers).

    The same order as ``np.lexsort((values, codes))``, ties kept in input
    order, but computed as one sort of int64 keys where they fit.
    """
    found = _offset_key(codes, values)
    if found is None:
        return np.lexsort((values, codes))
    return np.argsort(found[0], kind="stable")


def group_cummax(codes: IntArray, values: IntArray) -> IntArray:
    """The running maximum of integer values within each group, for elements
    already sorted by group code (each group's elements contiguous and the
    codes ascending).

    With the code in the high bits of one key, a running maximum over the
    whole array never carries a value over into the next group.
    """
    found = _offset_key(codes, values)
    if found is None:
        return np.asarray(
            pd.Series(values).groupby(codes).cummax().to_numpy(), dtype=np.int64
        )
    keys, shift, low = found
    running: IntArray = np.maximum.accumulate(keys)
    return (running - (codes << np.int64(shift))) + np.int64(low)


def percentiles(
    groups: npt.ArrayLike, values: npt.ArrayLike, qs: list[float], n_groups: int
) -> FloatArray:
    """Per-group percentiles with numpy's default (linear) interpolation.

    Returns an array of shape (n_groups, len(qs)); groups without values get
    NaN. For a group of n sorted values v, percentile q is
    ``v[k] + (h - k) * (v[k + 1] - v[k])`` with ``h = (n - 1) * q / 100`` and
    ``k = floor(h)``, as :func:`numpy.percentile` computes it.
    """
    v, counts, offsets = _sorted_groups(groups, values, n_groups)
    out = np.full((n_groups, len(qs)), np.nan)
    has = counts > 0
    n, off = counts[has], offsets[has]
    for j, q in enumerate(qs):
        h = (n - 1) * (q / 100.0)
        low = np.floor(h).astype(np.int64)
        high = np.minimum(low + 1, n - 1)
        below, above = v[off + low], v[off + high]
        out[has, j] = below + (h - low) * (above - below)
    return out


def percentile_ci(
    groups: npt.ArrayLike,
    values: npt.ArrayLike,
    q: float,
    n_groups: int,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """A distribution-free confidence interval for each group's percentile q.

    The bounds are order statistics: with n values, the number below the true
    percentile is Binomial(n, q/100), so the values of rank
    ``l = binom.ppf(a/2)`` and ``u = binom.ppf(1 - a/2) + 1`` (1-based, ``a`` =
    1 - level) enclose it with probability at least ``level``. When n is too
    small for a bound to exist inside the sample (for p95 at 95%, under 72
    values for the upper one) that bound is NaN: the data cannot limit it.

    Returns:
        Lower and upper bounds, one per group.
    """
    v, counts, offsets = _sorted_groups(groups, values, n_groups)
    alpha = 1.0 - level
    p = q / 100.0
    trials = np.maximum(counts, 1)
    low = _binom_ppf(alpha / 2, trials, p).astype(np.int64)
    high = _binom_ppf(1 - alpha / 2, trials, p).astype(np.int64) + 1
    lower = np.full(n_groups, np.nan)
    upper = np.full(n_groups, np.nan)
    ok_low = (counts > 0) & (low >= 1)
    ok_high = (counts > 0) & (high <= counts)
    lower[ok_low] = v[offsets[ok_low] + low[ok_low] - 1]
    upper[ok_high] = v[offsets[ok_high] + high[ok_high] - 1]
    return lower, upper


def group_codes(*columns: npt.ArrayLike | pd.Series) -> tuple[IntArray, IntArray]:
    """Number the distinct combinations of several columns.

    Faster than factorising a MultiIndex: each column becomes small integer
    codes (integer columns by offset, others by factorising; categoricals use
    their own codes), the codes are combined arithmetically into one int64,
    and that is factorised once. Where the product of the columns' ranges
    could overflow, the combination is re-factorised first. Missing values
    form a group of their own.

    Returns:
        Each row's group code (0..n_groups-1, in order of first appearance)
        and, per group, the position of its first row.
    """
    combined: IntArray | None = None
    width = 1
    for column in columns:
        codes, size = _small_codes(column)
        if combined is None:
            combined, width = codes, size
            continue
        if width * size >= 2**62:
            combined = pd.factorize(combined)[0].astype(np.int64)
            width = int(combined.max(initial=0)) + 1
        combined = combined * np.int64(size) + codes
        width *= size
    if combined is None or combined.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    combined = pd.factorize(combined)[0].astype(np.int64)

    # Codes appear in order, so a group starts where the running maximum grows.
    running = np.maximum.accumulate(combined)
    starts = np.ones(combined.size, dtype=bool)
    starts[1:] = running[1:] > running[:-1]
    return combined, np.flatnonzero(starts).astype(np.int64)


def _small_codes(column: npt.ArrayLike | pd.Series) -> tuple[IntArray, int]:
    """Non-negative integer codes for a column, and how many values they span."""
    if isinstance(column, pd.Series) and isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64) + 1
        return codes, len(column.cat.categories) + 1
    if isinstance(column, pd.Series) and not (
        isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu"
    ):
        # Text and nullable columns are factorised as they are: converting
        # Arrow strings to Python objects first costs more than the factorising.
        text_codes, text_uniques = pd.factorize(column)
        return text_codes.astype(np.int64) + 1, len(text_uniques) + 1
    values = column.to_numpy() if isinstance(column, pd.Series) else np.asarray(column)
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low < 2**40:
            return values.astype(np.int64) - low, high - low + 1
    found, uniques = pd.factorize(column if isinstance(column, pd.Series) else values)
    return found.astype(np.int64) + 1, len(uniques) + 1
