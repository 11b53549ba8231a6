"""Text columns read straight from their Arrow buffers.

The span frame's text columns are Arrow strings: one buffer of bytes and one
of offsets. Two jobs are far cheaper done on those buffers than value by
value:

* Fixed-width ids as 64-bit words (:func:`fixed_width_words`). Span ids are
  16 hex digits and trace ids 32. Hashing and comparing them as strings is
  the costliest part of building the span tree; as the raw bytes, eight to a
  word, they hash and compare several times faster, and no string is copied.
* Finding the values that contain a word (:func:`rows_containing`): one
  search over each chunk's bytes, then the matches' offsets mapped to rows,
  instead of one search per value.

Each returns None for a column it cannot read this way (not Arrow text, or
ids of several lengths), and the caller falls back to pandas.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Words = npt.NDArray[np.uint64]

#: An odd multiplier (2**64 / golden ratio) for mixing words into one key.
_MIX = np.uint64(0x9E3779B97F4A7C15)


def arrow_strings(column: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow string data behind a pandas column, without copying, or None
    when the column is not backed by Arrow strings."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return None
    array = column.array
    if not hasattr(array, "__arrow_array__"):
        return None
    data = array.__arrow_array__()
    if isinstance(data, pa.Array):
        data = pa.chunked_array([data])
    if not isinstance(data, pa.ChunkedArray):
        return None
    if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return data


def fixed_width_words(
    column: pd.Series, width: int | None = None
) -> tuple[Words, npt.NDArray[np.bool_]] | None:
    """The bytes of each value of a text column as ``width / 8`` 64-bit words.

    Equal rows of words are equal strings, and the other way round, since
    every value has the same length.

    Args:
        column: Text; missing values allowed.
        width: The length in bytes every value must have; by default that
            of the first value present.

    Returns:
        An (n, width / 8) array of words (a missing value reads as ``width``
        zero digits, ``b"000..."``) and a mask of the values present; or
        None when the column is not Arrow text, or a value present is not
        ``width`` bytes long, or ``width`` is not a multiple of 8.
    """
    data = arrow_strings(column)
    if data is None:
        return None
    n = len(data)
    present = np.ones(n, dtype=bool)
    if data.null_count:
        present = ~np.asarray(data.is_null().to_numpy(zero_copy_only=False))
    if width is None:
        width = _first_width(data)
    if width is None or width == 0 or width % 8:
        return None
    if data.null_count:
        data = pc.fill_null(data, "0" * width)
    parts = []
    for chunk in data.chunks:
        raw = _fixed_width_bytes(chunk, width)
        if raw is None:
            return None
        parts.append(raw)
    if not parts:
        return np.zeros((0, width // 8), dtype=np.uint64), present
    raw = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return raw.view(np.uint64), present


def mix(*words: Words) -> Words:
    """One 64-bit key per row from several arrays of words.

    Equal rows get equal keys; different rows almost never do, but may:
    whoever looks keys up must compare the words of what a key finds.
    """
    key = np.zeros(len(words[0]), dtype=np.uint64)
    for array in words:
        for column in range(array.shape[1]):
            key ^= array[:, column]
            key *= _MIX
    return key


def _first_width(data: pa.ChunkedArray) -> int | None:
    for chunk in data.chunks:
        valid = chunk.drop_null()
        if len(valid):
            return len(valid[0].as_py().encode())
    return None


def _fixed_width_bytes(chunk: pa.Array, width: int) -> npt.NDArray[np.uint8] | None:
    """A string chunk's bytes as an (n, width) array, or None when some value
    is not ``width`` bytes long."""
    n = len(chunk)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = _offsets(chunk)
    first, last = int(offsets[0]), int(offsets[-1])
    if last - first != n * width or np.any(np.diff(offsets) != width):
        return None
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[first:last]
    return data.reshape(n, width)


def rows_containing(column: pd.Series, word: str) -> npt.NDArray[np.bool_] | None:
    """Whether each value of a text column contains ``word`` (False where
    missing), or None when the column is not Arrow text.

    The same as ``column.str.contains(word, regex=False).fillna(False)``:
    UTF-8 never matches an ASCII byte inside another character, so a match in
    the bytes is a match in the text.
    """
    data = arrow_strings(column)
    if data is None:
        return None
    needle = word.encode()
    found = np.zeros(len(data), dtype=bool)
    base = 0
    for chunk in data.chunks:
        n = len(chunk)
        offsets = _offsets(chunk)
        first, last = (int(offsets[0]), int(offsets[-1])) if n else (0, 0)
        text = b""
        if last > first:
            text = memoryview(chunk.buffers()[2])[first:last].tobytes()
        matches = text.count(needle)
        if matches == 0:
            base += n
            continue
        if matches > n // 8:
            # Matches in many values: one search per value costs less than
            # one Python step per match.
            hits = pc.match_substring(chunk, word).fill_null(False)
            found[base : base + n] = hits.to_numpy(zero_copy_only=False)
            base += n
            continue
        starts = _starts(text, needle)
        if starts.size:
            starts += first
            row = np.searchsorted(offsets, starts, side="right") - 1
            # A match that runs on into the next value is no match.
            inside = starts + len(needle) <= offsets[row + 1]
            found[base + row[inside]] = True
        base += n
    if data.null_count:
        found &= ~np.asarray(data.is_null().to_numpy(zero_copy_only=False))
    return found


def _starts(text: bytes, needle: bytes) -> npt.NDArray[np.int64]:
    """Where ``needle`` starts in ``text``, overlapping matches included."""
    starts = []
    at = text.find(needle)
    while at >= 0:
        starts.append(at)
        at = text.find(needle, at + 1)
    return np.array(starts, dtype=np.int64)


def _offsets(chunk: pa.Array) -> npt.NDArray[np.int64]:
    """The n + 1 value offsets of a string chunk, into its data buffer."""
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    n = len(chunk)
    raw = np.frombuffer(chunk.buffers()[1], dtype=offset_type)
    return raw[chunk.offset : chunk.offset + n + 1].astype(np.int64, copy=False)


def category_text(column: pd.Series, positions: npt.NDArray[np.intp]) -> object:
    """The values of a categorical text column at ``positions``, as a text
    column.

    The same as ``column.iloc[positions].to_numpy(dtype=object)`` put into a
    frame (which infers pandas' text dtype), but taken by Arrow from the few
    categories instead of through a Python object per row. Other columns
    get that object array.
    """
    taken = column.iloc[positions]
    target = pd.Series(["text"]).dtype
    categorical = isinstance(column.dtype, pd.CategoricalDtype)
    if not categorical or column.cat.categories.inferred_type != "string":
        return taken.to_numpy(dtype=object)
    codes = taken.cat.codes.to_numpy()
    categories = pa.array(
        column.cat.categories.to_numpy(dtype=object), type=pa.large_string()
    )
    text = pc.take(categories, pa.array(codes, mask=codes < 0))
    return pd.array(text, dtype=target)
