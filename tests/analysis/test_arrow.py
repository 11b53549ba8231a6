"""The Arrow-buffer readers behind the tree and the call tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit.analysis._arrow import (
    category_text,
    fixed_width_words,
    mix,
    rows_containing,
)


def chunked(values: list[str | None], *, large: bool = True, cut: int = 2) -> pd.Series:
    """A text column backed by an Arrow array in chunks of ``cut`` values."""
    kind = pa.large_string() if large else pa.string()
    parts = [values[i : i + cut] for i in range(0, len(values), cut)] or [[]]
    data = pa.chunked_array([pa.array(p, type=kind) for p in parts], type=kind)
    return pd.Series(pd.arrays.ArrowStringArray(data))


def test_fixed_width_words_are_the_bytes_eight_to_a_word() -> None:
    column = chunked(["0123456789abcdef", None, "0123456789abcdef", "fedcba9876543210"])
    words, present = fixed_width_words(column)  # type: ignore[misc]
    assert words.shape == (4, 2)
    assert present.tolist() == [True, False, True, True]
    # The first word of "0123456789abcdef" is the bytes "01234567", little end first.
    assert int(words[0, 0]) == int.from_bytes(b"01234567", "little")
    assert int(words[0, 1]) == int.from_bytes(b"89abcdef", "little")
    assert (words[0] == words[2]).all()
    assert not (words[0] == words[3]).all()
    # A missing value reads as zero digits.
    assert int(words[1, 0]) == int.from_bytes(b"00000000", "little")


@pytest.mark.parametrize(
    "values",
    [
        ["0123456789abcdef", "0123456789abcde"],  # one value shorter
        ["0123", "4567"],  # not a multiple of eight bytes
        ["", ""],  # empty
    ],
)
def test_fixed_width_words_refuse_other_shapes(values: list[str]) -> None:
    assert fixed_width_words(chunked(values)) is None


def test_fixed_width_words_need_arrow_text() -> None:
    assert fixed_width_words(pd.Series(["01234567"], dtype=object)) is None
    assert fixed_width_words(pd.Series(pd.Categorical(["01234567"]))) is None


def test_fixed_width_words_with_a_given_width() -> None:
    column = chunked([None, "abcdefgh"], large=False)
    assert fixed_width_words(column, 16) is None
    words, present = fixed_width_words(column, 8)  # type: ignore[misc]
    assert present.tolist() == [False, True]
    assert int(words[1, 0]) == int.from_bytes(b"abcdefgh", "little")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["aaaaaaaa", "aaaaaaab", "baaaaaaa", None]), max_size=12)
)
def test_equal_words_are_equal_strings(values: list[str | None]) -> None:
    found = fixed_width_words(chunked(values, cut=3), 8)
    assert found is not None
    words, present = found
    keys = mix(words)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if a is not None and b is not None:
                assert ((words[i] == words[j]).all()) == (a == b)
                if a == b:
                    assert keys[i] == keys[j]
    assert present.tolist() == [v is not None for v in values]


def test_mix_combines_every_word() -> None:
    a = np.array([[1, 2], [1, 3], [1, 2]], dtype=np.uint64)
    b = np.array([[7], [7], [8]], dtype=np.uint64)
    keys = mix(a, b)
    assert keys[0] != keys[1]  # second word of a differs
    assert keys[0] != keys[2]  # b differs
    assert (mix(a, b) == keys).all()


def contains(values: list[str | None], word: str) -> list[bool]:
    return [v is not None and word in v for v in values]


@pytest.mark.parametrize("cut", [1, 2, 3, 100])
def test_rows_containing_finds_the_word_in_values_only(cut: int) -> None:
    # "param" + "eter" across two values is no match.
    values = ['{"a":1}', "param", "eter", None, '{"db.query.parameter.x":"1"}', "x"]
    found = rows_containing(chunked(values, cut=cut), "parameter")
    assert found is not None
    assert found.tolist() == [False, False, False, False, True, False]


def test_rows_containing_overlapping_matches() -> None:
    # A match running from one value into the next ("ab|aab") must not hide
    # the one inside the next value.
    values = ["xab", "aab", "b", "aaa", "ba"]
    found = rows_containing(chunked(values, cut=100), "aab")
    assert found is not None
    assert (
        found.tolist() == contains(values, "aab") == [False, True, False, False, False]
    )


def test_rows_containing_when_most_values_match() -> None:
    values = [f"row {i} parameter" if i % 3 else f"row {i}" for i in range(40)]
    values[5] = None
    found = rows_containing(chunked(values, cut=7), "parameter")
    assert found is not None
    assert found.tolist() == contains(values, "parameter")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(alphabet="ab\u00e9{}", max_size=6)), max_size=15
    ),
    st.sampled_from(["a", "ab", "aa", "ba", "\u00e9a", "{"]),
    st.integers(1, 5),
)
def test_rows_containing_agrees_with_str_contains(
    values: list[str | None], word: str, cut: int
) -> None:
    found = rows_containing(chunked(values, cut=cut), word)
    assert found is not None
    assert found.tolist() == contains(values, word)


def test_rows_containing_needs_arrow_text() -> None:
    assert rows_containing(pd.Series(["a"], dtype=object), "a") is None


def test_category_text_is_the_values_as_text() -> None:
    column = pd.Series(pd.Categorical(["x", None, "y", "x"]))
    positions = np.array([3, 1, 2])
    expected = pd.DataFrame({"k": column.iloc[positions].to_numpy(dtype=object)})
    got = pd.DataFrame({"k": category_text(column, positions)})
    pd.testing.assert_frame_equal(got, expected)
    assert got["k"].tolist()[0] == "x"
    assert pd.isna(got["k"].iloc[1])


def test_category_text_of_other_columns_is_objects() -> None:
    numbers = pd.Series(pd.Categorical([1, 2, 1]))
    assert category_text(numbers, np.array([2, 1])).tolist() == [1, 2]  # type: ignore[attr-defined]
    plain = pd.Series(["a", "b"], dtype=object)
    assert category_text(plain, np.array([1])).tolist() == ["b"]  # type: ignore[attr-defined]
