"""The notebook route: json, pandas.json_normalize, then p95 by span name.

What an engineer types into a notebook cell when handed an OTLP JSON Lines
file and asked which operations are slowest:

    python bench/peers/pandas_notebook.py FILE
"""

from __future__ import annotations

import json
import sys

import pandas as pd


def main(path: str) -> int:
    with open(path) as file:
        docs = [json.loads(line) for line in file]
    spans = pd.json_normalize(
        docs, record_path=["resourceSpans", "scopeSpans", "spans"]
    )
    start = spans["startTimeUnixNano"].astype("int64")
    end = spans["endTimeUnixNano"].astype("int64")
    spans["duration_ms"] = (end - start) / 1e6
    p95 = spans.groupby("name")["duration_ms"].quantile(0.95).sort_values()
    print(p95.tail(5).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
