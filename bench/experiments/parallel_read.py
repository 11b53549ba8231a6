"""Experiment: perfkit's OTLP JSON reader run on parts of one file in N processes.

Not perfkit code: a measurement of what reading on every core could save,
quoted in docs/benchmarks.md. The file is cut at line boundaries into N byte
ranges; each process reads its range with perfkit's reader, turns the rows into
Arrow record batches and sends them back as one IPC stream; the parent builds
the span frame from the batches, as ``perfkit.load`` does.

    python bench/experiments/parallel_read.py FILE [PROCESSES]
"""

from __future__ import annotations

import gc
import io
import itertools
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pyarrow as pa

from perfkit.ingest.otlp_json import read_lines
from perfkit.ingest.results import ReadContext
from perfkit.store.columnar import SCHEMA, SpanFrameBuilder, record_batch

BATCH_ROWS = 20_000


def line_ranges(path: str, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges of the file, each starting at a line."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as file:
        for part in range(1, parts):
            file.seek(size * part // parts)
            file.readline()
            cuts.append(file.tell())
    cuts.append(size)
    return list(itertools.pairwise(cuts))


def read_range(job: tuple[str, int, int]) -> bytes:
    """The spans of one byte range, as an Arrow IPC stream."""
    path, start, end = job
    gc.disable()  # as perfkit's pipeline does while it reads
    with open(path, "rb") as file:
        file.seek(start)
        lines = io.BytesIO(file.read(end - start))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, SCHEMA) as writer:
        rows: list[tuple[object, ...]] = []
        for batch in read_lines(lines, ReadContext(path)):
            rows.extend(batch)
            if len(rows) >= BATCH_ROWS:
                writer.write_batch(record_batch(rows))
                rows = []
        if rows:
            writer.write_batch(record_batch(rows))
    return bytes(sink.getvalue())


def main(path: str, processes: int) -> int:
    started = time.perf_counter()
    jobs = [(path, start, end) for start, end in line_ranges(path, processes)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        streams = list(pool.map(read_range, jobs))
    read = time.perf_counter()
    builder = SpanFrameBuilder()
    for stream in streams:
        for batch in pa.ipc.open_stream(stream):
            builder.add_batch(batch)
    frame = builder.frame()
    done = time.perf_counter()
    print(
        f"{len(frame):,} spans in {processes} processes: read {read - started:.2f} s, "
        f"frame {done - read:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2))
