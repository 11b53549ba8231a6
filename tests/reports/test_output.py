"""Picking a renderer by name or extension, and writing report files."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from perfkit.analysis.model import Analysis
from perfkit.errors import ConfigError
from perfkit.reports import (
    HtmlRenderer,
    JsonRenderer,
    MarkdownRenderer,
    TextRenderer,
    renderer_for,
    write_report,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("text", TextRenderer),
        ("json", JsonRenderer),
        ("markdown", MarkdownRenderer),
        ("html", HtmlRenderer),
    ],
)
def test_picks_by_name(name: str, expected: type) -> None:
    assert type(renderer_for(name)) is expected


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("out/report.html", HtmlRenderer),
        ("REPORT.HTM", HtmlRenderer),
        ("report.md", MarkdownRenderer),
        ("report.markdown", MarkdownRenderer),
        ("report.json", JsonRenderer),
        ("summary.txt", TextRenderer),
    ],
)
def test_picks_by_output_extension(output: str, expected: type) -> None:
    assert type(renderer_for(output=output)) is expected


def test_name_wins_over_extension() -> None:
    assert type(renderer_for("json", "report.html")) is JsonRenderer


def test_defaults_to_text() -> None:
    assert type(renderer_for()) is TextRenderer


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match="'pdf'; use one of text, json, markdown, html"
    ):
        renderer_for("pdf")


def test_unknown_extension_says_how_to_name_the_format() -> None:
    with pytest.raises(ConfigError, match=r"from the name 'report\.pdf'; end it in"):
        renderer_for(output="report.pdf")


def test_writes_one_file_in_the_format_of_its_extension(
    shop: Analysis, tmp_path: Path
) -> None:
    target = tmp_path / "nested" / "run.json"

    written = write_report(shop, target)

    assert written == [target]
    assert orjson.loads(target.read_bytes())["run"] == "before"


def test_a_directory_gets_html_and_markdown(shop: Analysis, tmp_path: Path) -> None:
    written = write_report(shop, f"{tmp_path}/reports/")

    assert written == [tmp_path / "reports/report.html", tmp_path / "reports/report.md"]
    assert written[0].read_text().startswith("<!DOCTYPE html>")
    assert written[1].read_text().startswith("# perfkit report: run before")


def test_an_existing_directory_needs_no_trailing_slash(
    shop: Analysis, tmp_path: Path
) -> None:
    written = write_report(shop, tmp_path, format="json")

    assert written == [tmp_path / "report.json"]


def test_logs_one_line_per_report(
    shop: Analysis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="perfkit")

    write_report(shop, tmp_path)

    assert [record.getMessage() for record in caplog.records] == [
        f"wrote the html report to {tmp_path / 'report.html'}",
        f"wrote the markdown report to {tmp_path / 'report.md'}",
    ]
