"""Who is whose parent, and which request each span belongs to.

A span's *request* is the nearest SERVER span at or above it in the same
service: the request that service was handling when the span was made. A
database call under an INTERNAL span under the FastAPI SERVER span belongs to
that SERVER span; the SERVER span of a downstream service starts a request of
its own. Spans with no SERVER span above them in their service (a background
job, a trace whose root was not exported) belong to no request.

Both steps are vectorised: parents are found with one sort and a binary
search, and requests by pointer jumping (each round, every span jumps to
where its current target points), so a tree of depth d takes log2(d) rounds
of whole-array indexing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfkit.analysis._arrow import fixed_width_words, mix
from perfkit.ingest.schema import KIND_SERVER

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]

#: Pointer jumping halves the remaining depth each round; 64 rounds cover any
#: tree, so a span still unresolved after them sits on a parent cycle.
_MAX_ROUNDS = 64


@dataclass(frozen=True)
class SpanTree:
    """Row positions of each span's parent and request (-1 for none).

    Attributes:
        parent: Position of the parent span in the same trace, or -1 when the
            span is a root or its parent was not recorded.
        request: Position of the span's request (see the module docs), or -1.
    """

    parent: IntArray
    request: IntArray


def build_tree(spans: pd.DataFrame) -> SpanTree:
    """Find every span's parent and request.

    Args:
        spans: A span frame (see :mod:`perfkit.ingest.schema`); rows are
            addressed by position.
    """
    parent = _parents(spans)
    request = _requests(spans, parent)
    return SpanTree(parent=parent, request=request)


def _parents(spans: pd.DataFrame) -> IntArray:
    n = len(spans)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    by_number = _parents_by_number(spans)
    if by_number is not None:
        return by_number
    trace_codes, _ = pd.factorize(spans["trace_id"])
    id_codes, ids = pd.factorize(
        pd.concat([spans["span_id"], spans["parent_span_id"]], ignore_index=True)
    )
    span_codes, parent_codes = id_codes[:n], id_codes[n:]

    # One integer key per (trace, span id); a parent is found by looking its
    # key up among the sorted span keys. Duplicated span ids resolve to the
    # first row that carries them.
    width = np.int64(len(ids) + 1)
    keys = trace_codes.astype(np.int64) * width + span_codes
    wanted = trace_codes.astype(np.int64) * width + parent_codes
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    slot = np.minimum(np.searchsorted(sorted_keys, wanted), n - 1)
    found = (parent_codes >= 0) & (sorted_keys[slot] == wanted)
    return np.where(found, order[slot], -1).astype(np.int64)


def _parents_by_number(spans: pd.DataFrame) -> IntArray | None:
    """Parents found with the ids read as 64-bit words (see :mod:`._arrow`).

    Each parent id is mixed into one 64-bit key and looked up among the keys
    of the span ids, which gives the first row with that key. Where that
    row's span id is the parent id and its trace the span's own, it is the
    first row carrying (trace, parent id), as the general path finds. None,
    for the general path, when the ids do not all have one length, or a key
    finds another id or another trace.
    """
    span = fixed_width_words(spans["span_id"])
    if span is None or not span[1].all():
        return None
    trace = fixed_width_words(spans["trace_id"])
    parent = fixed_width_words(spans["parent_span_id"], span[0].shape[1] * 8)
    if trace is None or parent is None or not trace[1].all():
        return None
    traces, ids, parents = trace[0], span[0], parent[0]
    found = pc.index_in(pa.array(mix(parents)), value_set=pa.array(mix(ids)))
    slot = np.asarray(pc.fill_null(found, -1).to_numpy(), dtype=np.int64)
    slot[~parent[1]] = -1
    has = slot >= 0
    there = np.maximum(slot, 0)
    same = has.copy()
    for words, wanted in ((ids, parents), (traces, traces)):
        for column in range(words.shape[1]):
            same &= words[there, column] == wanted[:, column]
    if not np.array_equal(same, has):
        return None
    return slot


def _requests(spans: pd.DataFrame, parent: IntArray) -> IntArray:
    n = len(spans)
    is_server = spans["kind"].to_numpy() == KIND_SERVER
    service, _ = pd.factorize(spans["service_name"])
    own_service = (parent >= 0) & (service[np.maximum(parent, 0)] == service)

    # Position n is a sink standing for "no request". A SERVER span points at
    # itself, a span whose parent is in its service at the parent, any other
    # span at the sink; then every span jumps until it rests on a fixed point.
    target = np.where(is_server, np.arange(n), np.where(own_service, parent, n))
    target = np.append(target, n).astype(np.int64)
    for _ in range(_MAX_ROUNDS):
        jumped = target[target]
        if np.array_equal(jumped, target):
            break
        target = jumped
    request = target[:n]
    resolved = request < n
    resolved[resolved] = is_server[request[resolved]]
    cyclic = int(np.count_nonzero((request < n) & ~resolved))
    if cyclic:
        logger.warning(
            "%d spans sit on parent cycles; they belong to no request", cyclic
        )
    return np.where(resolved, request, -1).astype(np.int64)
