"""Reports: the results of an analysis as text, JSON, Markdown or HTML.

Every format is a :class:`Renderer`: a ``name``, a file ``extension`` and a
``render(analysis)`` method returning the report as text. :func:`renderer_for`
picks one by name or by an output file's extension; :func:`write_report` writes
one file, or the HTML and Markdown reports into a directory.
"""

from perfkit.reports._base import Renderer
from perfkit.reports._escape import mask_url, mask_urls_in
from perfkit.reports._html import HtmlRenderer
from perfkit.reports._json import JsonRenderer
from perfkit.reports._markdown import MarkdownRenderer
from perfkit.reports._output import (
    DIRECTORY_FORMATS,
    RENDERERS,
    check_targets,
    renderer_for,
    report_targets,
    write_report,
)
from perfkit.reports._text import TextRenderer

__all__ = [
    "DIRECTORY_FORMATS",
    "RENDERERS",
    "HtmlRenderer",
    "JsonRenderer",
    "MarkdownRenderer",
    "Renderer",
    "TextRenderer",
    "check_targets",
    "mask_url",
    "mask_urls_in",
    "renderer_for",
    "report_targets",
    "write_report",
]
