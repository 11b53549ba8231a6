"""The terminal summary: golden text, and rich markup in values shown as text."""

from __future__ import annotations

import dataclasses
import io

from builders import Golden
from rich.console import Console

from perfkit.analysis.model import Analysis
from perfkit.reports import TextRenderer


def test_matches_golden_file(shop: Analysis, golden: Golden) -> None:
    golden("summary.txt", TextRenderer(width=100).render(shop))


def test_fits_eighty_columns(shop: Analysis) -> None:
    text = TextRenderer(width=80).render(shop)

    assert max(len(line) for line in text.splitlines()) <= 80
    assert "GET /orders/{order_id}" in text
    assert "N+1 queries (finding 2)" in text
    assert "Fix: Add an index on products (category_id)" in text


def test_rich_markup_in_values_is_printed_literally(shop: Analysis) -> None:
    shop.run_label = "[bold red]before[/]"
    text = TextRenderer().render(shop)

    assert "run [bold red]before[/]" in text


def test_renderable_prints_in_colour_and_can_leave_out_warnings(
    shop: Analysis,
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True, color_system="256")
    console.print(TextRenderer(show_warnings=False).renderable(shop))
    output = buffer.getvalue()

    assert "\x1b[" in output
    assert "critical" in output
    assert "Warnings" not in output
    assert "Warnings" in TextRenderer().render(shop)


def test_names_three_inputs_and_counts_the_rest(shop: Analysis) -> None:
    shop.inputs = [f"traces/{n}.jsonl" for n in range(1, 6)]
    text = TextRenderer().render(shop)

    assert (
        "from traces/1.jsonl, traces/2.jsonl, traces/3.jsonl and 2 more files" in text
    )


def test_names_the_endpoint_once_when_the_title_does(shop: Analysis) -> None:
    first = shop.findings[0]
    title = f"Full scan of products under '{first.endpoint}'"
    shop.findings[0] = dataclasses.replace(first, title=title)
    text = TextRenderer().render(shop)

    assert title in text
    assert "Missing index on GET /products/search" not in text
    assert "N+1 queries on GET /orders/{order_id}" in text


def test_an_endpoint_too_thin_to_rank_but_slower_is_shown_after_the_top(
    shop: Analysis,
) -> None:
    # POST /admin/reindex: 3 requests. With a p95 of 5 s it would top the
    # table; it follows the ranked rows instead, unranked, and says why.
    endpoints = shop.endpoints.copy()
    thin = endpoints["endpoint"] == "POST /admin/reindex"
    endpoints.loc[thin, ["p50_ms", "p95_ms"]] = [1510.0, 5000.0]
    shop.endpoints = endpoints
    text = TextRenderer(width=100).render(shop)
    lines = text[: text.index("Findings (")].splitlines()

    ranked = [n for n, line in enumerate(lines) if line.lstrip()[:2] in {"1 ", "5 "}]
    (thin_row,) = [n for n, line in enumerate(lines) if "POST /admin/reindex" in line]
    assert thin_row > max(ranked)
    assert lines[thin_row].lstrip().startswith("– ")
    assert "5.00 s" in lines[thin_row]
    assert "not enough data to rank (3 requests)" in lines[thin_row + 1]


def test_a_thin_endpoint_faster_than_the_top_stays_out_of_the_summary(
    shop: Analysis,
) -> None:
    endpoints = shop.endpoints.copy()
    thin = endpoints["endpoint"] == "POST /admin/reindex"
    endpoints.loc[thin, "p95_ms"] = 1.0
    shop.endpoints = endpoints
    text = TextRenderer(width=100).render(shop)
    assert "POST /admin/reindex" not in text[: text.index("Findings (")]


def test_control_characters_in_values_are_shown_escaped(shop: Analysis) -> None:
    # An escape sequence that would clear the screen, a carriage return that
    # would overwrite the line, a right-to-left override.
    hostile = "GET /x\x1b[2J\rFAKE\u202egnp.exe"
    endpoints = shop.endpoints.copy()
    endpoints.loc[0, "endpoint"] = hostile
    shop.endpoints = endpoints
    shop.top_endpoints = [hostile, *shop.top_endpoints[1:]]
    shop.run_label = "run\x1b]0;title\x07"
    text = TextRenderer(width=200).render(shop)

    assert "\x1b" not in text
    assert "\r" not in text
    assert "\u202e" not in text
    assert "GET /x\\x1b[2J\\rFAKE\\u202egnp.exe" in text
    assert "run\\x1b]0;title\\x07" in text
