"""``perfkit ingest`` through click's runner and as a real process."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from perfkit.cli import cli
from perfkit.cli.ingest import _ProgressBar
from perfkit.ingest.results import FileResult
from perfkit.store import Store

OtlpWriter = Callable[..., Path]


def spans(n_traces: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(1, n_traces + 1):
        root = f"{n:016x}"
        out.append(
            {
                "trace_id": f"{n:032x}",
                "span_id": root,
                "name": "GET /cart",
                "kind": 2,
                "attributes": {"http.request.method": "GET", "http.route": "/cart"},
            }
        )
        out.append(
            {
                "trace_id": f"{n:032x}",
                "span_id": f"{n + 100:016x}",
                "parent_span_id": root,
            }
        )
    return out


@pytest.fixture
def good(tmp_path: Path, write_otlp: OtlpWriter) -> Path:
    return write_otlp(tmp_path / "good.jsonl", spans(3))


@pytest.fixture
def bad(tmp_path: Path, write_otlp: OtlpWriter) -> Path:
    path = write_otlp(tmp_path / "bad.jsonl", spans(2), per_line=2)
    first, rest = path.read_text().split("\n", 1)
    path.write_text(f"{first}\n{{truncated\n{rest}")
    return path


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def row(output: str, name: str) -> str:
    """The value cell of a summary-table row."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells[0] == name:
            return cells[-1]
    raise AssertionError(f"no {name!r} row in:\n{output}")


def test_ingest_prints_the_summary_and_exits_0(good: Path, tmp_path: Path) -> None:
    db = tmp_path / "perfkit.db"

    result = run("ingest", good, "--db", db, "--run", "baseline")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert f"run baseline in {db}" in result.stdout
    assert row(result.stdout, "files") == "1 stored"
    assert row(result.stdout, "spans") == "6 stored"
    assert row(result.stdout, "traces") == "3"
    assert row(result.stdout, "services") == "1"
    assert row(result.stdout, "endpoints") == "1"
    assert row(result.stdout, "duplicates") == "0"
    assert row(result.stdout, "orphans") == "0"
    with Store(db) as store:
        assert [r.label for r in store.runs()] == ["baseline"]


def test_ingesting_again_counts_duplicates(good: Path, tmp_path: Path) -> None:
    db = tmp_path / "perfkit.db"
    run("ingest", good, "--db", db)

    result = run("ingest", good, "--db", db)

    assert result.exit_code == 0
    assert row(result.stdout, "spans") == "0 stored"
    assert row(result.stdout, "duplicates") == "6"


def test_a_bad_file_exits_2_and_names_file_line_and_problem(
    good: Path, bad: Path, tmp_path: Path
) -> None:
    db = tmp_path / "perfkit.db"

    result = run("ingest", bad, good, "--db", db)

    assert result.exit_code == 2
    assert row(result.stdout, "files") == "1 stored, 1 failed"
    assert row(result.stdout, "spans") == "6 stored"
    assert f"{bad}, line 2: " in result.stderr
    assert "retrying will not help" in result.stderr
    assert "Traceback" not in result.output


def test_skip_invalid_stores_the_rest_and_shows_the_reasons(
    bad: Path, tmp_path: Path
) -> None:
    result = run("ingest", bad, "--db", tmp_path / "perfkit.db", "--skip-invalid")

    assert result.exit_code == 0
    assert row(result.stdout, "spans") == "4 stored"
    assert row(result.stdout, "skipped") == "1"
    assert "skipped records" in result.stdout
    assert row(result.stdout, "bad_json") == "1"


def test_a_store_that_cannot_be_opened_is_one_line_and_exit_2(
    good: Path, tmp_path: Path
) -> None:
    result = run("ingest", good, "--db", tmp_path / "missing" / "perfkit.db")

    assert result.exit_code == 2
    assert "folder" in result.stderr
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_logs_make_every_stderr_line_json_with_one_run_id(
    good: Path, bad: Path, tmp_path: Path
) -> None:
    db = tmp_path / "perfkit.db"

    result = run("-v", "--log-format", "json", "ingest", good, bad, "--db", db)

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    records = [orjson.loads(line) for line in lines]
    assert len(records) >= 3  # one per file read, one per file ingested, the error
    assert {record["run_id"] for record in records} == {records[0]["run_id"]}
    assert all({"level", "message", "timestamp"} <= set(r) for r in records)
    errors = [r["message"] for r in records if r["level"] == "ERROR"]
    assert errors == [
        f"{bad}, line 2: the line is not valid JSON "
        "(unexpected character, expected a string key) (bad_json; retrying will not "
        "help)"
    ]


def test_json_logs_carry_a_fatal_error_too(good: Path, tmp_path: Path) -> None:
    db = tmp_path / "missing" / "perfkit.db"

    result = run("--log-format", "json", "ingest", good, "--db", db)

    assert result.exit_code == 2
    [record] = [orjson.loads(line) for line in result.stderr.splitlines()]
    assert record["level"] == "ERROR"
    assert "does not exist" in record["message"]


def test_the_progress_bar_counts_files_bytes_and_spans() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    bar = _ProgressBar()
    bar._progress.live.console = console  # draw into the buffer

    with bar:
        bar.start([Path("a.jsonl"), Path("b.jsonl")], total_bytes=2048)
        bar.advance(Path("a.jsonl"), 1500)
        bar.done(Path("a.jsonl"), FileResult("a.jsonl", "ok", bytes=1024))
        bar._progress.refresh()
        task = bar._progress.tasks[0]

    assert (task.completed, task.total) == (1024, 2048)
    assert task.fields == {"files": 1, "total_files": 2, "spans": 1500}
    assert "1/2 files" in out.getvalue()
    assert "1,500 spans" in out.getvalue()


def test_a_real_process_exits_2_without_a_traceback(bad: Path, tmp_path: Path) -> None:
    perfkit = Path(sys.executable).with_name("perfkit")
    command = [str(perfkit)] if perfkit.exists() else [sys.executable, "-m", "perfkit"]

    done = subprocess.run(
        [*command, "ingest", str(bad), "--db", str(tmp_path / "perfkit.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}, line 2: the line is not valid JSON" in done.stderr
    assert "files" in done.stdout


def test_an_empty_run_label_is_refused(good: Path, tmp_path: Path) -> None:
    result = run("ingest", good, "--db", tmp_path / "perfkit.db", "--run", "")

    assert result.exit_code == 2
    assert "run label must not be empty" in result.stderr
    assert not (tmp_path / "perfkit.db").exists()


def test_an_empty_path_is_an_error_not_the_current_folder(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(good.parent)

    result = run("ingest", "", "--db", tmp_path / "perfkit.db")

    assert result.exit_code == 2
    assert row(result.stdout, "files") == "0 stored, 1 failed"
    assert "'': the path is empty" in result.stderr


def test_one_ignored_file_is_named_in_the_singular(good: Path, tmp_path: Path) -> None:
    (good.parent / "notes.txt").write_text("not traces\n")

    result = run("ingest", good.parent, "--db", tmp_path / "other.db")

    assert result.exit_code == 0
    assert f"ignored 1 file that is not traces: {good.parent / 'notes.txt'}" in (
        result.stderr
    )


def test_many_ignored_files_are_counted_and_listed_at_v(
    good: Path, tmp_path: Path
) -> None:
    for n in range(12):
        (good.parent / f"notes{n:02}.txt").write_text("not traces\n")
    db = tmp_path / "other.db"

    quiet = run("ingest", good.parent, "--db", db)
    verbose = run("-v", "ingest", good.parent, "--db", db)

    assert "ignored 12 files that are not traces (-v lists them)" in quiet.stderr
    assert str(good.parent / "notes11.txt") in verbose.stderr


def test_a_dash_says_standard_input_is_not_read(good: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["ingest", "-", "--db", str(tmp_path / "perfkit.db")],
        input=good.read_text(),
    )

    assert result.exit_code == 2
    assert "-: traces are not read from standard input" in result.stderr
