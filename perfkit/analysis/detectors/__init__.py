"""The detectors, one module each, and the order they run in.

Each module has ``detect(context, found) -> list[Finding]``: ``context`` holds
the prepared tables (:class:`~perfkit.analysis.detectors._base.Context`) and
``found`` the findings of the detectors before it, so a later detector can
leave out or point at what an earlier one reported. Hence the order: an N+1
before the redundant query it covers, a missing index before the slow query
it explains, an HTTP N+1 before the slow calls it is made of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perfkit.analysis.detectors import (
    missing_index,
    n_plus_one_http,
    n_plus_one_query,
    redundant_query,
    slow_external_call,
    slow_query,
)
from perfkit.analysis.detectors._base import Context
from perfkit.analysis.model import Finding

Detector = Callable[[Context, Sequence[Finding]], list[Finding]]

#: Every detector, by the kind of finding it makes, in the order they run.
DETECTORS: dict[str, Detector] = {
    n_plus_one_query.KIND: n_plus_one_query.detect,
    redundant_query.KIND: redundant_query.detect,
    n_plus_one_http.KIND: n_plus_one_http.detect,
    missing_index.KIND: missing_index.detect,
    slow_query.KIND: slow_query.detect,
    slow_external_call.KIND: slow_external_call.detect,
}

__all__ = ["DETECTORS", "Context", "Detector"]
