"""Record the shop: seed, serve, drive, stop, compress, for each variant.

For each variant the recorder builds the database, starts the supplier and
the shop as uvicorn subprocesses on free 127.0.0.1 ports, runs the load
driver, stops both servers (SIGINT, so the shop flushes its spans on the way
out), and writes into ``<out>/<variant>/``:

- ``traces.jsonl.gz``: the OTLP JSON Lines the shop exported, gzipped;
- ``profiles/<trace_id>-<span_id>.pyisession.gz``: the sampled profiles.

Last it writes ``<out>/answer_key.json``: the static key of
:mod:`examples.shop.answer_key` plus what each run measured.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from examples.shop import answer_key
from examples.shop.driver import Sizes, plan_requests, run_load
from examples.shop.seed import DEFAULT_ROWS, DEFAULT_SEED, VARIANTS, seed_database

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_DIR = Path("examples/shop")
TRACES_FILE = "traces.jsonl.gz"
PROFILES_DIR = "profiles"
KEY_FILE = "answer_key.json"
_KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")


class RecordingError(RuntimeError):
    """A server would not start or stop cleanly, or the run fell short."""


@dataclass(frozen=True)
class RecordOptions:
    """What to record; the defaults make the committed sample traces."""

    out: Path = Path("sample_traces")
    variants: tuple[str, ...] = VARIANTS
    requests: int = 5_000
    concurrency: int = 16
    rate: float | None = 40.0
    rows: int = DEFAULT_ROWS
    seed: int = DEFAULT_SEED
    profile_rate: float = 0.1
    db_dir: Path = DEFAULT_DB_DIR
    max_seconds: float = 900.0


def record(options: RecordOptions) -> dict[str, Any]:
    """Record every variant of ``options`` and write the answer key."""
    runs = {}
    for variant in options.variants:
        runs[variant] = record_variant(variant, options)
    return write_key(options.out, runs)


def write_key(out: Path, runs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``<out>/answer_key.json`` with ``runs``, or with the runs it holds.

    Without ``runs`` this refreshes the static part of the key from the code
    and keeps what the recordings measured.
    """
    path = out / KEY_FILE
    if runs is None:
        runs = orjson.loads(path.read_bytes())["runs"] if path.exists() else {}
    key = answer_key.build(runs)
    out.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps(key, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    return key


def record_variant(variant: str, options: RecordOptions) -> dict[str, Any]:
    """Record one variant into ``<out>/<variant>/`` and say what it measured."""
    started = time.monotonic()
    db_path = options.db_dir / f"shop-{variant}.db"
    seeded = seed_database(db_path, variant, rows=options.rows, seed=options.seed)
    logger.info("seeded %s in %.1f s", db_path, seeded.seconds)
    target = options.out / variant
    if target.exists():
        shutil.rmtree(target)
    (target / PROFILES_DIR).mkdir(parents=True)

    with tempfile.TemporaryDirectory(prefix=f"shop-{variant}-") as scratch:
        work = Path(scratch)
        raw_traces, raw_profiles = work / "traces.jsonl", work / PROFILES_DIR
        supplier_port, app_port = _free_port(), _free_port()
        supplier_cmd = _uvicorn(
            "examples.shop.supplier:create_supplier_app", supplier_port
        )
        app_env = {
            "SHOP_VARIANT": variant,
            "SHOP_DB": _display_path(db_path),
            "SHOP_SUPPLIER_URL": f"http://127.0.0.1:{supplier_port}",
            "SHOP_TRACES": str(raw_traces),
            "SHOP_PROFILES": str(raw_profiles),
            "SHOP_PROFILE_RATE": str(options.profile_rate),
        }
        app_cmd = _uvicorn("examples.shop.app:create_app", app_port)
        with (
            _server("supplier", supplier_cmd, supplier_port, work, {}),
            _server("shop", app_cmd, app_port, work, app_env) as shop_usage,
        ):
            sizes = Sizes(seeded.products, seeded.customers, seeded.orders)
            plan = plan_requests(options.requests, sizes, seed=options.seed)
            load = asyncio.run(
                run_load(
                    f"http://127.0.0.1:{app_port}",
                    plan,
                    concurrency=options.concurrency,
                    rate=options.rate,
                    max_seconds=options.max_seconds,
                )
            )
        logger.info("%s: %d requests in %.1f s", variant, load.requests, load.seconds)

        spans = count_spans(raw_traces)
        _gzip(raw_traces, target / TRACES_FILE)
        profiles = sorted(raw_profiles.glob("*.pyisession"))
        for profile in profiles:
            _gzip(profile, target / PROFILES_DIR / (profile.name + ".gz"))

    if load.stopped_early:
        raise RecordingError(
            f"{variant}: the driver hit --max-seconds {options.max_seconds:g} after "
            f"{load.requests} of {options.requests} requests"
        )
    return {
        "database": seeded.to_dict(),
        "supplier": f"127.0.0.1:{supplier_port}",
        "shop": f"127.0.0.1:{app_port}",
        "load": load.to_dict(),
        "shop_cpu_seconds": round(shop_usage.cpu_seconds, 1),
        "spans": sum(spans.values()),
        "spans_by_kind": {_KIND_NAMES[int(k)]: n for k, n in sorted(spans.items())},
        "profiles": len(profiles),
        "profile_rate": options.profile_rate,
        "seconds": round(time.monotonic() - started, 1),
        "bytes": sum(f.stat().st_size for f in target.rglob("*") if f.is_file()),
    }


def _uvicorn(factory: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", factory,
        "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
        # Longer than any stall under load, so that no idle connection is
        # closed just as the driver reuses it.
        "--timeout-keep-alive", "120",
    ]  # fmt: skip


@dataclass
class _Usage:
    """CPU seconds a server used, known once it has exited."""

    cpu_seconds: float = 0.0


@contextmanager
def _server(
    name: str, command: list[str], port: int, work: Path, env: dict[str, str]
) -> Iterator[_Usage]:
    """Run one server for the duration of the block; stop it with SIGINT."""
    log_path = work / f"{name}.log"
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=log
        )
    usage = _Usage()
    try:
        _wait_for_port(process, port, log_path, name)
        yield usage
    finally:
        process.send_signal(signal.SIGINT)
        code, usage.cpu_seconds = _reap(process, timeout=60)
        if code is None:
            process.kill()
            process.wait()
            raise RecordingError(f"{name} did not stop within 60 s")
    if code != 0:
        raise RecordingError(f"{name} exited with {code}:\n{_tail(log_path)}")


def _reap(process: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, float]:
    """Wait for ``process`` to exit: its exit code and CPU seconds, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, rusage.ru_utime + rusage.ru_stime
        time.sleep(0.05)
    return None, 0.0


def _wait_for_port(
    process: subprocess.Popen[bytes], port: int, log_path: Path, name: str
) -> None:
    # A TCP connect, not an HTTP request: a probe request would add a span.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RecordingError(f"{name} exited at start-up:\n{_tail(log_path)}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RecordingError(f"{name} did not listen on 127.0.0.1:{port} within 60 s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _display_path(path: Path) -> str:
    """The path as the shop's spans will show it: relative to the repo if inside."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(REPO_ROOT))
    except ValueError:
        return str(absolute)


def _gzip(source: Path, target: Path) -> None:
    """Gzip ``source`` to ``target``, with no timestamp in the header."""
    with source.open("rb") as raw, gzip.GzipFile(target, "wb", 9, mtime=0) as packed:
        shutil.copyfileobj(raw, packed)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def count_spans(path: Path) -> Counter[str]:
    """Spans per kind name in an OTLP JSON Lines file (gzipped or not)."""
    opener = gzip.open if path.suffix == ".gz" else open
    counts: Counter[str] = Counter()
    with opener(path, "rb") as lines:
        for line in lines:
            for resource in orjson.loads(line)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    counts.update(str(span.get("kind", 0)) for span in scope["spans"])
    return counts
