"""The JSON report: the versioned document described in docs/json-schema.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from perfkit.reports._base import Renderer
from perfkit.reports._view import document

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis


class JsonRenderer(Renderer):
    """The analysis as one JSON object, indented, with a trailing newline."""

    name = "json"
    extension = ".json"

    def render(self, analysis: Analysis) -> str:
        options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(document(analysis), option=options).decode()
