"""``perfkit analyze`` through click's runner, on traces written by the test."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from perfkit.cli import cli

OtlpWriter = Callable[..., Path]

ORDERS = "GET /orders/{order_id}"
HEALTH = "GET /health"
START = 1_700_000_000_000_000_000
MS = 1_000_000
ORDER_TRACES, HEALTH_TRACES, QUERIES = 30, 25, 8


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, so no perfkit.db or config file is found."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def server(n: int, route: str, duration_ms: float, **extra: Any) -> dict[str, Any]:
    start = START + n * 1000 * MS
    return {
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "name": f"GET {route}",
        "kind": 2,
        "start_ns": start,
        "end_ns": start + int(duration_ms * MS),
        "attributes": {
            "http.request.method": "GET",
            "http.route": route,
            "http.response.status_code": 200,
            **extra,
        },
    }


def order_trace(n: int) -> list[dict[str, Any]]:
    """A request that loads each of an order's items with its own query."""
    root = server(n, "/orders/{order_id}", 60 + n % 7)
    spans = [root]
    for q in range(QUERIES):
        start = root["start_ns"] + (2 + 6 * q) * MS
        spans.append(
            {
                "trace_id": root["trace_id"],
                "span_id": f"{n:08x}{q + 1:08x}",
                "parent_span_id": root["span_id"],
                "name": "SELECT shop.db",
                "kind": 3,
                "start_ns": start,
                "end_ns": start + 5 * MS,
                "attributes": {
                    "db.system": "sqlite",
                    "db.statement": "SELECT id, sku FROM order_items "
                    f"WHERE order_items.id = {n * 100 + q}",
                },
            }
        )
    return spans


def shop_spans() -> list[dict[str, Any]]:
    spans = [s for n in range(1, ORDER_TRACES + 1) for s in order_trace(n)]
    first = ORDER_TRACES + 1
    spans += [server(n, "/health", 1.0) for n in range(first, first + HEALTH_TRACES)]
    return spans


@pytest.fixture
def traces(in_tmp: Path, write_otlp: OtlpWriter) -> Path:
    """A folder of traces: an endpoint with an N+1, and a fast one."""
    folder = in_tmp / "before"
    folder.mkdir()
    write_otlp(folder / "shop.jsonl", shop_spans())
    return folder


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["analyze", *args], catch_exceptions=False)


def test_prints_the_summary_and_writes_nothing(traces: Path, in_tmp: Path) -> None:
    result = run(str(traces))

    assert result.exit_code == 0, result.output
    assert "run before" in result.stdout
    assert "Slowest endpoints by p95" in result.stdout
    assert ORDERS in result.stdout
    assert "N+1 queries" in result.stdout
    assert "--output reports/" in result.stderr
    assert sorted(path.name for path in in_tmp.iterdir()) == ["before"]


def test_json_to_stdout_is_the_whole_document(traces: Path) -> None:
    result = run(str(traces), "--format", "json")

    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["run"] == "before"
    assert document["spans"] == ORDER_TRACES * (1 + QUERIES) + HEALTH_TRACES
    rows = {row["endpoint"]: row for row in document["endpoints"]}
    assert rows[ORDERS]["requests"] == ORDER_TRACES
    assert rows[HEALTH]["requests"] == HEALTH_TRACES
    assert rows[ORDERS]["queries_per_request"] == QUERIES
    assert document["top_endpoints"][0] == ORDERS
    kinds = {(f["kind"], f["endpoint"]) for f in document["findings"]}
    assert ("n_plus_one_query", ORDERS) in kinds


def test_output_directory_gets_html_and_markdown(traces: Path, in_tmp: Path) -> None:
    result = run(str(traces), "--output", "reports/")

    assert result.exit_code == 0, result.output
    html = (in_tmp / "reports" / "report.html").read_text()
    markdown = (in_tmp / "reports" / "report.md").read_text()
    assert "<svg" in html
    assert "{order_id}" in html
    assert markdown.startswith("# perfkit report: run before\n")
    assert f"`{ORDERS}`" in markdown
    assert "Slowest endpoints by p95" in result.stdout
    assert "reports/report.html" in result.stderr
    assert "reports/report.md" in result.stderr


def test_output_file_format_comes_from_its_extension(
    traces: Path, in_tmp: Path
) -> None:
    result = run(str(traces), "-o", "out/before.json")

    assert result.exit_code == 0, result.output
    document = orjson.loads((in_tmp / "out" / "before.json").read_bytes())
    assert document["run"] == "before"
    assert "Slowest endpoints by p95" in result.stdout


def test_with_db_stores_the_run_then_analyses_it_by_name(
    traces: Path, in_tmp: Path
) -> None:
    stored = run(
        str(traces), "--db", "spans.db", "--run", "baseline", "--format", "json"
    )
    again = run("baseline", "--db", "spans.db", "--format", "json")

    assert stored.exit_code == 0, stored.output
    assert again.exit_code == 0, again.output
    first, second = orjson.loads(stored.stdout), orjson.loads(again.stdout)
    assert first["run"] == second["run"] == "baseline"
    assert (
        first["spans"]
        == second["spans"]
        == ORDER_TRACES * (1 + QUERIES) + HEALTH_TRACES
    )
    assert first["top_endpoints"] == second["top_endpoints"]
    assert (in_tmp / "spans.db").is_file()


def test_top_limits_the_ranked_endpoints(traces: Path) -> None:
    result = run(str(traces), "--top", "1", "--format", "json")

    assert orjson.loads(result.stdout)["top_endpoints"] == [ORDERS]


def test_a_missing_path_without_a_store_is_bad_input(in_tmp: Path) -> None:
    result = run("befor")

    assert result.exit_code == 2
    assert (
        "befor: no such file or folder, and no span store perfkit.db" in result.stderr
    )
    assert not (in_tmp / "perfkit.db").exists()


def test_a_missing_run_names_the_runs_the_store_has(traces: Path) -> None:
    run(str(traces), "--db", "spans.db", "--run", "baseline", "--format", "json")

    result = run("candidate", "--db", "spans.db")

    assert result.exit_code == 2
    assert "candidate: no such file or folder" in result.stderr
    assert "baseline" in result.stderr


def test_an_unknown_output_extension_fails_before_reading(traces: Path) -> None:
    result = run(str(traces), "--output", "report.pdf")

    assert result.exit_code == 2
    assert "report.pdf" in result.stderr


def test_traces_without_requests_exit_3(in_tmp: Path, write_otlp: OtlpWriter) -> None:
    path = write_otlp(
        in_tmp / "jobs.jsonl",
        [{"trace_id": f"{n:032x}", "span_id": f"{n:016x}"} for n in range(1, 6)],
    )

    result = run(str(path))

    assert result.exit_code == 3
    assert "no data" in result.stderr
    assert "5 spans" in result.stderr
    assert "none is a SERVER span" in result.stderr
    assert result.stdout == ""


def test_span_values_are_escaped_in_the_reports(
    in_tmp: Path, write_otlp: OtlpWriter
) -> None:
    route = "/search|<script>alert(1)</script>"
    spans = [server(n, route, 10.0 + n) for n in range(1, 31)]
    write_otlp(in_tmp / "evil.jsonl", spans)

    result = run("evil.jsonl", "--output", "out/")

    assert result.exit_code == 0, result.output
    html = (in_tmp / "out" / "report.html").read_text()
    markdown = (in_tmp / "out" / "report.md").read_text()
    assert "<script" not in html
    assert "GET /search|&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "`GET /search\\|<script>alert(1)</script>`" in markdown


def test_app_db_may_be_a_sqlite_file_path(traces: Path, in_tmp: Path) -> None:
    with sqlite3.connect(in_tmp / "shop.db") as connection:
        connection.execute(
            "CREATE TABLE order_items (id INTEGER PRIMARY KEY, sku TEXT)"
        )

    result = run(str(traces), "--app-db", "shop.db", "--format", "json")

    assert result.exit_code == 0, result.output
    assert "not a database URL" not in result.stderr
    assert orjson.loads(result.stdout)["top_endpoints"][0] == ORDERS


def test_a_missing_app_db_file_is_bad_input(traces: Path) -> None:
    result = run(str(traces), "--app-db", "nope.db")

    assert result.exit_code == 2
    assert "--app-db 'nope.db': no such SQLite file" in result.stderr


def test_markdown_to_stdout_replaces_the_summary(traces: Path) -> None:
    result = run(str(traces), "--format", "markdown")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# perfkit report: run before\n")
    assert "Slowest endpoints by p95" in result.stdout
    assert "Endpoint and likely cause" not in result.stdout


def test_with_json_logs_stderr_holds_only_json(
    in_tmp: Path, write_otlp: OtlpWriter, traces: Path
) -> None:
    jobs = write_otlp(
        in_tmp / "jobs.jsonl", [{"trace_id": "1" * 32, "span_id": "1" * 16}]
    )
    runner = CliRunner()

    no_data = runner.invoke(cli, ["--log-format", "json", "analyze", str(jobs)])
    written = runner.invoke(
        cli, ["--log-format", "json", "-v", "analyze", str(traces), "-o", "out/"]
    )

    assert no_data.exit_code == 3
    [line] = [orjson.loads(line) for line in no_data.stderr.splitlines()]
    assert line["level"] == "ERROR"
    assert "none is a SERVER span" in line["message"]
    assert written.exit_code == 0, written.output
    messages = [orjson.loads(line)["message"] for line in written.stderr.splitlines()]
    assert f"wrote the html report to {Path('out/report.html')}" in messages


SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces" / "before"
RECORDED = any(path.is_file() for path in SAMPLES.glob("traces*"))


@pytest.mark.skipif(not RECORDED, reason="sample_traces/before is not recorded")
def test_the_quick_start_on_the_sample_traces(in_tmp: Path) -> None:
    result = run(str(SAMPLES), "--output", "reports/")

    assert result.exit_code == 0, result.output
    assert (in_tmp / "reports" / "report.html").stat().st_size > 10_000
    markdown = (in_tmp / "reports" / "report.md").read_text()
    table = markdown[markdown.index("## Slowest endpoints") : markdown.index("## Find")]
    ranked = [line for line in table.splitlines() if re.match(r"\| [1-5] \|", line)]
    assert len(ranked) == 5
    assert sum("(finding " in line for line in ranked) >= 3
    assert "Slowest endpoints by p95" in result.stdout


def test_the_report_never_overwrites_a_trace_file_being_read(
    traces: Path, in_tmp: Path
) -> None:
    trace_file = traces / "shop.jsonl"
    before = trace_file.read_bytes()
    for args in ([str(trace_file)], [str(traces)]):
        result = run(*args, "--output", str(trace_file), "--format", "json")
        assert result.exit_code == 2
        assert "is one of the trace files being analysed" in result.stderr
        assert trace_file.read_bytes() == before


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("a_file/report.html", "a_file is a file"),
        # A folder gets report.html and report.md; here one is a folder.
        ("a_dir/", "it is a directory"),
    ],
)
def test_an_output_that_cannot_be_written_is_bad_input(
    traces: Path, in_tmp: Path, output: str, reason: str
) -> None:
    (in_tmp / "a_file").write_text("not a folder")
    (in_tmp / "a_dir" / "report.html").mkdir(parents=True)
    result = run(str(traces), "--output", output)
    assert result.exit_code == 2
    assert "cannot write the report to a_" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.output


def test_a_failing_write_is_a_message_not_a_traceback(
    traces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    result = run(str(traces), "--output", "report.json")
    assert result.exit_code == 2
    assert "cannot write the report to report.json: No space left on device" in (
        result.stderr
    )
