"""Shortcuts taken for speed give exactly what the slow, plain route gives."""

from __future__ import annotations

import numpy as np
from scipy import stats

from perfkit.analysis.grouped import _binom_ppf


def test_binomial_quantiles_equal_scipy_stats() -> None:
    # percentile_ci calls scipy's ufunc directly to spare importing scipy.stats.
    rng = np.random.default_rng(7)
    trials = np.concatenate([np.arange(1, 3000), rng.integers(3000, 3_000_000, 3000)])
    for q in (0.025, 0.975, 0.5):
        for p in (0.5, 0.95, 0.99):
            expected = stats.binom.ppf(q, trials, p)
            assert np.array_equal(_binom_ppf(q, trials, p), expected), (q, p)
