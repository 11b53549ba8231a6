"""The HTML report: one self-contained file, styles and charts inline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from perfkit.reports._base import Renderer
from perfkit.reports._view import build_view

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis


class HtmlRenderer(Renderer):
    """A page to open in any browser: tables, a p95 chart, findings with fixes.

    Nothing is loaded from elsewhere: no scripts, fonts or images outside the
    file, so the report can be attached, archived or opened offline.
    """

    name = "html"
    extension = ".html"
    other_extensions = (".htm",)

    def render(self, analysis: Analysis) -> str:
        # jinja2 is imported on first use: the terminal summary needs none.
        # matplotlib takes a while to import; only this report needs it.
        from perfkit.reports._charts import p95_chart
        from perfkit.reports._templates import html_environment

        view = build_view(analysis)
        chart = p95_chart(view.top)
        template = html_environment().get_template("report.html.j2")
        # The chart is matplotlib's SVG, whose text matplotlib has escaped.
        return template.render(view=view, chart=Markup(chart) if chart else None)
