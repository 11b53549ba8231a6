"""The Markdown report: GitHub-flavoured, the HTML report's content without charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perfkit.reports._base import Renderer
from perfkit.reports._view import build_view

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis


class MarkdownRenderer(Renderer):
    """Tables of the top endpoints, then each finding with evidence and fix."""

    name = "markdown"
    extension = ".md"
    other_extensions = (".markdown",)

    def render(self, analysis: Analysis) -> str:
        # jinja2 is imported on first use: the terminal summary needs none.
        from perfkit.reports._templates import markdown_environment

        template = markdown_environment().get_template("report.md.j2")
        return template.render(view=build_view(analysis))
