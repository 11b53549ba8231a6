"""Reading fixtures into rows and looking at them by column name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfkit.ingest import ReadContext, read_spans
from perfkit.ingest.schema import COLUMN_NAMES, SpanRow

FIXTURES = Path(__file__).parents[1] / "fixtures" / "traces"
#: The public trace corpus beside the repository (absent in a bare clone).
CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus"

JSON_COLUMNS = ("attributes", "resource_attributes", "events", "links")


def read_rows(
    path: Path | str, *, skip_invalid: bool = False, **options: Any
) -> tuple[list[SpanRow], ReadContext]:
    """Every row of a file, and the context it was read with."""
    ctx = ReadContext(str(path), skip_invalid=skip_invalid)
    rows = [row for batch in read_spans(path, ctx, **options) for row in batch]
    return rows, ctx


def as_dict(row: SpanRow) -> dict[str, Any]:
    """A row by column name, with the JSON columns parsed."""
    values = dict(zip(COLUMN_NAMES, row, strict=True))
    for name in JSON_COLUMNS:
        values[name] = json.loads(str(values[name]))
    return values


def by_span_id(rows: list[SpanRow]) -> dict[str, dict[str, Any]]:
    """Rows as dicts keyed by span id."""
    return {str(row[1]): as_dict(row) for row in rows}
