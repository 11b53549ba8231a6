"""Markdown escaping and URL masking."""

from __future__ import annotations

import pytest

from perfkit.reports._escape import mask_url, mask_urls_in, md_block, md_code, md_escape


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("GET /orders/{id}", "GET /orders/{id}"),
        ("a|b", "a\\|b"),
        ("`x`", "\\`x\\`"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("*a* _b_ [c](d) ~e~ #f", "\\*a\\* \\_b\\_ \\[c\\](d) \\~e\\~ \\#f"),
        ("one\ntwo\r\nthree\rfour", "one two three four"),
        ("back\\slash", "back\\\\slash"),
        (42, "42"),
    ],
)
def test_md_escape(value: object, expected: str) -> None:
    assert md_escape(value) == expected


@pytest.mark.parametrize(
    ("value", "in_table", "expected"),
    [
        ("x", False, "`x`"),
        ("a`b", False, "``a`b``"),
        ("`a", False, "`` `a ``"),
        ("a|b", False, "`a|b`"),
        ("a|b", True, "`a\\|b`"),
        ("a\nb", False, "`a b`"),
    ],
)
def test_md_code(value: str, in_table: bool, expected: str) -> None:
    assert md_code(value, in_table=in_table) == expected


def test_md_block_fence_is_longer_than_any_backtick_run_inside() -> None:
    assert md_block("a\n````\nb\n", "sql") == "`````sql\na\n````\nb\n`````"
    assert md_block("plain") == "```\nplain\n```"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://app:s3cret@db/shop", "postgresql://app:***@db/shop"),
        ("postgresql://app@db/shop", "postgresql://app@db/shop"),
        ("https://h/p?token=abc&page=2", "https://h/p?token=***&page=2"),
        ("https://h/p?API_KEY=abc", "https://h/p?API_KEY=***"),
        ("sample_traces/before", "sample_traces/before"),
        ("perfkit.db", "perfkit.db"),
    ],
)
def test_mask_url(url: str, expected: str) -> None:
    assert mask_url(url) == expected


def test_mask_urls_in_text() -> None:
    text = "could not reach mysql://root:pw@127.0.0.1/x (timeout)"

    assert (
        mask_urls_in(text) == "could not reach mysql://root:***@127.0.0.1/x (timeout)"
    )
