"""The JSON report: the versioned document described in docs/json-schema.md."""

from __future__ import annotations

import orjson

from perfkit.analysis.model import Analysis
from perfkit.reports._base import Renderer
from perfkit.reports._view import document


class JsonRenderer(Renderer):
    """The analysis as one JSON object, indented, with a trailing newline."""

    name = "json"
    extension = ".json"

    def render(self, analysis: Analysis) -> str:
        options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(document(analysis), option=options).decode()
