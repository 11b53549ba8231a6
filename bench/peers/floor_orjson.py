"""The floor: parse every line of an OTLP JSON Lines file with orjson, nothing else.

python bench/peers/floor_orjson.py FILE
"""

from __future__ import annotations

import sys

import orjson


def main(path: str) -> int:
    lines = 0
    with open(path, "rb") as file:
        for line in file:
            orjson.loads(line)
            lines += 1
    print(f"parsed {lines:,} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
