"""Measure perfkit against the floor and its peers on the same large trace files.

For each size it generates a synthetic OTLP JSON Lines file (bench/generate.py),
then runs every contender on it as a separate process, once per repeat,
interleaved so that a busy moment on the machine hits them alike. Each run's
wall time and peak resident memory come from GNU time (``/usr/bin/time -v``),
or from polling with psutil where GNU time is not installed. The table gives
the median of the repeats, the ratio to the floor (a bare orjson parse) and
the speed-up over each peer, and checks the targets of docs/benchmarks.md.

    python bench/run.py --spans 100000 1000000 --repeat 5 --output docs/benchmarks.md

With ``--output`` the generated part of the file, between the two
``bench:begin``/``bench:end`` markers, is replaced and the prose around it kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import generate

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
GNU_TIME = "/usr/bin/time"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
RUN_LABEL = "bench"


@dataclass(frozen=True)
class Contender:
    """One command measured on each file."""

    key: str
    title: str
    does: str
    argv: tuple[str, ...]  # {file} and {db} are filled in


def _perfkit() -> str:
    script = Path(sys.executable).with_name("perfkit")
    return str(script) if script.exists() else shutil.which("perfkit") or "perfkit"


def _peer(name: str) -> tuple[str, ...]:
    return (sys.executable, str(PEERS / name))


# In the order they run each round: ingest stores the run analyze_stored reads.
CONTENDERS = (
    Contender(
        "floor",
        "floor: orjson parse",
        "parse every line, nothing else",
        (*_peer("floor_orjson.py"), "{file}"),
    ),
    Contender(
        "duckdb",
        "peer: DuckDB",
        "read_json + unnest, p95 by span name",
        (*_peer("duckdb_p95.py"), "{file}"),
    ),
    Contender(
        "pandas",
        "peer: pandas notebook",
        "json + json_normalize, groupby quantile",
        (*_peer("pandas_notebook.py"), "{file}"),
    ),
    Contender(
        "bare_insert",
        "baseline: bare parse + insert",
        "orjson + sqlite3 executemany, same columns",
        (*_peer("bare_insert.py"), "{file}", "{db}.bare"),
    ),
    Contender(
        "ingest",
        "perfkit ingest",
        "store the file as a run in SQLite",
        (_perfkit(), "ingest", "{file}", "--db", "{db}", "--run", RUN_LABEL),
    ),
    Contender(
        "analyze_files",
        "perfkit analyze (files)",
        "read, every detector, summary report",
        (_perfkit(), "analyze", "{file}"),
    ),
    Contender(
        "analyze_stored",
        "perfkit analyze (stored run)",
        "the same from the run ingest stored",
        (_perfkit(), "analyze", RUN_LABEL, "--db", "{db}"),
    ),
)


@dataclass
class Measurement:
    """One contender's runs on one file."""

    wall_s: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def peak(self) -> float:
        return statistics.median(self.peak_mb)


class BenchError(Exception):
    """A contender failed, or the benchmark cannot run here."""


# Running and measuring one command.


def measure(
    argv: Sequence[str], cwd: Path, log: Path, timeout_s: float = 1800
) -> tuple[float, float]:
    """Wall seconds and peak resident megabytes of one command run to its end."""
    if Path(GNU_TIME).exists():
        return _measure_gnu_time(argv, cwd, log, timeout_s)
    return _measure_psutil(argv, cwd, log, timeout_s)


def _measure_gnu_time(
    argv: Sequence[str], cwd: Path, log: Path, timeout_s: float
) -> tuple[float, float]:
    report = log.with_suffix(".time")
    command = [GNU_TIME, "-v", "-o", str(report), *argv]
    with log.open("wb") as out:
        # A session of its own, so a command that runs over can be ended whole.
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=out, start_new_session=True
        )
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise BenchError(f"{shlex.join(argv)} ran over {timeout_s:g} s") from None
    _check(code, argv, log)
    text = report.read_text()
    elapsed = re.search(r"Elapsed \(wall clock\) time .*: (\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not (elapsed and rss):
        raise BenchError(f"cannot read GNU time's report {report}:\n{text}")
    return _clock_seconds(elapsed.group(1)), int(rss.group(1)) / 1024


def _clock_seconds(clock: str) -> float:
    # GNU time writes h:mm:ss or m:ss.ss.
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _measure_psutil(
    argv: Sequence[str], cwd: Path, log: Path, timeout_s: float
) -> tuple[float, float]:
    import psutil

    peak = 0
    with log.open("wb") as out:
        started = time.perf_counter()
        process = psutil.Popen(list(argv), cwd=cwd, stdout=out, stderr=out)
        while process.poll() is None:
            peak = max(peak, _tree_rss(process))
            if time.perf_counter() - started > timeout_s:
                for proc in (*process.children(recursive=True), process):
                    proc.kill()
                process.wait()
                raise BenchError(f"{shlex.join(argv)} ran over {timeout_s:g} s")
            time.sleep(0.01)
        wall = time.perf_counter() - started
    _check(process.returncode, argv, log)
    return wall, peak / 2**20


def _tree_rss(process: object) -> int:
    import psutil

    assert isinstance(process, psutil.Process)
    total = 0
    try:
        for proc in (process, *process.children(recursive=True)):
            total += proc.memory_info().rss
    except psutil.Error:
        pass
    return total


def _check(code: int, argv: Sequence[str], log: Path) -> None:
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise BenchError(f"{shlex.join(argv)} exited with {code}:\n{tail}")


# One size: generate the file, run every contender on it.


def bench_size(
    spans: int,
    repeat: int,
    workdir: Path,
    contenders: Sequence[Contender],
    timeout_s: float = 1800,
) -> dict[str, Measurement]:
    """Measure every contender ``repeat`` times on a file of ``spans`` spans."""
    trace_file = workdir / f"spans-{spans}.jsonl"
    if not trace_file.exists():
        _progress(f"generating {spans:,} spans")
        generate.generate(trace_file, spans)
    _warm(trace_file)

    results = {c.key: Measurement() for c in contenders}
    for round_ in range(1, repeat + 1):
        db = workdir / f"store-{spans}.db"
        for contender in contenders:
            if contender.key in ("ingest", "bare_insert"):
                _remove_db(db if contender.key == "ingest" else Path(f"{db}.bare"))
            argv = [a.format(file=trace_file, db=db) for a in contender.argv]
            log = workdir / f"{contender.key}-{spans}-{round_}.log"
            wall, peak = measure(argv, workdir, log, timeout_s)
            results[contender.key].wall_s.append(wall)
            results[contender.key].peak_mb.append(peak)
            _progress(
                f"{spans:>9,} spans  round {round_}/{repeat}  {contender.key:15}"
                f"{wall:8.2f} s {peak:8.0f} MB"
            )
    return results


def _warm(path: Path) -> None:
    # Every contender reads the file from the page cache, none from disk.
    with path.open("rb") as file:
        while file.read(1 << 24):
            pass


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# The report.


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    packages = ("perfkit", "orjson", "duckdb", "pandas", "pyarrow", "numpy")
    versions = ", ".join(f"{name} {_version(name)}" for name in packages)
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{_memory_gb():.0f} GB",
        "system": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": f"{versions}, SQLite {sqlite3.sqlite_version}",
        "load": "load average at start {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "meter": "GNU time -v" if Path(GNU_TIME).exists() else "psutil polling",
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def table(spans: int, results: dict[str, Measurement]) -> list[str]:
    """The Markdown table for one size."""
    floor = results.get("floor")
    peers = {key: results.get(key) for key in ("duckdb", "pandas")}
    lines = [
        f"**{spans:,} spans**",
        "",
        "| contender | what it does | wall s (median) | range | × floor "
        "| vs DuckDB | vs pandas | peak MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for contender in CONTENDERS:
        m = results.get(contender.key)
        if m is None:
            continue
        cells = [
            contender.title,
            contender.does,
            f"{m.wall:.2f}",
            f"{min(m.wall_s):.2f}–{max(m.wall_s):.2f}",
            f"{m.wall / floor.wall:.2f}" if floor else "",
            *(_speedup(peer, m) for peer in peers.values()),
            f"{m.peak:,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "*vs DuckDB* and *vs pandas*: the peer's time over this one's; above 1 "
        "is faster than the peer.",
    ]
    return lines


def _speedup(peer: Measurement | None, m: Measurement) -> str:
    return f"{peer.wall / m.wall:.2f}×" if peer else ""


@dataclass(frozen=True)
class Target:
    """One target of the issue, checked on the measured figures."""

    name: str
    figure: str
    limit: str
    met: bool | None  # None: not measured in this run


def targets(by_size: dict[int, dict[str, Measurement]]) -> list[Target]:
    """Check the targets at the largest size measured, and growth between sizes."""
    size = max(by_size)
    r = by_size[size]
    at = f"at {size:,} spans"
    checks: list[Target] = []
    for name, key, other, limit in (
        ("analyze (files) within 3× the floor's parse", "analyze_files", "floor", 3),
        ("ingest within 1.5× bare parse + insert", "ingest", "bare_insert", 1.5),
        ("re-analysis within the floor's parse", "analyze_stored", "floor", 1),
    ):
        if key in r and other in r:
            value = r[key].wall / r[other].wall
            checks.append(
                Target(
                    f"{name}, {at}", f"{value:.2f}×", f"≤ {limit:g}×", value <= limit
                )
            )
    for peer, title in (("duckdb", "DuckDB"), ("pandas", "pandas")):
        if "analyze_files" in r and peer in r:
            value = r[peer].wall / r["analyze_files"].wall
            checks.append(
                Target(
                    f"analyze (files) 3× faster than {title}, {at}",
                    f"{value:.2f}× faster",
                    "≥ 3×",
                    value >= 3,
                )
            )
    for key, limit in (
        ("analyze_files", 1000),
        ("analyze_stored", 1000),
        ("ingest", 300),
    ):
        if key in r:
            peak = r[key].peak
            checks.append(
                Target(
                    f"peak memory of {key}, {at}",
                    f"{peak:,.0f} MB",
                    f"< {limit:,} MB",
                    peak < limit,
                )
            )
    return checks + _growth(by_size)


def _growth(by_size: dict[int, dict[str, Measurement]]) -> list[Target]:
    sizes = sorted(by_size)
    if len(sizes) < 2:
        return []
    small, large = sizes[0], sizes[-1]
    allowed = 12 * large / small / 10  # 12× for a tenfold size
    checks = []
    for key in ("ingest", "analyze_files", "analyze_stored"):
        if key in by_size[small] and key in by_size[large]:
            growth = by_size[large][key].wall / by_size[small][key].wall
            checks.append(
                Target(
                    f"{key} time grows {small:,} → {large:,} spans",
                    f"{growth:.1f}×",
                    f"≤ {allowed:g}×",
                    growth <= allowed,
                )
            )
    return checks


def render(
    by_size: dict[int, dict[str, Measurement]],
    info: dict[str, str],
    command: str,
    repeat: int,
    elapsed_s: float,
) -> str:
    """The generated part of docs/benchmarks.md."""
    lines = [
        BEGIN,
        "",
        f"Measured with `{command}` ({repeat} run{'s' if repeat > 1 else ''} of "
        "each contender, median quoted; the whole command took "
        f"{_duration(elapsed_s)}).",
        "",
        f"- CPU: {info['cpu']}; memory: {info['memory']}",
        f"- System: {info['system']}; {info['python']}",
        f"- Packages: {info['packages']}",
        f"- Meter: {info['meter']}; {info['load']}",
        "",
    ]
    for spans in sorted(by_size):
        lines += [*table(spans, by_size[spans]), ""]
    lines += [
        "**Targets**",
        "",
        "| target | measured | limit | met |",
        "|---|---:|---:|:---:|",
    ]
    for t in targets(by_size):
        met = "n/a" if t.met is None else ("yes" if t.met else "**no**")
        lines.append(f"| {t.name} | {t.figure} | {t.limit} | {met} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def write_output(path: Path, generated: str) -> None:
    """Put the generated text between the markers, keeping the prose around it."""
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head = text[: text.index(BEGIN)]
            tail = text[text.index(END) + len(END) :].lstrip("\n")
            path.write_text(head + generated + ("\n" + tail if tail else ""))
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\n" + generated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender")
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[c.key for c in CONTENDERS],
        help="measure only these contenders",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep generated files and stores here"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds one run may take"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="write the report of figures saved with --json instead of measuring",
    )
    args = parser.parse_args(argv)

    if args.from_json:
        raw = json.loads(args.from_json.read_text())
    else:
        contenders = [c for c in CONTENDERS if not args.only or c.key in args.only]
        keys = {c.key for c in contenders}
        if "analyze_stored" in keys and "ingest" not in keys:
            parser.error("analyze_stored reads the run that ingest stores: add ingest")
        command = "python bench/run.py " + shlex.join(
            argv if argv is not None else sys.argv[1:]
        )
        try:
            raw = measure_all(args, contenders, command)
        except BenchError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 1
        if args.json:
            args.json.write_text(json.dumps(raw, indent=2))

    by_size = {
        int(spans): {key: Measurement(**runs) for key, runs in results.items()}
        for spans, results in raw["sizes"].items()
    }
    generated = render(
        by_size, raw["machine"], raw["command"], raw["repeat"], raw["elapsed_s"]
    )
    print(generated)
    if args.output:
        write_output(args.output, generated)
    return 0


def measure_all(
    args: argparse.Namespace, contenders: Sequence[Contender], command: str
) -> dict[str, Any]:
    """Every size's figures, with what the report says about the run."""
    info = machine()
    started = time.monotonic()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="perfkit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        by_size = {
            spans: bench_size(spans, args.repeat, workdir, contenders, args.timeout)
            for spans in args.spans
        }
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "command": command,
        "repeat": args.repeat,
        "elapsed_s": time.monotonic() - started,
        "machine": info,
        "sizes": {
            str(spans): {key: asdict(m) for key, m in results.items()}
            for spans, results in by_size.items()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
